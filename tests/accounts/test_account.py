"""The account page: the e-mail address (changed with the current password), password links, order history."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from orders.models import Order, Product
from orders.services import order_create
from tests.conftest import session_user_queries
from tests.orders.conftest import create_design

pytestmark = pytest.mark.django_db


def place_orders(user, count):
    product = Product.objects.create(name="Tee", price=Decimal("10.00"), sizes="M", colors="black")
    design = create_design(user)
    return [order_create(email=user.email, name="Alice", user=user, items=[
        {"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "black", "quantity": n + 1}])
        for n in range(count)]


def test_the_account_page_needs_a_log_in(client):
    response = client.get("/accounts/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_account_page_shows_the_address_and_links_to_the_password_pages(alice):
    page = alice.get("/accounts/").content.decode()
    assert "alice@example.com" in page
    assert 'href="/accounts/password_change/"' in page and 'href="/accounts/password_reset/"' in page
    assert "No orders yet." in page
    assert 'href="/accounts/"' in alice.get("/designs/").content.decode()  # in the menu of every page


def test_the_address_changes_with_the_current_password(alice, user):
    response = alice.post("/accounts/", {"email": "  alice@new.example.org ", "password": "alice-password-1"},
                          follow=True)
    assert "Your e-mail address is now alice@new.example.org." in response.content.decode()
    assert get_user_model().objects.get(pk=user.pk).email == "alice@new.example.org"


@pytest.mark.parametrize(("form", "message"), [
    ({"email": "alice@new.example.org", "password": "wrong"}, "That is not your current password."),
    ({"email": "alice@new.example.org", "password": ""}, "This field is required."),
    ({"email": "not an address", "password": "alice-password-1"}, "Enter a valid email address."),
])
def test_a_wrong_password_or_address_changes_nothing_and_says_why(alice, user, form, message):
    response = alice.post("/accounts/", form)
    assert response.status_code == 200 and message in response.content.decode()
    assert get_user_model().objects.get(pk=user.pk).email == "alice@example.com"


def test_order_history_lists_only_the_customers_orders_a_page_at_a_time(alice, user, other_user):
    mine = place_orders(user, 12)
    theirs = place_orders(other_user, 1)
    first = alice.get("/accounts/").content.decode()
    assert all(order.display_number in first for order in mine[-10:])  # newest first, 10 a page
    assert mine[0].display_number not in first and theirs[0].display_number not in first
    second = alice.get("/accounts/", {"page": 2}).content.decode()
    assert mine[0].display_number in second and "Page 2 of 2" in second


def test_the_account_page_runs_a_fixed_number_of_queries(alice, user, django_assert_num_queries):
    place_orders(user, 2)
    # the user (the session comes from the cache), the order count, the page of orders, the saved addresses
    expected = session_user_queries() + 3
    with django_assert_num_queries(expected):
        alice.get("/accounts/")
    Order.objects.bulk_create([Order(number=1000 + n, customer=user, email=user.email, name="Alice")
                               for n in range(30)])
    with django_assert_num_queries(expected):
        assert alice.get("/accounts/").status_code == 200


def test_the_account_page_lists_the_saved_addresses(alice, user, other_user):
    assert "None yet" in alice.get("/accounts/").content.decode()
    product = Product.objects.create(name="Tee", price=Decimal("10.00"), sizes="M", colors="black")
    for customer, street in ((user, "1 High Street"), (other_user, "9 Other Road")):
        order_create(email=customer.email, name="Someone", user=customer, save_address=True, shipping_address={
            "name": "Alice Example", "line1": street, "city": "London", "postal_code": "N1 9GU", "country": "GB"},
            items=[{"product": str(product.pk), "design": str(create_design(customer).pk), "size": "M",
                    "color": "black", "quantity": 1}])
    page = alice.get("/accounts/").content.decode()
    assert "1 High Street" in page and "United Kingdom" in page and "9 Other Road" not in page
