"""The orders JSON API and customer pages: the contract in shared/DESIGN.md, permissions, CSRF, query counts."""

import json
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import ratelimit
from orders import services, transitions
from orders.models import Order, OrderEvent, OrderItem, OutgoingMail, Product
from tests.conftest import session_user_queries
from tests.orders.conftest import create_design, line

pytestmark = pytest.mark.django_db


def post_json(client, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/api/orders", data=data, content_type="application/json", **extra)


def order_body(product, design, **changes):
    return {"email": "alice@example.com", "name": "Alice Example", "items": [line(product, design, quantity=2)],
            **changes}


def nothing_written():
    return (Order.objects.count(), OrderItem.objects.count(), OrderEvent.objects.count(),
            OutgoingMail.objects.count()) == (0, 0, 0, 0)


def test_products_lists_active_products_with_prices_as_strings(client, product, hoodie):
    Product.objects.create(name="Retired tee", price=Decimal("9.00"), active=False)
    response = client.get("/api/products")
    assert response.status_code == 200
    assert response.json() == [
        {"id": str(product.pk), "name": "Classic tee", "price": "19.90", "sizes": ["S", "M", "L", "XL"],
         "colors": ["white", "black"]},
        {"id": str(hoodie.pk), "name": "Hoodie", "price": "0.10", "sizes": ["M", "L"], "colors": ["grey"]},
    ]


def test_post_order_creates_it_and_answers_201_with_id_number_status_and_url(alice, user, product, design):
    response = post_json(alice, order_body(product, design))
    assert response.status_code == 201, response.content
    answer = response.json()
    order = Order.objects.get()
    assert answer == {"id": str(order.pk), "number": order.display_number, "status": "received",
                      "url": f"/orders/{order.pk}/"}
    assert (order.customer, order.total, order.item_count) == (user, Decimal("39.80"), 1)
    assert OutgoingMail.objects.filter(order=order, kind="confirmation").count() == 1
    assert alice.get(answer["url"]).status_code == 200


BAD_BODIES = {
    "malformed JSON": lambda ctx: b'{"email": "alice@example.com", ',
    "not UTF-8": lambda ctx: b'{"email": "\xff\xfe"}',
    "a JSON array": lambda ctx: json.dumps([order_body(ctx["product"], ctx["design"])]),
    "a JSON string": lambda ctx: json.dumps("order"),
    "empty object": lambda ctx: {},
    "missing items": lambda ctx: {"email": "alice@example.com", "name": "Alice"},
    "another address": lambda ctx: order_body(ctx["product"], ctx["design"], email="victim@example.net"),
    "email a number": lambda ctx: order_body(ctx["product"], ctx["design"], email=12),
    "name an object": lambda ctx: order_body(ctx["product"], ctx["design"], name={"first": "Alice"}),
    "items an object": lambda ctx: order_body(ctx["product"], ctx["design"], items={"0": {}}),
    "items of numbers": lambda ctx: order_body(ctx["product"], ctx["design"], items=[1, 2]),
    "unknown product": lambda ctx: order_body(ctx["product"], ctx["design"],
                                              items=[{**line(ctx["product"], ctx["design"]),
                                                      "product": str(uuid.uuid4())}]),
    "product an object": lambda ctx: order_body(ctx["product"], ctx["design"],
                                                items=[{**line(ctx["product"], ctx["design"]), "product": {}}]),
    "another user's design": lambda ctx: order_body(ctx["product"], ctx["others"]),
    "absurd quantity": lambda ctx: order_body(ctx["product"], ctx["design"],
                                              items=[line(ctx["product"], ctx["design"], quantity=10**30)]),
    "infinite quantity": lambda ctx: json.dumps(order_body(ctx["product"], ctx["design"])).replace(
        '"quantity": 2', '"quantity": 1e999'),
    "NaN quantity": lambda ctx: json.dumps(order_body(ctx["product"], ctx["design"])).replace(
        '"quantity": 2', '"quantity": NaN'),
    "too many items": lambda ctx: order_body(ctx["product"], ctx["design"],
                                             items=[line(ctx["product"], ctx["design"])] * 51),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_bad_input_is_a_400_with_error_and_details_never_a_500(case, alice, product, design, other_user):
    context = {"product": product, "design": design, "others": create_design(other_user, title="Bob's")}
    response = post_json(alice, BAD_BODIES[case](context))
    assert response.status_code == 400, response.content
    answer = response.json()
    assert set(answer) == {"error", "details"} and answer["error"]
    assert nothing_written()


def test_an_item_error_names_the_line_it_is_about(alice, product, design):
    body = order_body(product, design, items=[line(product, design), line(product, design, size="XXL")])
    answer = post_json(alice, body).json()
    assert answer == {"error": "The order is not valid.",
                      "details": {"items": {"1": "Size must be one of S, M, L, XL."}}}


def test_anonymous_post_is_a_401_not_a_login_redirect(client, product, design):
    response = post_json(client, order_body(product, design))
    assert response.status_code == 401
    assert response.json()["error"] and nothing_written()


def test_csrf_is_enforced_403_without_the_header_201_with_it(csrf_client, product, design):
    refused = post_json(csrf_client, order_body(product, design))
    assert refused.status_code == 403 and nothing_written()
    # As the order page's script does: the token from the page's form, sent back in the X-CSRFToken header.
    page = csrf_client.get("/orders/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = post_json(csrf_client, order_body(product, design), HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    assert Order.objects.count() == 1


def test_get_order_returns_items_and_events(alice, user, product, hoodie, design):
    design.has_thumbnail, design.thumb_width, design.thumb_height = True, 213, 256
    design.save(update_fields=["has_thumbnail", "thumb_width", "thumb_height"])
    order = services.order_create(email="alice@example.com", name="Alice", user=user,
                                  items=[line(product, design, quantity=3),
                                         line(hoodie, design, size="L", color="grey", quantity=1)])
    transitions.order_transition(order=order.pk, to="approved", by=None)
    response = alice.get(f"/api/orders/{order.pk}")
    assert response.status_code == 200
    document = response.json()
    assert {key: document[key] for key in ("id", "number", "status", "email", "name", "total")} == {
        "id": str(order.pk), "number": order.display_number, "status": "approved", "email": "alice@example.com",
        "name": "Alice", "total": "59.80"}
    assert document["items"] == [
        {"product": str(product.pk), "product_name": "Classic tee", "design": str(design.pk),
         "thumbnail_url": f"/designs/thumbs/{design.sha256}-256.webp", "size": "M", "color": "black", "quantity": 3,
         "unit_price": "19.90", "line_total": "59.70"},
        {"product": str(hoodie.pk), "product_name": "Hoodie", "design": str(design.pk),
         "thumbnail_url": f"/designs/thumbs/{design.sha256}-256.webp", "size": "L", "color": "grey", "quantity": 1,
         "unit_price": "0.10", "line_total": "0.10"},
    ]
    assert [(event["kind"], event["message"]) for event in document["events"]] == [
        ("created", "Order received"), ("status", "Received → Approved")]


def test_another_users_order_is_a_404_and_staff_see_it(client, other_user, staff_user, place_order):
    order = place_order()
    client.force_login(other_user)
    response = client.get(f"/api/orders/{order.pk}")
    assert response.status_code == 404 and response.json()["error"]
    assert client.get(f"/api/orders/{uuid.uuid4()}").status_code == 404
    client.force_login(staff_user)
    response = client.get(f"/api/orders/{order.pk}")
    assert response.status_code == 200 and response.json()["id"] == str(order.pk)
    assert Client().get(f"/api/orders/{order.pk}").status_code == 401


@pytest.mark.parametrize("page", ["/orders/", "/orders/new/", "/orders/{id}/"])
def test_pages_are_200_for_the_owner_and_redirect_anonymous_users_to_login(page, alice, place_order):
    order = place_order()
    url = page.format(id=order.pk)
    response = alice.get(url)
    assert response.status_code == 200
    if page != "/orders/new/":
        assert order.display_number in response.content.decode()
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"] == f"/accounts/login/?next={url}"


def test_the_list_and_the_order_page_show_the_status_the_dates_and_the_link(alice, place_order, settings):
    import datetime

    settings.TIME_ZONE = "Europe/Paris"
    order = place_order()
    transitions.order_transition(order=order.pk, to="approved", by=None)
    placed = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC)  # 01:30 in Paris, before summer time began
    Order.objects.filter(pk=order.pk).update(created_at=placed)
    OrderEvent.objects.filter(order=order).update(created_at=placed + datetime.timedelta(hours=1))  # 03:30 there
    listing = alice.get("/orders/").content.decode()
    assert f'<a href="/orders/{order.pk}/">{order.display_number}</a>' in listing
    assert '<span class="badge approved">Approved</span>' in listing
    assert "<td>Mar 29, 2026 01:30</td>" in listing
    page = alice.get(f"/orders/{order.pk}/").content.decode()
    assert '<span class="badge big approved" id="order-status">Approved</span>' in page
    assert '<span class="muted">Mar 29, 03:30</span> Order received' in page


def test_another_users_order_page_is_a_404_and_their_list_does_not_show_it(client, other_user, staff_user,
                                                                          place_order):
    order = place_order()
    client.force_login(other_user)
    assert client.get(f"/orders/{order.pk}/").status_code == 404
    listing = client.get("/orders/")
    assert listing.status_code == 200 and order.display_number not in listing.content.decode()
    client.force_login(staff_user)
    assert client.get(f"/orders/{order.pk}/").status_code == 200


def test_the_order_form_offers_only_the_customers_usable_designs(alice, user, other_user, product, design):
    create_design(other_user, title="Bob's secret art")
    create_design(user, title="Broken upload", status="failed")
    page = alice.get("/orders/new/").content.decode()
    assert "Mountain logo" in page and "Classic tee" in page
    assert "Bob&#x27;s secret art" not in page and "Bob's secret art" not in page
    assert "Broken upload" not in page


# --- Query counts: the same whatever the order's length or the customer's history. ------------------------------

def order_with_items(user, product, count):
    designs = [create_design(user, title=f"Art {n}", has_thumbnail=n % 2 == 0) for n in range(count)]
    return services.order_create(email="alice@example.com", name="Alice", user=user,
                                 items=[line(product, design, quantity=n + 1) for n, design in enumerate(designs)])


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


# Per request: the session user, then for a detail: the order with its carrier and proof approver (1), its items
# with products and designs (1), its events (1), its payments (1). The session itself comes from the cache.
DETAIL_QUERIES = 4 + session_user_queries()


@pytest.mark.parametrize("url", ["/orders/{id}/", "/api/orders/{id}"])
def test_an_order_with_30_items_runs_the_same_queries_as_one_with_1(url, alice, user, product,
                                                                     django_assert_num_queries):
    small, large = order_with_items(user, product, 1), order_with_items(user, product, 30)
    alice.get(url.format(id=small.pk))  # warm up: the first request of a session may touch it
    with django_assert_num_queries(DETAIL_QUERIES):
        alice.get(url.format(id=small.pk))
    with django_assert_num_queries(DETAIL_QUERIES):
        response = alice.get(url.format(id=large.pk))
    assert response.status_code == 200
    if url.startswith("/api/"):
        assert len(response.json()["items"]) == 30
    else:
        assert response.content.decode().count('loading="lazy"') == 15  # thumbnails where they exist


# The session user, the page's count (1) and its rows (1).
LIST_QUERIES = 2 + session_user_queries()


def test_the_order_list_runs_the_same_queries_for_1_and_60_orders(alice, user, place_order,
                                                                   django_assert_num_queries):
    first = place_order()
    alice.get("/orders/")
    with django_assert_num_queries(LIST_QUERIES):
        assert alice.get("/orders/").status_code == 200
    # 59 more in one INSERT (as seed_demo loads them): the list reads only the order rows.
    Order.objects.bulk_create([
        Order(number=first.number + n, customer=user, email=first.email, name=first.name, total=first.total,
              item_count=first.item_count) for n in range(1, 60)
    ])
    for url in ("/orders/", "/orders/?page=3"):
        with django_assert_num_queries(LIST_QUERIES):
            response = alice.get(url)
        assert response.status_code == 200
    numbers = re.findall(r"TL-\d{6}", response.content.decode())
    assert len(numbers) == 10  # 60 orders, 25 a page: the last page holds 10


# --- Finding 16.3: order mail goes to the account's address, and placing orders is rate limited ------------------

@pytest.fixture
def frozen_clock(monkeypatch):
    """The rate limits' clock, standing still (no window boundary inside the test) until moved."""
    moment = {"now": 1_800_000_000.0}
    monkeypatch.setattr(ratelimit, "clock", lambda: moment["now"])
    return moment


def limit_orders(settings, user, *, per_user, per_address):
    """Set the order limits and start Alice's counts from zero: with Redis, counts outlive a test, and other tests
    order for her address too."""
    settings.ORDER_REQUESTS_LIMIT, settings.ORDER_MAILS_LIMIT = per_user, per_address
    ratelimit.ORDER_REQUESTS.reset(ratelimit.order_identity(user))
    ratelimit.ORDER_MAILS.reset(ratelimit.mail_identity(user.email))


def test_an_order_without_email_is_mailed_to_the_account_address(alice, product, design):
    body = {key: value for key, value in order_body(product, design).items() if key != "email"}
    response = post_json(alice, body)
    assert response.status_code == 201, response.content
    assert Order.objects.get().email == "alice@example.com"
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["alice@example.com"]


def test_the_account_address_in_another_case_is_the_same_address(alice, product, design):
    assert post_json(alice, order_body(product, design, email=" ALICE@Example.COM ")).status_code == 201
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["alice@example.com"]


def test_another_address_is_refused_and_nothing_is_mailed(alice, product, design):
    response = post_json(alice, order_body(product, design, email="victim@example.net", name="Hello " + "x" * 100))
    assert response.status_code == 400
    assert "account's e-mail address" in response.json()["error"] and response.json()["details"]["email"]
    assert nothing_written()


def test_an_account_without_an_address_is_asked_for_one_before_ordering(alice, user, product, design):
    user.email = ""
    user.save(update_fields=["email"])
    response = post_json(alice, order_body(product, design, email="someone@example.net"))
    assert response.status_code == 400 and "Add an e-mail address to your account" in response.json()["error"]
    assert nothing_written()
    page = alice.get("/orders/new/").content.decode()
    assert 'id="order-no-email"' in page and re.search(r'<button type="submit" class="button" disabled>', page)


def test_the_order_page_shows_the_account_address_read_only(alice):
    page = alice.get("/orders/new/").content.decode()
    assert re.search(r'<input id="order-email" name="email" type="email" value="alice@example.com" readonly', page)
    assert 'id="order-no-email"' not in page


def test_twenty_six_orders_in_a_row_meet_a_429_after_the_limit(alice, user, product, design, settings,
                                                                frozen_clock):
    """The probe: 26 orders in a row were all accepted, each mailing whatever address was given."""
    limit, window = 10, 600
    limit_orders(settings, user, per_user=(limit, window), per_address=(30, 86400))
    answers = [post_json(alice, order_body(product, design)) for _ in range(26)]
    assert [answer.status_code for answer in answers] == [201] * limit + [429] * (26 - limit)
    refused = answers[-1]
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 2 * window and refused.json()["details"]["retry_after"] == wait
    assert refused.json()["error"].startswith("Too many orders from your account: at most 10 per 10 minutes.")
    assert Order.objects.count() == limit
    assert set(OutgoingMail.objects.values_list("to", flat=True)) == {"alice@example.com"}
    frozen_clock["now"] += wait
    assert post_json(alice, order_body(product, design)).status_code == 201


def test_the_address_limit_holds_across_accounts_sharing_an_address(alice, user, other_user, product, design,
                                                                     settings, frozen_clock):
    limit_orders(settings, user, per_user=(100, 60), per_address=(3, 86400))
    other_user.email = "ALICE@example.com"  # sign-up does not verify addresses: anyone may claim Alice's
    other_user.save(update_fields=["email"])
    bob = Client()
    bob.force_login(other_user)
    theirs = create_design(other_user, title="Bob's")
    assert [post_json(alice, order_body(product, design)).status_code for _ in range(2)] == [201, 201]
    assert post_json(bob, order_body(product, theirs, email="")).status_code == 201
    refused = post_json(bob, order_body(product, theirs, email=""))
    assert refused.status_code == 429 and "to this e-mail address" in refused.json()["error"]
    assert post_json(alice, order_body(product, design)).status_code == 429
    assert OutgoingMail.objects.count() == 3
