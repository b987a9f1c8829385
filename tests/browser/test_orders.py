"""Placing an order with live totals, and staff moving it to shipped in the admin."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order, OutgoingMail
from orders.payments import rf_reference
from orders.services import order_create
from tests.browser.checkout import fill_address, review_and_place
from tests.browser.conftest import artwork_png

pytestmark = pytest.mark.browser

ORDER_URL = re.compile(r"/orders/([0-9a-f-]{36})/$")


def test_customer_places_an_order_and_finds_it_in_the_list(page, log_in, user, products, add_designs, screenshot):
    design = add_designs(user, [("lighthouse.png", artwork_png(11))])["lighthouse.png"]
    log_in(page, "alice", "alice-password-1")

    page.goto("/orders/new/")
    page.locator(f"#design-picker input[value='{design.pk}']").check()
    page.get_by_role("button", name="Add item").click()
    row = page.locator("#items tbody tr")
    expect(row).to_have_count(1)
    total = page.locator("#order-total")
    expect(total).to_have_text("$12.50")  # the first product (Classic tee), one piece

    row.get_by_label("Product").select_option(str(products["hoodie"].pk))
    expect(total).to_have_text("$35.00")
    row.get_by_label("Size").select_option("L")
    row.get_by_label("Colour").select_option("black")
    row.get_by_label("Quantity").fill("3")
    expect(row.locator(".line")).to_have_text("$105.00")
    expect(total).to_have_text("$105.00")
    fill_address(page)
    page.get_by_label("Note to the shop (optional)").fill("Please fold, do not roll.")
    screenshot(page, "order-new")

    page.get_by_role("button", name="Review order").click()
    review = page.locator("#order-review")
    expect(review.locator("#review-lines tr")).to_have_count(1)
    for text in ("Hoodie", "L", "black", "3", "$35.00", "$105.00"):
        expect(review.locator("#review-lines").get_by_role("cell", name=text, exact=True)).to_have_count(1)
    expect(review.locator("#review-total")).to_have_text("$105.00")
    expect(review.locator("#review-address")).to_have_text("Alice Example, 1 High Street, N1 9GU London, "
                                                           "United Kingdom")
    screenshot(page, "order-review")
    review.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(ORDER_URL)
    order = Order.objects.get(pk=ORDER_URL.search(page.url).group(1))
    assert order.customer == user and order.item_count == 1 and order.note == "Please fold, do not roll."
    assert order.shipping_address["city"] == "London" and order.shipping_address["country"] == "GB"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.display_number}")
    expect(page.locator("#order-status")).to_have_text("Received")
    expect(page.locator("#payment-status")).to_have_text("Unpaid")
    expect(page.locator("#payment-reference")).to_have_text(rf_reference(order.number))
    item = page.locator("#order-items tbody tr")
    expect(item).to_have_count(1)
    for text in ("Hoodie", "L", "black", "3", "$35.00", "$105.00"):
        expect(item.get_by_role("cell", name=text, exact=True)).to_have_count(1)
    expect(page.locator(".timeline li")).to_contain_text(["Order received"])
    screenshot(page, "order")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    listed = page.locator(".table tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.get_by_role("link", name=order.display_number)).to_have_attribute("href", f"/orders/{order.pk}/")
    expect(listed.locator(".badge")).to_have_text(["Received", "Unpaid"])
    expect(listed).to_contain_text("$105.00")
    screenshot(page, "order-list")


def test_an_order_without_items_or_with_a_bad_quantity_is_refused_clearly(page, log_in, user, products,
                                                                           add_designs):
    design = add_designs(user, [("lighthouse.png", artwork_png(11))])["lighthouse.png"]
    log_in(page, "alice", "alice-password-1")
    page.goto("/orders/new/")

    page.get_by_role("button", name="Review order").click()
    errors = page.locator("#order-errors")
    expect(errors).to_be_visible()
    expect(errors).to_have_text("Add at least one item.")

    # The server checks too: a quantity of 0 comes back as a message on the item.
    page.locator(f"#design-picker input[value='{design.pk}']").check()
    page.get_by_role("button", name="Add item").click()
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Review order").click()
    expect(errors).to_contain_text("Complete the shipping address: Recipient, Street and number, Postal code, City, "
                                   "Country.")
    fill_address(page, country="FR")
    review_and_place(page)
    expect(errors).to_contain_text("Item 1: Quantity must be a whole number from 1 to 5000.")
    expect(page.get_by_role("button", name="Review order")).to_be_enabled()
    expect(page).to_have_url(re.compile(r"/orders/new/$"))
    assert Order.objects.count() == 0


def test_bulk_actions_in_the_order_list_go_through_the_workflow(new_page, log_in, user, staff_user, products,
                                                                add_designs, screenshot):
    design = add_designs(user, [("lighthouse.png", artwork_png(11))])["lighthouse.png"]
    order = order_create(email="alice@example.com", name="Alice", user=user, items=[
        {"product": str(products["tee"].pk), "design": str(design.pk), "size": "M", "color": "white", "quantity": 2},
    ])

    staff = log_in(new_page(), "staff", "staff-password-1")
    staff.goto("/admin/orders/order/")
    staff.locator(f"input.action-select[value='{order.pk}']").check()
    staff.locator("select[name=action]").select_option(label="Mark selected orders approved")
    staff.get_by_role("button", name="Go").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 order marked approved.")
    expect(staff.locator("#result_list tbody tr td.field-status")).to_have_text("Approved")
    # Unpaid and without an address: production waits, and the list says so instead of skipping a step.
    staff.locator(f"input.action-select[value='{order.pk}']").check()
    staff.locator("select[name=action]").select_option(label="Mark selected orders in production")
    staff.get_by_role("button", name="Go").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 order could not become in production now")
    expect(staff.locator("#result_list tbody tr td.field-status")).to_have_text("Approved")
    expect(staff.locator("#result_list tbody tr td.field-payment_status")).to_have_text("Unpaid")

    customer = log_in(new_page(), "alice", "alice-password-1")
    customer.goto(f"/orders/{order.pk}/")
    expect(customer.locator("#order-status")).to_have_text("Approved")
    expect(customer.locator(".timeline li")).to_contain_text(["Order received", "Received → Approved by staff"])
    assert list(OutgoingMail.objects.filter(order=order).values_list("kind", flat=True)) == ["confirmation"]


def test_order_mail_goes_to_the_account_address_and_too_many_orders_get_a_message(page, log_in, user, products,
                                                                                   add_designs, settings):
    """Issue 16, finding 3: the address is the account's (shown, not editable), and the rate limit is explained."""
    settings.ORDER_REQUESTS_LIMIT = (1, 600)
    design = add_designs(user, [("lighthouse.png", artwork_png(11))])["lighthouse.png"]
    log_in(page, "alice", "alice-password-1")
    for attempt in range(2):
        page.goto("/orders/new/")
        email = page.get_by_label("Email")
        expect(email).to_have_value("alice@example.com")
        expect(email).not_to_be_editable()
        page.locator(f"#design-picker input[value='{design.pk}']").check()
        page.get_by_role("button", name="Add item").click()
        fill_address(page)
        review_and_place(page)
        if attempt == 0:
            expect(page).to_have_url(ORDER_URL)
    errors = page.locator("#order-errors")
    expect(errors).to_contain_text("Too many orders from your account: at most 1 per 10 minutes. Try again in")
    expect(page).to_have_url(re.compile(r"/orders/new/$"))
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["alice@example.com"]
