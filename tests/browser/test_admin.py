"""The admin in a real browser: the dashboard on the front page only, readable on a laptop and a phone, and no
console error on any app's page (a missing favicon included)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command

from tests.browser.conftest import DESKTOP, MOBILE

pytestmark = pytest.mark.browser


def console_errors(page):
    errors = []
    page.on("console",
            lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return errors


def log_in_to_admin(page, username, password):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


def test_the_dashboard_is_readable_and_the_admin_has_no_console_error(new_page, django_user_model, screenshot):
    call_command("seed_demo", users=2, designs=6, orders=60, seed=3)
    django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-password-1")
    page = new_page(DESKTOP)
    errors = console_errors(page)
    log_in_to_admin(page, "boss", "boss-password-1")

    dashboard = page.locator("#dashboard-title")
    assert dashboard.is_visible()
    # Orders from today and the last 30 days are drawn: some bar has a height.
    heights = page.locator(".tl-chart rect").evaluate_all("bars => bars.map(bar => bar.getBBox().height)")
    assert len(heights) == 30 and max(heights) > 0
    for viewport in (DESKTOP, MOBILE):
        page.set_viewport_size(viewport)
        # No label is squeezed narrower than its own longest word (the old tables broke them a letter a line).
        squeezed = page.locator(".tl-stats dt, .tl-statuses a").evaluate_all(
            "cells => cells.filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)")
        assert squeezed == [], viewport
    screenshot(page, "admin-dashboard")

    labels = {model._meta.app_label for model in apps.get_models() if admin.site.is_registered(model)}
    assert {"orders", "designs", "django_q"} <= labels
    for label in sorted(labels):
        response = page.goto(f"/admin/{label}/")
        assert response.status == 200, label
        assert page.locator("#dashboard-title").count() == 0, f"the dashboard shows on /admin/{label}/"
    assert errors == []
