"""Every admin list: Django's own change list and rows, a fixed number of queries, and lists open by permission."""

import itertools
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from designs.models import Design, UploadBatch
from marketplace.models import Listing, ShopConnection
from mockups.models import Mockup
from orders import services
from orders.models import Address, Carrier, OutgoingMail, Product
from tests.conftest import session_user_queries
from tests.mockups.conftest import make_template

pytestmark = pytest.mark.django_db

# Queries of each list page besides the logged-in user's, whatever its length. On PostgreSQL the planner's estimate
# is asked too, once: later pages of the same list take it from the cache.
LISTS = {
    "/admin/orders/order/": 2,  # count, rows (the first design's thumbnail is a subquery)
    "/admin/orders/order/?status__exact=received": 2,
    "/admin/orders/order/?q=alice": 2,
    "/admin/orders/order/?q=TL-000001": 2,
    "/admin/orders/order/?payment_status__exact=unpaid": 2,
    "/admin/orders/carrier/": 2,  # count, rows
    "/admin/orders/address/": 2,  # count, rows with their customers
    "/admin/orders/outgoingmail/": 3,  # count, rows, the kinds offered by the filter
    "/admin/orders/product/": 4,  # count, the full count beside it, rows, the garments offered by the filter
    "/admin/designs/design/": 3,  # count, rows with their owners, the formats offered by the filter
    "/admin/designs/uploadbatch/": 2,
    "/admin/mockups/mockup/": 2,  # count, rows with their designs, templates and owners
    "/admin/mockups/mockup/?status__exact=ready": 2,
    "/admin/mockups/garmenttemplate/": 3,  # count, full count, rows
    "/admin/marketplace/shopconnection/": 3,  # count, full count, rows with their owners
    "/admin/marketplace/listing/": 2,  # count, rows with their designs and shops
}
UNFILTERED = [url for url in LISTS if "?" not in url]
serial = itertools.count()


def add_rows(owner, count):
    """`count` rows of every listed model (and one more template), some with blank or empty values: a mail never
    sent, a shop that never got a token, a listing not yet published."""
    product = Product.objects.create(name=f"Tee {next(serial)}", sizes="M", colors="black", price=Decimal("14.50"))
    template = make_template(name=f"Tee {next(serial)}")
    for _ in range(count):
        n = next(serial)
        design = Design.objects.create(owner=owner, title=f"Logo {n}", original_name="logo.png", sha256=f"{n:064x}",
                                       format="PNG", status="ready", has_thumbnail=True, thumb_width=256,
                                       thumb_height=256)
        item = {"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "black", "quantity": 1}
        services.order_create(email=f"alice{n}@example.com", name="Alice <b>", items=[item], user=owner)
        OutgoingMail.objects.create(order=None, kind="reset", to="a@example.com", subject="s", body_text="b",
                                    last_error="   ")
        UploadBatch.objects.create(owner=owner)
        Mockup.objects.create(design=design, template=template, owner=owner, status="ready",
                              image_key=f"mockups/{n:064x}.webp", image_width=300, image_height=360)
        shop = ShopConnection.objects.create(owner=owner, name="Shop <b>", base_url=f"https://shop{n}.example.com",
                                             credentials_sealed="x")
        Listing.objects.create(design=design, connection=shop, external_id="")
        Carrier.objects.create(code=f"carrier-{n}", name=f"Carrier <b>{n}", tracking_url_template="")
        Address.objects.create(customer=owner, name="Alice <b>", line1="1 High St", city="London",
                               postal_code="N1", country="GB")


def result_rows(response):
    table = response.content.decode().partition('<table id="result_list">')[2].partition("</table>")[0]
    return table.count("<tr>") - 1  # less the header's


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("url", LISTS)
def test_every_list_is_djangos_and_runs_a_fixed_number_of_queries(staff, user, url, django_assert_num_queries):
    add_rows(user, 1)
    staff.get(url)  # the planner's estimate, on PostgreSQL, is asked and cached here
    with django_assert_num_queries(LISTS[url] + session_user_queries()):
        few = staff.get(url)
    add_rows(user, 5)
    staff.get(url)
    with django_assert_num_queries(LISTS[url] + session_user_queries()):
        many = staff.get(url)
    assert few.status_code == many.status_code == 200
    assert {"admin/change_list.html", "admin/change_list_results.html"} <= {t.name for t in many.templates}
    assert result_rows(many) == many.context["cl"].result_count > 0 and result_rows(few) > 0
    if "?q=TL-" not in url:  # an order number finds one order however many there are
        assert result_rows(many) > result_rows(few)


def test_the_lists_above_are_every_list_of_the_project(rf, staff_user):
    request = rf.get("/admin/")
    request.user = staff_user
    ours = {"orders", "designs", "mockups", "marketplace"}
    registered = {model["admin_url"] for app in admin.site.get_app_list(request) if app["app_label"] in ours
                  for model in app["models"]}
    assert registered == {url.partition("?")[0] for url in LISTS}


@pytest.mark.parametrize("url", UNFILTERED)
def test_a_search_with_nul_is_refused_with_djangos_message(staff, user, url):
    """PostgreSQL cannot take NUL in a query; Django's search form refuses it and the list shows every row. (The
    order list answered 500 there: it chose its ordering from the raw term.)"""
    add_rows(user, 1)
    response = staff.get(url, {"q": "a\x00"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert result_rows(response) > 0


def test_each_staff_member_sees_the_lists_their_permissions_open(client, django_user_model, staff_user):
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "clerk-password-1", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    body = client.get("/admin/orders/order/").content.decode()
    assert 'class="model-order current-model"' in body and "model-design" not in body
    assert client.get("/admin/designs/design/").status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename="view_design"))
    body = client.get("/admin/designs/design/").content.decode()
    assert 'class="model-design current-model"' in body and "model-order" in body and "model-mockup" not in body

    client.force_login(staff_user)  # a superuser sees every list
    assert "model-mockup" in client.get("/admin/orders/order/").content.decode()
