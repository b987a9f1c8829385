"""The OpenAPI description: valid, public, complete for the URLconf, and shown to staff as a page."""

import re
import uuid

import pytest
from django.http import JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from core.openapi import openapi_spec
from tests.support.openapi import assert_documented, path_template

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
CONVERTER = re.compile(r"<(\w+):\w+>")
SAMPLES = {"uuid": str(uuid.uuid4()), "int": "256", "str": "a" * 64, "slug": "a", "path": "a"}


def api_routes(patterns=None, prefix=""):
    """(route, sample path) for every URL pattern under /api/, walking included URLconfs."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            yield route, "/" + CONVERTER.sub(lambda match: SAMPLES[match[1]], route)


def test_the_description_is_valid_openapi_3_1():
    spec = openapi_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_the_description_is_public_json(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.json() == openapi_spec()


def test_every_api_route_and_method_is_described_and_nothing_else(client, staff_user):
    """Each route under /api/ is asked every method (as staff, with sample ids): those that do not answer 405 are
    exactly the spec's operations."""
    client.force_login(staff_user)
    answered = {}
    for route, sample in api_routes():
        for method in METHODS:
            response = getattr(client, method)(sample)
            if response.status_code != 405:
                answered.setdefault(path_template(route), set()).add(method)
    assert answered == {path: set(operations) for path, operations in openapi_spec()["paths"].items()}


def test_an_answer_the_description_does_not_list_is_caught():
    with pytest.raises(AssertionError, match="documents only"):
        assert_documented("GET", "/api/products", JsonResponse({"error": "teapot"}, status=418))
    with pytest.raises(AssertionError, match="is a required property"):
        assert_documented("GET", "/api/products", JsonResponse([{"id": str(uuid.uuid4())}], safe=False))


def test_the_docs_page_is_for_staff(client, user, staff_user):
    assert client.get("/api/docs/").status_code == 401
    client.force_login(user)
    assert client.get("/api/docs/").status_code == 403
    client.force_login(staff_user)
    page = client.get("/api/docs/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    for path, operations in openapi_spec()["paths"].items():
        for method in operations:
            assert f"<code>{method.upper()} {path}</code>" in html
    assert "payment_status" in html and "<h3>OrderRequest</h3>" in html
