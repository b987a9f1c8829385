"""Password reset by mail and password change: Django's views, the site's pages, links from SITE_URL."""

import re

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


NEW = "a-fresh-Passphrase-7"


def log_in(password, username="alice"):
    """The status of a log-in from a fresh browser."""
    return Client().post("/accounts/login/", {"username": username, "password": password}).status_code


def reset_link(settings):
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    assert links[0].startswith(f"{settings.SITE_URL}/accounts/reset/")
    return message, links[0]


def test_the_log_in_page_offers_a_password_reset(client):
    body = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in body and "Forgot your password?" in body


def test_a_reset_mail_links_to_a_page_that_sets_a_new_password(client, user, settings):
    settings.SITE_URL = "https://shop.example.com:8443"
    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200 and "Reset your password" in page.content.decode()
    answer = client.post("/accounts/password_reset/", {"email": "ALICE@example.com"})
    assert answer.status_code == 302 and answer["Location"] == "/accounts/password_reset/done/"
    assert "Check your email" in client.get(answer["Location"]).content.decode()
    message, link = reset_link(settings)
    assert message.to == ["alice@example.com"] and message.subject == "Reset your Threadline password"
    assert "Hello alice" in message.body

    path = link.removeprefix(settings.SITE_URL)
    form = client.get(path, follow=True)  # Django swaps the token for a session key, then shows the form
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert "Password changed" in client.get(done["Location"]).content.decode()

    assert log_in("alice-password-1") == 200
    assert log_in(NEW) == 302
    assert "no longer works" in client.get(path, follow=True).content.decode()  # a link works once


def test_the_reset_link_ignores_the_host_the_request_named(client, user, settings):
    settings.ALLOWED_HOSTS = ["threadline.example.com", "evil.example"]
    settings.SITE_URL = "https://threadline.example.com"
    client.post("/accounts/password_reset/", {"email": "alice@example.com"}, HTTP_HOST="evil.example")
    _, link = reset_link(settings)
    assert "evil.example" not in link


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, user):
    answer = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 302 and answer["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_a_new_password_lifts_a_lockout_of_the_account(client, user, settings):
    for _ in range(10):
        log_in("wrong")
    assert log_in("alice-password-1") == 429
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    _, link = reset_link(settings)
    form = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert log_in(NEW) == 302


def test_a_password_change_needs_the_old_password(alice, user):
    page = alice.get("/accounts/password_change/")
    assert page.status_code == 200 and "Change your password" in page.content.decode()
    refused = alice.post("/accounts/password_change/", {"old_password": "not-it", "new_password1": NEW,
                                                        "new_password2": NEW})
    assert refused.status_code == 200 and "Your old password was entered incorrectly" in refused.content.decode()
    user.refresh_from_db()
    assert user.check_password("alice-password-1")

    changed = alice.post("/accounts/password_change/", {"old_password": "alice-password-1", "new_password1": NEW,
                                                        "new_password2": NEW})
    assert changed.status_code == 302 and changed["Location"] == "/accounts/password_change/done/"
    assert "Password changed" in alice.get(changed["Location"]).content.decode()  # still logged in here
    assert log_in(NEW) == 302


def test_password_change_is_for_logged_in_users(client):
    answer = client.get("/accounts/password_change/")
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?next=/accounts/password_change/"
