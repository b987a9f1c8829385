"""Someone else's designs, batches and orders do not exist as far as a customer's browser can tell."""

import pytest
from playwright.sync_api import expect

from orders.services import order_create
from tests.browser.conftest import artwork_png

pytestmark = pytest.mark.browser


def test_another_users_design_and_order_show_the_not_found_page(page, log_in, user, other_user, products,
                                                                add_designs):
    designs = add_designs(other_user, [("bobs-secret.png", artwork_png(44))])
    secret = designs["bobs-secret.png"]
    order = order_create(email="bob@example.com", name="Bob", user=other_user, items=[
        {"product": str(products["tee"].pk), "design": str(secret.pk), "size": "S", "color": "black", "quantity": 1},
    ])
    log_in(page, "alice", "alice-password-1")

    for path in (f"/designs/{secret.pk}/", f"/designs/{secret.pk}/original", f"/orders/{order.pk}/"):
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.get_by_text("There is nothing here, or it is not yours to see.")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("bobs secret")

    page.goto(f"/designs/upload/?batch={secret.batch_id}")
    expect(page.locator("#file-list .file-row")).to_have_count(0)
    expect(page.locator("#batch-summary")).to_be_hidden()
    page.goto("/designs/")
    expect(page.locator(".grid .tile")).to_have_count(0)


def test_a_staff_member_sees_another_customers_pages_only_with_the_view_permissions(
    page, log_in, django_user_model, other_user, products, add_designs
):
    """Issue 16, finding 6: the staff flag alone opened every customer's designs and orders."""
    from django.contrib.auth.models import Permission

    secret = add_designs(other_user, [("bobs-secret.png", artwork_png(44))])["bobs-secret.png"]
    order = order_create(email="bob@example.com", name="Bob Private", user=other_user, items=[
        {"product": str(products["tee"].pk), "design": str(secret.pk), "size": "S", "color": "black", "quantity": 1},
    ])
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "clerk-password-1", is_staff=True)
    log_in(page, "clerk", "clerk-password-1")
    pages = (f"/designs/{secret.pk}/", f"/orders/{order.pk}/")
    for path in pages:
        assert page.goto(path).status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.locator("body")).not_to_contain_text("Bob Private")

    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_design", "view_order"]))
    assert page.goto(pages[0]).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(secret.title)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download original").click()
    assert download.value.suggested_filename == "bobs-secret.png"
    assert page.goto(pages[1]).status == 200
    expect(page.locator("body")).to_contain_text("Bob Private")
