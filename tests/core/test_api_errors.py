"""Every answer under /api/ is JSON {"error": ...} with the right status, whatever goes wrong and where (16.5)."""

import pytest
from django.test import Client

from tests.conftest import design_image, encode, upload_file

pytestmark = pytest.mark.django_db


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
def png():
    return encode(design_image(1, size=(200, 150)), "PNG")


@pytest.fixture
def api_client(user):
    """Logged in and CSRF-checked, as a script with the X-CSRFToken header is: Django's CSRF check reads the body
    first, before any view."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = "t" * 32
    client.cookies["csrftoken"] = token
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


def multipart(*parts):
    """A multipart body by hand: the test client cuts file names to 255 characters, a browser or script does not."""
    body = b"".join(b"--b0undary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + name.encode()
                    + b"\"\r\nContent-Type: image/png\r\n\r\n" + data + b"\r\n" for name, data in parts)
    return body + b"--b0undary--\r\n"


def test_a_file_name_of_1000_characters_is_a_json_400(api_client, png):
    response = api_client.generic("POST", "/api/uploads", multipart(("a" * 1000 + ".png", png)),
                                  content_type="multipart/form-data; boundary=b0undary")
    assert "1024 bytes" in assert_json_error(response, 400)["details"]


def test_a_long_file_name_that_fits_is_accepted_and_shortened(api_client, png):
    response = api_client.generic("POST", "/api/uploads", multipart(("a" * 700 + ".png", png)),
                                  content_type="multipart/form-data; boundary=b0undary")
    assert response.status_code == 202, response.content[:300]
    assert len(response.json()["accepted"][0]["name"]) <= 200


def test_more_than_200_files_in_one_request_is_a_json_400(api_client, png):
    response = api_client.post("/api/uploads", {"files": [upload_file(f"{i}.png", png) for i in range(201)]})
    assert "at most 200" in assert_json_error(response, 400)["error"]


def test_a_body_over_the_size_limit_is_a_json_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.post("/api/orders", data=b"{" + b" " * 2000 + b"}", content_type="application/json")
    assert_json_error(response, 413)


def test_multipart_without_a_boundary_is_a_json_400(api_client):
    response = api_client.generic("POST", "/api/uploads", b"--x\r\n\r\n", content_type="multipart/form-data")
    assert_json_error(response, 400)


@pytest.mark.parametrize("path", ["/api/designs/not-a-uuid", "/api/orders/123", "/api/nothing-here",
                                  "/api/mockups/images/zz.webp"])
def test_an_unknown_path_under_api_is_a_json_404(alice, path):
    assert_json_error(alice.get(path), 404)


def test_an_unknown_page_outside_api_stays_html(alice):
    response = alice.get("/designs/not-a-uuid/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_missing_csrf_token_under_api_is_a_json_403(csrf_client):
    response = csrf_client.post("/api/orders", data="{}", content_type="application/json")
    assert "CSRF" in assert_json_error(response, 403)["error"]


def test_a_server_error_under_api_is_a_json_500(user, monkeypatch):
    from orders import api

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.services, "order_contact_email", broken)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    body = assert_json_error(client.post("/api/orders", data="{}", content_type="application/json"), 500)
    assert "boom" not in body["error"]
