"""Every form page refuses NUL with a message and reads undecodable bytes as U+FFFD: never a 500 (16.4).

Django's CharField refuses NUL and its request parsing replaces bytes that are not UTF-8, so a lone surrogate cannot
reach a form; the JSON API, where "\\ud800" can, refuses both in core.api.json_body."""

import pytest

pytestmark = pytest.mark.django_db

FORMS = {
    "/accounts/signup/": ("username", "email", "password1", "password2"),
    "/accounts/login/": ("username", "password"),
    "/accounts/password_reset/": ("email",),
    "/accounts/password_change/": ("old_password", "new_password1", "new_password2"),
    "/marketplace/": ("base_url", "api_key", "api_secret", "name"),
    "/admin/login/": ("username", "password"),
}
BAD = {"NUL": "a%00b", "lone surrogate as UTF-8": "a%ED%A0%80b", "invalid UTF-8": "a%FF%FEb"}


@pytest.mark.parametrize("url", list(FORMS))
@pytest.mark.parametrize("bad", list(BAD), ids=list(BAD))
def test_a_form_with_unstorable_text_in_every_field_is_answered_not_a_500(client, user, url, bad):
    if url in ("/accounts/password_change/", "/marketplace/"):
        client.force_login(user)
    body = "&".join(f"{field}={BAD[bad]}" for field in FORMS[url])
    response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 302, 403), response.status_code
    if bad == "NUL" and response.status_code == 200:
        assert "Null characters are not allowed." in response.content.decode()
