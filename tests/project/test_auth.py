"""The logged-in user comes from the shared cache, and every change to the user is seen at the next request."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def user_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/orders/")
    return response, [q["sql"] for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]


def test_a_logged_in_request_reads_its_user_from_the_cache(alice):
    response, first = user_queries(alice)
    assert response.status_code == 200 and len(first) == 1  # loaded once ...
    response, again = user_queries(alice)
    assert response.status_code == 200 and again == []  # ... then from Redis


def test_a_password_change_ends_other_sessions_at_once(alice, user):
    user_queries(alice)  # cached
    user.set_password("a new secret")
    user.save()
    response, _ = user_queries(alice)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_deactivated_or_deleted_user_is_logged_out_at_once(user, django_user_model):
    other = django_user_model.objects.create_user("bob", password="x")
    def deactivate(account):
        account.is_active = False
        account.save()

    for account, change in ((user, deactivate), (other, lambda account: account.delete())):
        client = Client()
        client.force_login(account)
        assert user_queries(client)[0].status_code == 200  # cached
        change(get_user_model().objects.get(pk=account.pk))
        assert user_queries(client)[0].status_code == 302


def test_an_update_around_the_signals_is_seen_once_the_rows_are_forgotten(alice, user):
    from django.contrib.auth.hashers import make_password

    from project.auth import forget_cached_users

    user_queries(alice)  # cached
    get_user_model().objects.filter(pk=user.pk).update(password=make_password(None))  # no signal: still cached
    assert user_queries(alice)[0].status_code == 200
    forget_cached_users([user.pk])
    response, _ = user_queries(alice)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
