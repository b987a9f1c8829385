"""Production tools, the account page and design management in a real browser, with no console error."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from designs.models import Design
from tests.browser.conftest import MOBILE, artwork_png
from tests.browser.test_admin import console_errors
from tests.support.production import order_in_production

pytestmark = pytest.mark.browser


def test_staff_download_the_print_files_and_packing_slip_and_read_the_queue(new_page, log_in, user, staff_user,
                                                                             screenshot):
    order, designs = order_in_production(user)
    page = new_page()
    errors = console_errors(page)
    log_in(page, "staff", "staff-password-1")
    page.goto(f"/admin/orders/order/{order.pk}/change/")
    screenshot(page, "admin-order-tools")

    with page.expect_download() as download:
        page.get_by_role("link", name="Print files (zip)").click()
    assert download.value.suggested_filename == f"{order.display_number}-print-files.zip"
    archive = zipfile.ZipFile(download.value.path())
    assert archive.namelist() == [f"{order.display_number}-1-M-black.png",
                                  f"{order.display_number}-2-XL-heather-grey.jpg",
                                  f"{order.display_number}-3-S-white.png"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Packing slip (PDF)").click()
    assert download.value.suggested_filename == f"{order.display_number}-packing-slip.pdf"
    text = PdfReader(io.BytesIO(open(download.value.path(), "rb").read())).pages[0].extract_text()
    assert order.display_number in text and designs["wave.jpg"].title in text

    page.goto("/admin/")
    page.get_by_role("link", name="Production queue").click()
    expect(page.get_by_role("heading", name="Production queue")).to_be_visible()
    rows = page.locator(".tl-queue-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Classic tee")
    expect(page.locator(".tl-queue-table tfoot")).to_contain_text("10")
    page.get_by_label("Placed from").fill("2000-01-01")
    page.get_by_label("until", exact=True).fill("2000-01-02")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No orders in production for these dates.")).to_be_visible()
    page.set_viewport_size(MOBILE)
    page.goto("/admin/orders/order/production-queue/")
    squeezed = page.locator(".tl-queue-table th").evaluate_all(
        "cells => cells.filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)")
    assert squeezed == []
    screenshot(page, "production-queue")
    assert errors == []


def test_the_account_page_changes_the_address_and_lists_the_orders(new_page, log_in, user, screenshot):
    order, _ = order_in_production(user)
    page = new_page()
    errors = console_errors(page)
    log_in(page, "alice", "alice-password-1")
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_role("link", name=order.display_number)).to_be_visible()

    page.get_by_label("New e-mail address").fill("alice@elsewhere.example")
    page.get_by_label("Current password").fill("not-it")
    page.get_by_role("button", name="Change the address").click()
    expect(page.get_by_text("That is not your current password.")).to_be_visible()
    page.get_by_label("Current password").fill("alice-password-1")
    page.get_by_role("button", name="Change the address").click()
    expect(page.get_by_text("Your e-mail address is now alice@elsewhere.example.")).to_be_visible()
    screenshot(page, "account")

    page.get_by_role("link", name=order.display_number).click()
    expect(page).to_have_url(re.compile(f"/orders/{order.pk}/"))
    page.goto("/accounts/")
    page.get_by_role("link", name="Change your password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert errors == []


def test_a_customer_renames_and_deletes_a_design_from_its_page(new_page, log_in, user, add_designs, screenshot):
    designs = add_designs(user, [("beach.png", artwork_png(1)), ("logo.png", artwork_png(2))])
    beach = designs["beach.png"]
    page = new_page()
    errors = console_errors(page)
    log_in(page, "alice", "alice-password-1")
    page.goto(f"/designs/{beach.pk}/")
    page.get_by_label("Title").fill("Beach party 2026")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Beach party 2026", level=1)).to_be_visible()
    expect(page.get_by_text("Design renamed.")).to_be_visible()

    page.get_by_text("Delete this design").click()
    screenshot(page, "design-manage")
    page.get_by_role("button", name="Delete design").click()
    expect(page).to_have_url(re.compile(r"/designs/$"))
    expect(page.get_by_text("Design deleted.")).to_be_visible()
    expect(page.get_by_text("Beach party 2026")).to_have_count(0)
    assert not Design.objects.filter(pk=beach.pk).exists()
    assert errors == []


def test_a_design_an_order_uses_is_kept_and_the_page_says_so(new_page, log_in, user):
    order, designs = order_in_production(user, lines=[("logo.png", "PNG", "M", "black", 1)])
    page = new_page()
    errors = console_errors(page)
    log_in(page, "alice", "alice-password-1")
    page.goto(f"/designs/{designs['logo.png'].pk}/")
    expect(page.get_by_text("This design is kept: 1 order uses it, so it cannot be deleted.")).to_be_visible()
    expect(page.get_by_role("button", name="Delete design")).to_have_count(0)
    assert Design.objects.filter(pk=designs["logo.png"].pk).exists()
    assert errors == []
