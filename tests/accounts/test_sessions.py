"""Who is logged in comes from the database on every request: a change to the user shows at the next request, and
no copy of the user's row (with its password hash) sits in the cache."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_password_change_ends_other_sessions_at_once(alice, user):
    assert alice.get("/orders/").status_code == 200
    user.set_password("a new secret")
    user.save()
    response = alice.get("/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_change_made_without_signals_shows_at_the_next_request(alice, user):
    from django.contrib.auth.hashers import make_password

    assert alice.get("/orders/").status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(password=make_password(None))  # QuerySet.update: no signal
    assert alice.get("/orders/").status_code == 302


def test_a_deactivated_or_deleted_user_is_logged_out_at_once(user, django_user_model):
    other = django_user_model.objects.create_user("bob", password="x")

    def deactivate(account):
        account.is_active = False
        account.save()

    for account, change in ((user, deactivate), (other, lambda account: account.delete())):
        client = Client()
        client.force_login(account)
        assert client.get("/orders/").status_code == 200
        change(get_user_model().objects.get(pk=account.pk))
        assert client.get("/orders/").status_code == 302


@pytest.mark.redis
def test_no_cache_entry_holds_a_password_hash(user, settings):
    from django_redis import get_redis_connection

    client = Client()
    assert client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}).status_code == 302
    for path in ("/orders/", "/designs/", "/api/designs"):
        assert client.get(path).status_code == 200
    redis = get_redis_connection("default")
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    # Django's cache entries are strings (the other types under the prefix are counters such as the metrics').
    values = [redis.get(key) for key in redis.scan_iter(f"{prefix}:*") if redis.type(key) == b"string"]
    assert values  # the session and the pages are cached, at least
    secret = user.password.encode()
    assert not [value for value in values if value and secret in value]
