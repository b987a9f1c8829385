"""The log-in lockout (django-axes): counted by the normalised user name and the client address, in the database,
checked before the password, and answered alike by the customer and the admin log-in pages."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models import F
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN, ADMIN_LOGIN = "/accounts/login/", "/admin/login/"
LIMIT, COOL_OFF_S = 10, 300
FULLWIDTH, BOLD = "ｓｅｃ-ｂｏｂ", "𝐬𝐞𝐜-𝐛𝐨𝐛"  # both NFKC-normalise to "sec-bob"


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("sec-bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("sec-root", "root@example.com", "root-password-1")


def fail(times, username, *, path=LOGIN, client=None, **request):
    client = client or Client()
    for _ in range(times):
        answer = client.post(path, {"username": username, "password": "wrong"}, **request)
        assert answer.status_code in (200, 429), answer.status_code
    return answer


def log_in(username, password, *, path=LOGIN, **request):
    """(answer, whether the session is now logged in), from a fresh browser."""
    client = Client()
    answer = client.post(path, {"username": username, "password": password}, **request)
    return answer, "_auth_user_id" in client.session


def age_attempts(seconds):
    """Move every recorded failure `seconds` into the past, as the clock would."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


def test_ten_failures_lock_the_name_and_every_look_alike_of_it(bob):
    fail(LIMIT, "sec-bob")
    # Django logs `ｓｅｃ-ｂｏｂ` and `𝐬𝐞𝐜-𝐛𝐨𝐛` in as sec-bob (NFKC): with the right password none gets through.
    for spelling in ("sec-bob", FULLWIDTH, BOLD, "SEC-Bob", " sec-bob "):
        answer, logged_in = log_in(spelling, "bob-password-1")
        assert answer.status_code == 429 and not logged_in, spelling
        assert b"Too many failed log-in attempts" in answer.content


def test_look_alike_spellings_share_one_count(bob):
    fail(4, "sec-bob")
    fail(3, FULLWIDTH)
    fail(3, BOLD)
    answer, logged_in = log_in("sec-bob", "bob-password-1")
    assert answer.status_code == 429 and not logged_in
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [("sec-bob", LIMIT)]


def test_the_admin_log_in_counts_the_same_way_for_a_superuser(root):
    fail(LIMIT, "sec-root", path=ADMIN_LOGIN)
    for path, spelling in ((ADMIN_LOGIN, "ｓｅｃ-ｒｏｏｔ"), (ADMIN_LOGIN, "𝐬𝐞𝐜-𝐫𝐨𝐨𝐭"), (ADMIN_LOGIN, "sec-root"),
                           (LOGIN, "ｓｅｃ-ｒｏｏｔ")):
        answer, logged_in = log_in(spelling, "root-password-1", path=path)
        assert answer.status_code == 429 and not logged_in, (path, spelling)


def test_a_locked_account_gets_the_same_answer_from_both_log_in_pages(bob):
    fail(LIMIT, "sec-bob", path=ADMIN_LOGIN)
    answers = [log_in("sec-bob", "bob-password-1", path=path)[0] for path in (LOGIN, ADMIN_LOGIN)]
    for answer in answers:
        assert answer.status_code == 429
        assert COOL_OFF_S - 5 <= int(answer["Retry-After"]) <= COOL_OFF_S
        body = answer.content.decode()
        assert "Too many failed log-in attempts for this account. Try again in 5 minutes." in body
        assert "/static/css/app.css" in body and 'href="/accounts/password_reset/"' in body  # the site's page
        assert "style=" not in body and "<style" not in body and "<script" not in body  # the CSP allows neither
    assert answers[0].content == answers[1].content


def test_a_locked_attempt_checks_no_password_and_tells_nothing_about_it(bob, monkeypatch):
    fail(LIMIT, "sec-bob")
    checked = []
    real_authenticate = ModelBackend.authenticate
    monkeypatch.setattr(ModelBackend, "authenticate",
                        lambda self, *args, **kwargs: checked.append(1) or real_authenticate(self, *args, **kwargs))
    right, _ = log_in("sec-bob", "bob-password-1")
    wrong, _ = log_in("sec-bob", "not-it")
    assert checked == []
    assert (right.status_code, right.content) == (wrong.status_code, wrong.content)


def test_retry_after_is_when_the_lock_ends_and_tries_meanwhile_do_not_move_it(bob):
    for attempt in range(1, LIMIT):
        answer = fail(1, "sec-bob")
        assert answer.status_code == 200 and b"Please enter a correct username and password" in answer.content, attempt
    tenth = fail(1, "sec-bob")  # locks at once: the page says so, with the wait
    assert tenth.status_code == 429 and b"Too many failed log-in attempts" in tenth.content
    wait = int(tenth["Retry-After"])
    assert COOL_OFF_S - 5 <= wait <= COOL_OFF_S
    age_attempts(60)
    fail(3, "sec-bob")  # refused without being counted
    answer, logged_in = log_in("sec-bob", "bob-password-1")
    assert answer.status_code == 429 and not logged_in
    assert wait - 60 - 5 <= int(answer["Retry-After"]) <= wait - 60
    age_attempts(int(answer["Retry-After"]) - 2)
    assert log_in("sec-bob", "bob-password-1")[0].status_code == 429
    age_attempts(2)  # as Retry-After said
    answer, logged_in = log_in("sec-bob", "bob-password-1")
    assert answer.status_code == 302 and logged_in


def test_the_right_password_clears_the_failures_of_that_name_and_address(bob):
    client = Client()
    fail(LIMIT - 1, "sec-bob", client=client)
    assert client.post(LOGIN, {"username": "sec-bob", "password": "bob-password-1"}).status_code == 302
    fail(LIMIT - 1, "sec-bob")
    assert log_in("sec-bob", "bob-password-1")[0].status_code == 302


def test_one_lockout_keeps_no_one_else_out_from_the_same_address(bob, user):
    fail(LIMIT, "sec-bob")
    assert log_in("alice", "alice-password-1")[0].status_code == 302  # another name, same address
    answer, logged_in = log_in("sec-bob", "bob-password-1", REMOTE_ADDR="203.0.113.9")  # the name elsewhere
    assert answer.status_code == 302 and logged_in


def test_behind_a_trusted_proxy_each_client_counts_by_its_own_address(bob, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail(LIMIT, "sec-bob", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    # Bob, behind the same proxy from his own address, still logs in; the guesser's address stays locked ...
    assert log_in("sec-bob", "bob-password-1", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)[1]
    assert log_in("sec-bob", "bob-password-1", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)[0].status_code == 429
    # ... even when it puts another address in front: only the entry the proxy added counts.
    spoofed = log_in("sec-bob", "bob-password-1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7", **proxy)
    assert spoofed[0].status_code == 429
    assert log_in("alice", "alice-password-1", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)[1]


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(bob):
    for n in range(LIMIT):
        fail(1, "sec-bob", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    answer, logged_in = log_in("sec-bob", "bob-password-1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert answer.status_code == 429 and not logged_in
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]


def test_an_ipv6_client_counts_by_its_64_block(bob):
    for n in range(LIMIT):
        fail(1, "sec-bob", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
    assert log_in("sec-bob", "bob-password-1", REMOTE_ADDR="2001:db8:1:2:ffff::1")[0].status_code == 429
    assert log_in("sec-bob", "bob-password-1", REMOTE_ADDR="2001:db8:1:3::1")[1]


def test_the_count_lives_in_the_database_shown_and_lifted_in_the_admin(bob, staff_user):
    fail(LIMIT, "sec-bob")
    cache.clear()  # what another web process's own cache holds: nothing
    assert log_in("sec-bob", "bob-password-1")[0].status_code == 429
    staff = Client()
    staff.force_login(staff_user)
    listing = staff.get("/admin/axes/accessattempt/?q=sec-bob")
    assert listing.status_code == 200
    assert "sec-bob" in listing.content.decode() and "Locked Out" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="sec-bob")
    assert staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    answer, logged_in = log_in("sec-bob", "bob-password-1")
    assert answer.status_code == 302 and logged_in
