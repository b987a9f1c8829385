"""Text no store can take (NUL, lone surrogates) is a 400 naming the field, never a 500 or a half-written row (16.4)."""

import json

import pytest

from designs.services import display_name
from orders import services
from orders.models import Order, OrderEvent, OrderItem, OutgoingMail
from tests.orders.conftest import line

pytestmark = pytest.mark.django_db


def nothing_written():
    return not (Order.objects.exists() or OrderItem.objects.exists() or OrderEvent.objects.exists()
                or OutgoingMail.objects.exists())


@pytest.mark.parametrize(("change", "path"), [
    ({"name": "ok\ud800"}, "name"),
    ({"name": "Alice\x00"}, "name"),
    ({"email": "alice@example.com\udfff"}, "email"),
    ({"items": [{"size": "M\x00"}]}, "items[0].size"),
    ({"extra\x00": 1}, "a key in the body"),
], ids=["surrogate name", "NUL name", "surrogate email", "NUL size", "NUL key"])
def test_unstorable_text_in_an_order_is_a_400_naming_the_field(alice, product, design, change, path):
    body = {"name": "Alice", "items": [line(product, design)], **change}
    if "items" in change:
        body["items"] = [{**line(product, design), **change["items"][0]}]
    response = alice.post("/api/orders", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"].startswith(f"'{path}' contains") and path in answer["details"]
    assert nothing_written()


def test_unstorable_text_in_a_mockup_request_is_a_400(alice, design):
    response = alice.post(f"/api/designs/{design.pk}/mockups", data=json.dumps({"template": "\x00"}),
                          content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "'template' contains a NUL character."


@pytest.mark.parametrize("name", ["ok\ud800", "Alice\x00"])
def test_the_order_service_refuses_unstorable_names_itself(user, product, design, name):
    with pytest.raises(services.OrderError) as refused:
        services.order_create(email="alice@example.com", name=name, items=[line(product, design)], user=user)
    assert "name" in refused.value.details
    assert nothing_written()


def test_an_uploaded_file_name_keeps_what_can_be_stored():
    assert display_name("art\ud800work\x00.png") == "art\ufffdwork.png"


def test_a_body_nested_as_deep_as_json_allows_is_checked_without_a_500(alice):
    depth = 900  # about as deep as Python's json module parses inside a request
    body = '{"name": ' + "[" * depth + '"\\u0000"' + "]" * depth + "}"
    response = alice.post("/api/orders", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == f"'name{'[0]' * depth}' contains a NUL character."
