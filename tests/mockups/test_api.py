"""The mockups JSON API, image endpoints, design page panel and admin, as a browser or script would use them."""

import json
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mockups.models import GarmentTemplate, Mockup
from tests.mockups.conftest import make_template, processed_design

pytestmark = pytest.mark.django_db

IMMUTABLE = "public, max-age=31536000, immutable"


def post_json(client, url, body, **headers):
    return client.post(url, json.dumps(body) if not isinstance(body, bytes) else body,
                       content_type="application/json", **headers)


def create(client, design, template):
    return post_json(client, f"/api/designs/{design.pk}/mockups", {"template": str(template.pk)})


@pytest.fixture
def ready(alice, design, template, tasks_inline, django_capture_on_commit_callbacks):
    """A mockup asked for through the API and rendered by the (inline) worker: the POST's answer."""
    with django_capture_on_commit_callbacks(execute=True):
        response = create(alice, design, template)
    assert response.status_code == 202, response.content
    return response.json()


def test_a_mockup_goes_from_request_to_picture_through_the_api(ready, alice):
    assert set(ready) == {"id", "status_url"}
    assert ready["status_url"] == f"/api/mockups/{ready['id']}"
    status = alice.get(ready["status_url"]).json()
    assert set(status) == {"status", "image_url", "error"}
    assert status["status"] == "ready" and status["error"] is None
    assert re.fullmatch(r"/api/mockups/images/[0-9a-f]{64}\.webp", status["image_url"])


def test_a_queued_mockup_reports_its_status_without_a_picture(alice, design, template):
    response = create(alice, design, template)  # no worker runs: on-commit work is not executed here
    assert response.status_code == 202
    assert alice.get(response.json()["status_url"]).json() == {"status": "queued", "image_url": None, "error": None}


def test_asking_twice_returns_the_same_job(ready, alice, design, template, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = create(alice, design, template)
    assert again.status_code == 202 and again.json()["id"] == ready["id"]
    assert callbacks == [] and Mockup.objects.count() == 1


def test_mockup_images_are_immutable_with_a_strong_etag_and_304(ready, alice):
    url = alice.get(ready["status_url"]).json()["image_url"]
    client = Client()
    preview_url = url.replace(".webp", "-480.webp")
    for image_url in (url, preview_url):
        response = client.get(image_url)  # content-addressed, like design thumbnails: no session needed
        assert response.status_code == 200 and response["Content-Type"] == "image/webp"
        assert b"".join(response.streaming_content)[8:12] == b"WEBP"
        assert response["Cache-Control"] == IMMUTABLE
        etag = response["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        not_modified = client.get(image_url, HTTP_IF_NONE_MATCH=etag)
        assert not_modified.status_code == 304 and not_modified["Cache-Control"] == IMMUTABLE
    assert client.get(url.replace(".webp", "-999.webp")).status_code == 404
    assert client.get("/api/mockups/images/" + "0" * 64 + ".webp").status_code == 404
    assert client.get("/api/mockups/images/../../settings.webp").status_code == 404


def test_template_photos_are_immutable_with_a_strong_etag_and_304(alice, template):
    listed = alice.get("/api/templates").json()
    client = Client()
    assert listed[0]["id"] == str(template.pk) and listed[0]["name"] == "Tee"
    assert listed[0]["print_area"] == {"x": 60, "y": 80, "width": 180, "height": 200}
    for url, content_type in ((listed[0]["preview_url"], "image/webp"), (listed[0]["photo_url"], "image/png")):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == content_type
        assert response["Cache-Control"] == IMMUTABLE and not response["ETag"].startswith("W/")
        assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_templates_list_only_active_templates(alice, template):
    make_template(name="Retired hoodie")
    GarmentTemplate.objects.filter(name="Retired hoodie").update(active=False)
    assert [item["name"] for item in alice.get("/api/templates").json()] == ["Tee"]


def test_another_users_design_or_mockup_is_a_404(ready, other_user, design, template):
    client = Client()
    client.force_login(other_user)
    response = create(client, design, template)
    assert response.status_code == 404 and set(response.json()) == {"error", "details"}
    assert client.get(ready["status_url"]).status_code == 404
    assert client.get("/api/mockups/00000000-0000-0000-0000-000000000000").status_code == 404


def test_staff_see_every_mockup(ready, staff_user):
    client = Client()
    client.force_login(staff_user)
    assert client.get(ready["status_url"]).json()["status"] == "ready"


def test_anonymous_requests_are_401_not_a_login_redirect(design, template, ready):
    client = Client()  # the `client` fixture is the one `alice` logged in
    assert create(client, design, template).status_code == 401
    assert client.get(ready["status_url"]).status_code == 401
    assert client.get("/api/templates").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({}, "Choose a garment template"),
        ({"template": "not-a-uuid"}, "No such garment template"),
        ({"template": "00000000-0000-0000-0000-000000000000"}, "No such garment template"),
        ({"template": {"id": 1}}, "No such garment template"),
    ],
)
def test_bad_input_is_a_400_with_a_message(alice, design, template, body, message):
    response = post_json(alice, f"/api/designs/{design.pk}/mockups", body)
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"error", "details"} and message in answer["error"]
    assert not Mockup.objects.exists()


def test_a_design_still_processing_is_a_409_saying_so(alice, user, template):
    from designs.models import Design

    design = processed_design(user)
    Design.objects.filter(pk=design.pk).update(status="queued", has_thumbnail=False)
    response = create(alice, design, template)
    assert response.status_code == 409 and "still being processed" in response.json()["error"]


def test_only_get_and_post_where_they_belong(alice, ready, design):
    assert alice.delete(ready["status_url"]).status_code == 405
    assert alice.get(f"/api/designs/{design.pk}/mockups").status_code == 405


def test_csrf_is_enforced_on_the_create_call(user, design, template):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(f"/designs/{design.pk}/")  # the panel sets the csrf cookie, as for the page's script
    assert page.status_code == 200
    without = create(browser, design, template)
    assert without.status_code == 403 and not Mockup.objects.exists()
    token = browser.cookies["csrftoken"].value
    response = post_json(browser, f"/api/designs/{design.pk}/mockups", {"template": str(template.pk)},
                         HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202


def test_the_design_page_shows_the_picker_and_the_designs_mockups(alice, ready, design, template):
    body = alice.get(f"/designs/{design.pk}/").content.decode()
    assert f'data-template="{template.pk}"' in body
    assert f'data-mockup="{ready["id"]}"' in body and 'data-status="ready"' in body
    assert re.search(r'<img class="thumb" src="/api/mockups/images/[0-9a-f]{64}-480\.webp" width="\d+" height="\d+" '
                     r'loading="lazy"', body)
    assert 'name="csrfmiddlewaretoken"' in body
    assert re.search(r'<script src="[^"]*js/mockups(\.[0-9a-f]+)?\.js" defer></script>', body)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)  # CSP: no inline scripts


def test_the_design_page_runs_the_same_number_of_queries_for_1_and_10_mockups(alice, user, design):
    def add_mockups(count):
        templates = GarmentTemplate.objects.bulk_create([
            GarmentTemplate(name=f"T{n}", photo_sha256=f"{n:064x}", photo_format="PNG", photo_width=300,
                            photo_height=360, area_x=10, area_y=10, area_width=100, area_height=100)
            for n in range(GarmentTemplate.objects.count(), GarmentTemplate.objects.count() + count)
        ])
        Mockup.objects.bulk_create([
            Mockup(design=design, template=garment, owner=user, status="ready", image_key=f"mockups/{n:064x}.webp",
                   image_width=300, image_height=360)
            for n, garment in enumerate(templates, start=Mockup.objects.count())
        ])

    add_mockups(1)
    alice.get(f"/designs/{design.pk}/")  # warm-up: first-request work is not what this test is about
    with CaptureQueriesContext(connection) as one:
        assert alice.get(f"/designs/{design.pk}/").status_code == 200
    add_mockups(9)
    with CaptureQueriesContext(connection) as ten:
        body = alice.get(f"/designs/{design.pk}/").content.decode()
    assert body.count("data-mockup=") == 10 and body.count("data-template=") == 10
    assert len(ten.captured_queries) == len(one.captured_queries), [q["sql"] for q in ten.captured_queries]
    panel = [q["sql"] for q in one.captured_queries if "mockups_" in q["sql"]]
    assert len(panel) == 2  # the active templates, and the design's mockups with their template names


def test_the_mockups_admin_list_runs_a_fixed_number_of_queries(client, staff_user, user, template,
                                                               django_assert_max_num_queries):
    client.force_login(staff_user)

    def add(count):
        for n in range(count):
            design = processed_design(user, seed=100 + Mockup.objects.count() + n, size=(200, 160))
            Mockup.objects.create(design=design, template=template, owner=user, status="ready",
                                  image_key=f"mockups/{n:064x}.webp", image_width=300, image_height=360)

    add(1)
    client.get("/admin/mockups/mockup/")
    with django_assert_max_num_queries(20) as few:
        response = client.get("/admin/mockups/mockup/?status__exact=ready")
    assert response.status_code == 200
    add(5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/admin/mockups/mockup/?status__exact=ready").content.decode()
    assert body.count('loading="lazy"') == 6
    mockup = Mockup.objects.first()
    assert client.get(f"/admin/mockups/mockup/{mockup.pk}/change/").status_code == 200


def test_the_template_admin_shows_print_area_errors_and_creates_through_the_service(client, staff_user):
    from tests.mockups.conftest import photo_file

    client.force_login(staff_user)
    form = {"name": "Admin tee", "area_x": 250, "area_y": 10, "area_width": 100, "area_height": 100,
            "shading": "on", "active": "on"}
    refused = client.post("/admin/mockups/garmenttemplate/add/", {**form, "photo": photo_file()})
    assert refused.status_code == 200 and "inside the photo (300×360 px)" in refused.content.decode()
    created = client.post("/admin/mockups/garmenttemplate/add/", {**form, "area_x": 10, "photo": photo_file()})
    assert created.status_code == 302, created.content.decode()[-2000:]
    template = GarmentTemplate.objects.get(name="Admin tee")
    assert template.photo_width == 300 and template.area_x == 10
    page = client.get(f"/admin/mockups/garmenttemplate/{template.pk}/change/").content.decode()
    assert "<svg" in page and template.photo_sha256 in page
    moved = client.post(f"/admin/mockups/garmenttemplate/{template.pk}/change/",
                        {**form, "area_x": 290, "area_width": 5})
    assert moved.status_code == 200 and "at least 20×20" in moved.content.decode()
    assert client.get("/admin/mockups/garmenttemplate/").status_code == 200


def test_seed_templates_is_idempotent(capsys):
    call_command("seed_templates")
    call_command("seed_templates")
    templates = GarmentTemplate.objects.order_by("name")
    assert [template.name for template in templates] == [
        "Classic tee (white)", "Pullover hoodie (charcoal)", "Tote bag (natural)",
    ]
    assert {(t.photo_width, t.photo_height) for t in templates} == {(1200, 1400)}
    assert "exists: Classic tee (white)" in capsys.readouterr().out
