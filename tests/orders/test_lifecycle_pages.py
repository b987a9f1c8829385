"""The lifecycle from the pages people use: the API's address, payment and tracking fields, checkout's saved
addresses, the customer's proof decision, and the staff workflow on the admin order page."""

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from orders import transitions
from orders.models import Address, Order, OrderItem, OutgoingMail, Payment
from tests.conftest import session_user_queries
from tests.orders.conftest import create_design, line

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("carriers")]

ADDRESS = {"name": "Alice Example", "line1": "1 High Street", "line2": "", "city": "London", "postal_code": "N1 9GU",
           "region": "", "country": "GB", "phone": "+44 20 7946 0000"}


def post_order(client, product, design, **extra):
    body = {"name": "Alice Example", "items": [line(product, design, quantity=2)], **extra}
    return client.post("/api/orders", data=json.dumps(body), content_type="application/json")


def test_the_api_takes_a_shipping_address_and_shows_payment_and_tracking(alice, user, product, design, staff_user):
    response = post_order(alice, product, design, shipping_address={**ADDRESS, "country": "gb"}, note="Rush please",
                          save_address=True)
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    document = alice.get(f"/api/orders/{order.pk}").json()
    assert document["shipping_address"] == ADDRESS and document["note"] == "Rush please"
    assert document["payment_status"] == "unpaid" and document["tracking_url"] is None
    assert document["payment"]["reference"].startswith("RF") and document["payment"]["amount"] == "39.80"
    assert [address.as_dict() for address in Address.objects.for_customer(user)] == [ADDRESS]

    Order.objects.filter(pk=order.pk).update(status="in_production", payment_status="paid")
    transitions.order_transition(order=order, to="shipped", by=staff_user, carrier="ups", tracking_number="1Z 42")
    document = alice.get(f"/api/orders/{order.pk}").json()
    assert document["tracking_url"] == "https://www.ups.com/track?tracknum=1Z%2042"
    assert document["status"] == "shipped" and document["payment_status"] == "paid"


def test_an_order_without_an_address_is_accepted_and_waits_for_one(alice, product, design):
    assert post_order(alice, product, design).status_code == 201
    order = Order.objects.get()
    assert order.shipping_address is None and alice.get(f"/api/orders/{order.pk}").json()["shipping_address"] is None
    assert "Production waits for your shipping address." in alice.get(f"/orders/{order.pk}/").content.decode()


@pytest.mark.parametrize(("address", "problems"), [
    ({**ADDRESS, "country": "XX"}, {"country": "Choose a country from the list (ISO 3166-1 alpha-2 code)."}),
    ({**ADDRESS, "city": " ", "postal_code": None}, {"city": "Required.", "postal_code": "Required."}),
    ({**ADDRESS, "line1": ["1 High Street"]}, {"line1": "Must be text."}),
    ({**ADDRESS, "name": "A" * 121}, {"name": "At most 120 characters."}),
])
def test_a_bad_address_is_a_400_per_field_and_writes_nothing(alice, product, design, address, problems):
    response = post_order(alice, product, design, shipping_address=address, save_address=True)
    assert response.status_code == 400
    assert response.json() == {"error": "The order is not valid.", "details": {"shipping_address": problems}}
    assert Order.objects.count() == 0 and Address.objects.count() == 0


@pytest.mark.parametrize("address", ["1 High Street, London", ["GB"], 42])
def test_an_address_that_is_not_an_object_is_a_400(alice, product, design, address):
    response = post_order(alice, product, design, shipping_address=address)
    assert response.status_code == 400
    assert response.json()["details"] == {"shipping_address": "not an object"} and Order.objects.count() == 0


def test_the_same_address_is_saved_once_and_offered_at_checkout(alice, user, product, design):
    for _ in range(2):
        assert post_order(alice, product, design, shipping_address=ADDRESS, save_address=True).status_code == 201
    assert Address.objects.filter(customer=user).count() == 1
    page = alice.get("/orders/new/").content.decode()
    assert 'id="saved-addresses"' in page and "1 High Street" in page
    assert '<option value="GB">United Kingdom</option>' in page


def proofed_order(user, product, lines=1, status="proofing"):
    designs = [create_design(user, title=f"Art {n}", has_thumbnail=True) for n in range(lines)]
    order = Order.objects.create(number=Order.objects.count() + 1, customer=user, email=user.email, name="Alice",
                                 status=status, proof_sent_at=timezone.now(), item_count=lines)
    OrderItem.objects.bulk_create(OrderItem(order=order, product=product, design=design, size="M", color="black",
                                            quantity=1, unit_price=product.price) for design in designs)
    return order


def test_the_customer_approves_the_proof_once(alice, user, product):
    order = proofed_order(user, product)
    page = alice.get(f"/orders/{order.pk}/").content.decode()
    assert "Approve proof" in page and "Request changes" in page and "Art 0" in page
    response = alice.post(f"/orders/{order.pk}/proof/", {"decision": "approve"})
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    order.refresh_from_db()
    assert (order.status, order.proof_decided_by) == ("approved", user)
    page = alice.get(f"/orders/{order.pk}/").content.decode()
    assert "Approved by alice" in page and "Approve proof" not in page
    again = alice.post(f"/orders/{order.pk}/proof/", {"decision": "approve"})  # a second click, or a stale tab
    assert again.status_code == 409 and "cannot become approved" in again.content.decode()
    assert order.events.filter(kind="status").count() == 1


def test_requested_changes_need_a_comment_and_go_back_to_staff(alice, user, product, staff_user):
    order = proofed_order(user, product)
    refused = alice.post(f"/orders/{order.pk}/proof/", {"decision": "changes", "comment": ""})
    assert refused.status_code == 400 and "say what should change" in refused.content.decode()
    assert alice.post(f"/orders/{order.pk}/proof/", {"decision": "changes",
                                                      "comment": "Bigger logo"}).status_code == 302
    staff = Client()
    staff.force_login(staff_user)
    admin_page = staff.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "changes requested" in admin_page and "Bigger logo" in admin_page
    assert 'value="proofing"' in admin_page  # the shop sends a new proof


def test_another_customer_cannot_decide_a_proof(client, other_user, user, product):
    order = proofed_order(user, product)
    client.force_login(other_user)
    assert client.post(f"/orders/{order.pk}/proof/", {"decision": "approve"}).status_code == 404
    assert Order.objects.get(pk=order.pk).status == "proofing"


# Per request: the session user, then the order with carrier and approver (1), items (1), events (1), payments (1),
# and the lines' mockups for the proof (1).
PROOF_QUERIES = 5 + session_user_queries()


def test_the_proof_page_runs_the_same_queries_for_1_and_20_lines(alice, user, product, django_assert_num_queries):
    small, large = proofed_order(user, product, 1), proofed_order(user, product, 20)
    alice.get(f"/orders/{small.pk}/")
    for order in (small, large):
        with django_assert_num_queries(PROOF_QUERIES):
            assert alice.get(f"/orders/{order.pk}/").status_code == 200


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def buttons(page):
    return re.findall(r'<input type="hidden" name="to" value="([a-z_]+)">', page)


def test_the_admin_page_offers_exactly_the_moves_allowed_now(staff, place_order, staff_user):
    order = place_order()
    change = f"/admin/orders/order/{order.pk}/change/"
    page = staff.get(change).content.decode()
    assert buttons(page) == ["proofing", "approved", "cancelled"]
    assert 'id="record-payment"' in page and "Release unpaid" in page and "RF" in page
    assert "Classic tee" in page and "4500 × 5400 px (15.0 × 18.0 in at 300 dpi)" in page

    Order.objects.filter(pk=order.pk).update(status="approved")
    assert buttons(staff.get(change).content.decode()) == ["cancelled"]  # unpaid, no address: production waits
    response = staff.post(f"/admin/orders/order/{order.pk}/payment/",
                          {"amount": "19.90", "received_on": timezone.localdate().isoformat(), "note": "BACS"})
    assert response.status_code == 302 and response["Location"] == change
    Order.objects.filter(pk=order.pk).update(shipping_address=ADDRESS)
    page = staff.get(change).content.decode()
    assert buttons(page) == ["in_production", "cancelled"] and 'id="record-payment"' not in page
    assert "Payment recorded" in page and "BACS" in page

    assert staff.post(f"/admin/orders/order/{order.pk}/transition/", {"to": "in_production"}).status_code == 302
    refused = staff.post(f"/admin/orders/order/{order.pk}/transition/", {"to": "in_production"})
    assert refused.status_code == 409 and "cannot become in production" in refused.content.decode()
    missing = staff.post(f"/admin/orders/order/{order.pk}/transition/", {"to": "shipped", "carrier": "dhl"})
    assert missing.status_code == 400 and "enter the tracking number" in missing.content.decode()
    assert staff.post(f"/admin/orders/order/{order.pk}/transition/",
                      {"to": "shipped", "carrier": "dhl", "tracking_number": "JD0001"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.tracking_number, order.carrier.code) == ("shipped", "JD0001", "dhl")
    assert buttons(staff.get(change).content.decode()) == ["delivered"]
    assert list(OutgoingMail.objects.filter(order=order).order_by("created_at").values_list("kind", flat=True)) == [
        "confirmation", "paid", "in_production", "shipped"]


def test_the_workflow_posts_need_change_permission_and_post(client, place_order, django_user_model):
    order = place_order()
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert buttons(page) == [] and 'id="record-payment"' not in page
    assert client.post(f"/admin/orders/order/{order.pk}/transition/", {"to": "cancelled"}).status_code == 403
    assert client.post(f"/admin/orders/order/{order.pk}/payment/", {"amount": "1"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "received" and Payment.objects.count() == 0


def test_the_admin_order_page_runs_the_same_queries_for_1_and_20_lines(staff, user, product, staff_user,
                                                                       django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = proofed_order(user, product, 1), proofed_order(user, product, 20)
    staff.get(f"/admin/orders/order/{small.pk}/change/")
    counts = []
    for order in (small, large):
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(f"/admin/orders/order/{order.pk}/change/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 20, counts


def test_an_order_placed_without_an_address_gets_one_from_its_page(alice, user, product, design, staff_user):
    assert post_order(alice, product, design).status_code == 201
    order = Order.objects.get()
    page = alice.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="address-form"' in page and '<option value="GB">United Kingdom</option>' in page
    form = {f"ship_{field}": value for field, value in ADDRESS.items()}
    refused = alice.post(f"/orders/{order.pk}/address/", {**form, "ship_city": ""})
    assert refused.status_code == 400 and "City: Required." in refused.content.decode()
    assert Order.objects.get(pk=order.pk).shipping_address is None
    assert alice.post(f"/orders/{order.pk}/address/", form).status_code == 302
    order.refresh_from_db()
    assert order.shipping_address == ADDRESS
    assert order.events.filter(message="Shipping address added by alice").exists()
    assert Address.objects.filter(customer=user).count() == 1
    Order.objects.filter(pk=order.pk).update(status="in_production")
    late = alice.post(f"/orders/{order.pk}/address/", form)
    assert late.status_code == 409 and "the order is in production" in late.content.decode()


def test_another_customer_cannot_set_an_address(client, other_user, place_order):
    order = place_order()
    client.force_login(other_user)
    form = {f"ship_{field}": value for field, value in ADDRESS.items()}
    assert client.post(f"/orders/{order.pk}/address/", form).status_code == 404
    assert Order.objects.get(pk=order.pk).shipping_address is None


def test_the_saved_addresses_include_lists_a_customers_addresses(user, other_user, django_assert_num_queries):
    from django.template.loader import render_to_string

    from orders.addresses import address_save

    assert "None yet" in render_to_string("orders/_saved_addresses.html", {"addresses": []})
    address_save(customer=user, address={**ADDRESS, "line1": "2 <b>Mill</b> Lane"})
    address_save(customer=other_user, address={**ADDRESS, "line1": "9 Elsewhere Road"})
    with django_assert_num_queries(1):
        html = render_to_string("orders/_saved_addresses.html", {"addresses": Address.objects.for_customer(user)})
    assert "2 &lt;b&gt;Mill&lt;/b&gt; Lane" in html and "United Kingdom" in html and "Elsewhere" not in html
