"""Checkout steps shared by the browser tests: the shipping address and the review before placing the order."""

from playwright.sync_api import expect

ADDRESS = {"Recipient": "Alice Example", "Street and number": "1 High Street", "Postal code": "N1 9GU",
           "City": "London"}


def fill_address(page, country="GB"):
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Country").select_option(country)


def review_and_place(page):
    """Open the review step, check it is shown, and place the order from it."""
    page.get_by_role("button", name="Review order").click()
    review = page.locator("#order-review")
    expect(review).to_be_visible()
    expect(review.locator("#review-address")).to_contain_text("1 High Street")
    review.get_by_role("button", name="Place order").click()
    return review
