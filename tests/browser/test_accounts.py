"""Signing up, logging out and in again, resetting a forgotten password, and a paused log-in, as a person sees them."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_up_log_out_and_log_in_again(page, screenshot):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your artwork, on garments")
    screenshot(page, "home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))

    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-Passphrase-9")
    page.get_by_label("Password confirmation").fill("a-long-Passphrase-9")
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/designs/$"))
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Designs", "Upload", "Orders"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Log out (carol)")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_have_count(0)
    assert get_user_model().objects.filter(username="carol", email="carol@example.com").exists()

    nav.get_by_role("button", name="Log out (carol)").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("button", name=re.compile("Log out"))).to_have_count(0)

    page.goto("/designs/")  # private now: the login form, which brings the visitor back afterwards
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/designs/$"))
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("a-long-Passphrase-9")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/designs/$"))
    expect(page.get_by_role("heading", name="Your designs")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out (carol)")).to_be_visible()


def test_wrong_password_is_refused_with_a_message(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator(".error-box")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_have_count(0)


def test_a_forgotten_password_is_reset_through_the_mailed_link(page, user, settings, live_server, screenshot):
    from django.core import mail

    settings.SITE_URL = live_server.url  # the address the mail's link must lead back to
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/accounts/password_reset/$"))
    screenshot(page, "password-reset")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    assert link.startswith(f"{live_server.url}/accounts/reset/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("a-fresh-Passphrase-7")
    page.get_by_label("New password confirmation").fill("a-fresh-Passphrase-7")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    page.get_by_role("main").get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("a-fresh-Passphrase-7")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out (alice)")).to_be_visible()


def test_ten_wrong_passwords_pause_the_log_in_on_a_styled_page(page, user, screenshot):
    for _ in range(10):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("not-her-password")
        page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Log-in paused")).to_be_visible()
    expect(page.locator(".error-box")).to_contain_text("Try again in 5 minutes")
    expect(page.locator(".auth")).to_have_css("max-width", "420px")  # the site's stylesheet applies
    screenshot(page, "login-locked")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Log-in paused")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_have_count(0)
