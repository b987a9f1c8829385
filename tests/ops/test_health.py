import logging

import pytest
from django.db import OperationalError, connection
from django.test import override_settings

pytestmark = pytest.mark.django_db

EVERYTHING_OK = {"database": "ok", "cache": "ok", "storage": "ok", "broker": "ok"}
# nothing listens on port 1: the connection is refused at once
UNREACHABLE_REDIS = override_settings(CACHES={"default": {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
}})


def test_healthz_reports_every_service(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == EVERYTHING_OK
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_healthz_names_the_failing_service(client, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "core.patches.sftp_storage.ContentAddressedSFTPStorage",
        "OPTIONS": {"host": "127.0.0.1", "params": {"port": 1, "timeout": 1, "username": "nobody"}, "root_path": "/"},
    }}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**EVERYTHING_OK, "storage": "failing"}


@UNREACHABLE_REDIS
def test_anonymous_callers_learn_what_fails_but_not_why_which_goes_to_the_log(client, caplog):
    with caplog.at_level(logging.WARNING, logger="ops.health"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**EVERYTHING_OK, "cache": "failing"}
    assert b"127.0.0.1" not in response.content and b"refused" not in response.content.lower()
    logged = [record.getMessage() for record in caplog.records if record.name == "ops.health"]
    assert any("cache" in line and "127.0.0.1:1" in line for line in logged), logged


@UNREACHABLE_REDIS
def test_staff_also_get_why_a_service_fails(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert {name: body[name] for name in EVERYTHING_OK} == {**EVERYTHING_OK, "cache": "failing"}
    assert list(body["details"]) == ["cache"] and "127.0.0.1:1" in body["details"]["cache"]


@UNREACHABLE_REDIS
def test_a_session_that_cannot_be_read_gets_the_public_answer_not_an_error_page(client, staff_user):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    client.force_login(staff_user)
    with connection.execute_wrapper(refuse):  # this thread's queries: the session and user lookups
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**EVERYTHING_OK, "cache": "failing"}


def test_staff_get_the_plain_answer_when_all_is_well(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/healthz").json() == EVERYTHING_OK


def test_a_customer_gets_no_details(client, user, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "core.patches.sftp_storage.ContentAddressedSFTPStorage",
        "OPTIONS": {"host": "127.0.0.1", "params": {"port": 1, "timeout": 1, "username": "nobody"}, "root_path": "/"},
    }}
    client.force_login(user)
    response = client.get("/healthz")
    assert response.status_code == 503 and "details" not in response.json()
