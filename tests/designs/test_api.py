"""The designs JSON API and pages, as a browser or script would use them."""

import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from designs import services
from designs.models import Design
from tests.conftest import design_image, encode, session_user_queries

pytestmark = pytest.mark.django_db


def post_files(client, url, files):
    return client.post(url, {"files": files})


def png_file(tmp_path, name, seed, size=(600, 450)):
    path = tmp_path / name
    path.write_bytes(encode(design_image(seed, size=size), "PNG"))
    return path.open("rb")


@pytest.fixture
def uploaded(alice, tmp_path, tasks_inline, django_capture_on_commit_callbacks):
    """Three designs uploaded through the API and processed."""
    with django_capture_on_commit_callbacks(execute=True):
        response = post_files(alice, "/api/uploads", [png_file(tmp_path, f"art-{i}.png", i) for i in range(3)])
    assert response.status_code == 202, response.content
    return response.json()


def test_upload_answers_202_with_the_contract_fields(uploaded):
    assert set(uploaded) == {"id", "status_url", "accepted", "rejected"}
    assert uploaded["status_url"] == f"/api/uploads/{uploaded['id']}"
    assert [item["name"] for item in uploaded["accepted"]] == ["art-0.png", "art-1.png", "art-2.png"]
    assert set(uploaded["accepted"][0]) == {"name", "design_id", "status", "duplicate_of"}


def test_batch_status_reports_progress_and_items(alice, uploaded):
    state = alice.get(uploaded["status_url"]).json()
    assert state["status"] == "done"
    assert (state["total"], state["processed"], state["ready"], state["failed"]) == (3, 3, 3, 0)
    item = state["items"][0]
    assert set(item) == {"name", "design_id", "status", "duplicate_of", "distance", "thumbnail_url", "error"}
    assert item["status"] == "ready" and item["thumbnail_url"].endswith("-256.webp")


def test_adding_files_to_a_batch_reports_refusals_per_file(alice, uploaded, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"%PDF-1.7\n...")
    response = post_files(alice, f"/api/uploads/{uploaded['id']}/files", [bad.open("rb")])
    assert response.status_code == 202
    assert response.json()["rejected"] == [{"name": "notes.png",
                                            "error": "This file is a PDF; upload a PNG, JPEG or WebP image."}]
    assert alice.get(uploaded["status_url"]).json()["rejected"][0]["name"] == "notes.png"


def test_upload_without_files_is_a_400_with_a_message(alice):
    response = alice.post("/api/uploads", {})
    assert response.status_code == 400 and "at least one file" in response.json()["error"]


def test_design_list_and_detail(alice, uploaded):
    listing = alice.get("/api/designs?page=1").json()
    assert len(listing["results"]) == 3 and listing["next"] is None and listing["previous"] is None
    assert set(listing["results"][0]) == {"id", "title", "status", "width", "height", "thumbnail_url", "created_at"}
    design_id = uploaded["accepted"][0]["design_id"]
    detail = alice.get(f"/api/designs/{design_id}").json()
    assert len(detail["sha256"]) == 64 and len(detail["phash"]) == 16 and isinstance(detail["similar"], list)
    assert alice.get("/api/designs?page=9").status_code == 404


def test_another_users_ids_are_404_everywhere(client, other_user, uploaded):
    client.force_login(other_user)
    design_id = uploaded["accepted"][0]["design_id"]
    for url in (f"/api/designs/{design_id}", uploaded["status_url"], f"/designs/{design_id}/",
                f"/designs/{design_id}/original"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/uploads/{uploaded['id']}/files", {}).status_code == 404
    assert client.get("/api/designs").json()["results"] == []


def test_staff_see_every_design(client, staff_user, uploaded):
    client.force_login(staff_user)
    assert client.get(f"/api/designs/{uploaded['accepted'][0]['design_id']}").status_code == 200


def test_thumbnails_are_immutable_with_a_strong_etag_and_304(client, uploaded, alice):
    url = alice.get(uploaded["status_url"]).json()["items"][0]["thumbnail_url"]
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url.replace("-256.", "-999.")).status_code == 404


def test_originals_are_attachments_with_nosniff(alice, uploaded):
    response = alice.get(f"/designs/{uploaded['accepted'][0]['design_id']}/original")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="art-0.png"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize(("uploaded_as", "fmt", "offered_as", "content_type"), [
    ("x.html", "PNG", "x.png", "image/png"),
    ("photo.png", "JPEG", "photo.jpg", "image/jpeg"),
    ("invoice.pdf.svg", "WEBP", "invoice.pdf.webp", "image/webp"),
    ("no-extension", "PNG", "no-extension.png", "image/png"),
])
def test_originals_are_named_and_typed_by_their_detected_format(alice, tmp_path, uploaded_as, fmt, offered_as,
                                                                 content_type):
    """Issue 16, finding 7: a PNG uploaded as x.html was offered as filename="x.html"."""
    path = tmp_path / uploaded_as
    path.write_bytes(encode(design_image(5, size=(120, 90)), fmt))
    with path.open("rb") as handle:
        answer = post_files(alice, "/api/uploads", [handle])
    assert answer.status_code == 202 and answer.json()["accepted"][0]["name"] == uploaded_as, answer.content
    response = alice.get(f"/designs/{answer.json()['accepted'][0]['design_id']}/original")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{offered_as}"'
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"


def test_near_duplicates_are_searched_by_index_probes_not_a_scan(user, django_user_model):
    from designs.similarity import hash_chunks, to_signed64

    query = 0xF0F0_1234_ABCD_5678
    rows = []
    for i, flips in enumerate([0, 3, 6, 7, 20]):
        value = query
        for bit in range(flips):
            value ^= 1 << (bit * 3)
        rows.append(Design(owner=user, title=f"d{i}", original_name="x.png", sha256=f"{i:064x}", format="PNG",
                           status="ready", phash=to_signed64(value),
                           **{f"phash_{k}": chunk for k, chunk in enumerate(hash_chunks(value))}))
    Design.objects.bulk_create(rows)
    other = django_user_model.objects.create_user("other")
    Design.objects.create(owner=other, title="theirs", original_name="x.png", sha256="f" * 64, format="PNG",
                          status="ready", phash=to_signed64(query),
                          **{f"phash_{k}": chunk for k, chunk in enumerate(hash_chunks(query))})
    with CaptureQueriesContext(connection) as queries:
        found = services.near_duplicates(owner_id=user.pk, phash=query, max_distance=6)
    assert [distance for _, distance in found] == [0, 3, 6]  # not 7 or 20 bits away, not another owner's
    assert {type(pk) for pk, _ in found} == {uuid.UUID}
    [probe] = queries.captured_queries  # one statement: a probe of each chunk's index, joined
    assert probe["sql"].count("UNION ALL") == 3
    assert all(f"phash_{k}" in probe["sql"] for k in range(4))


def test_the_gallery_shows_every_change_to_a_design_at_once(alice, user, staff_user):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    design = Design.objects.create(owner=user, title="First draft", original_name="x.png", sha256="a" * 64,
                                   format="PNG", status="queued")
    assert "First draft" in alice.get("/designs/").content.decode()  # now cached under this version

    claimed_at = timezone.now()  # a worker's claim, seen by a page before its result is written with the same clock
    services._claim(design.pk, now=claimed_at)
    assert "Processing" in alice.get("/designs/").content.decode()
    services._finish(Design.objects.get(pk=design.pk), now=claimed_at, status="ready")
    assert "Ready" in alice.get("/designs/").content.decode()

    Design.objects.filter(pk=design.pk).update(status="queued")
    default_storage.save(design.original_key, ContentFile(b"\x89PNG\r\n\x1a\n damaged"))
    services.design_process(design_id=design.pk)  # the worker finds it damaged
    assert "Failed" in alice.get("/designs/").content.decode()

    staff = Client()
    staff.force_login(staff_user)
    form = {field: getattr(design, field) for field in ("title", "original_name", "sha256", "format", "status")}
    form.update(owner=user.pk, title="Final artwork", status="failed", size_bytes=0, width=0, height=0, thumb_width=0,
                thumb_height=0, created_at_0="2026-01-01", created_at_1="00:00:00")
    response = staff.post(f"/admin/designs/design/{design.pk}/change/", form)
    assert response.status_code == 302, [str(e) for e in response.context["errors"]]
    assert "Final artwork" in alice.get("/designs/").content.decode()

    Design.objects.filter(pk=design.pk).delete()
    assert "No designs yet" in alice.get("/designs/").content.decode()


def test_gallery_and_design_pages_run_a_fixed_number_of_queries(alice, user, django_assert_max_num_queries):
    def add(count):
        Design.objects.bulk_create([
            Design(owner=user, title=f"d{i}", original_name="x.png", sha256=f"{i:064x}", format="PNG",
                   status="ready", has_thumbnail=True, thumb_width=256, thumb_height=200) for i in range(count)
        ])

    add(2)
    with django_assert_max_num_queries(6) as few:
        assert alice.get("/designs/").status_code == 200
    add(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert alice.get("/designs/").status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert alice.get("/api/designs").status_code == 200
    design = Design.objects.filter(owner=user).first()
    with django_assert_max_num_queries(7):
        assert alice.get(f"/designs/{design.pk}/").status_code == 200


def test_gallery_thumbnails_are_lazy_with_their_size(alice, uploaded):
    body = alice.get("/designs/").content.decode()
    assert body.count('loading="lazy"') == 3
    assert 'width="256"' in body and "height=" in body
    for design in Design.objects.all():  # each tile links to its page and shows its content-addressed thumbnail
        assert f'<a href="/designs/{design.pk}/">' in body
        assert f'src="/designs/thumbs/{design.sha256}-256.webp"' in body


def test_an_oversized_file_is_refused_by_name_without_keeping_it(alice, tmp_path, settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    huge = tmp_path / "huge.png"
    huge.write_bytes(encode(design_image(1, size=(300, 200)), "PNG") + bytes(5 * 1024 * 1024))
    response = post_files(alice, "/api/uploads", [huge.open("rb"), png_file(tmp_path, "fine.png", 2)])
    assert response.status_code == 202
    body = response.json()
    assert [item["name"] for item in body["accepted"]] == ["fine.png"]
    size_mb = f"{huge.stat().st_size / 1e6:.1f}"
    assert body["rejected"] == [{"name": "huge.png", "error": f"The file is {size_mb} MB; the limit is 3.1 MB."}]
    assert Design.objects.count() == 1


def test_more_files_than_a_batch_holds_are_refused_one_by_one(alice, tmp_path, settings):
    settings.UPLOAD_MAX_FILES = 4
    files = [png_file(tmp_path, f"f{i}.png", i, size=(200, 150)) for i in range(6)]
    body = post_files(alice, "/api/uploads", files).json()
    assert len(body["accepted"]) == 4
    assert [item["name"] for item in body["rejected"]] == ["f4.png", "f5.png"]
    assert all("at most 4 files" in item["error"] for item in body["rejected"])


def test_the_upload_handler_hashes_while_receiving_and_stops_writing_past_the_limit(settings):
    import hashlib

    from designs.uploads import SizeLimitedUploadHandler

    settings.UPLOAD_MAX_BYTES = 1000
    handler = SizeLimitedUploadHandler()
    handler.new_file("files", "big.png", "image/png", 2500)
    chunks = [bytes([n]) * 500 for n in range(5)]
    for offset, chunk in enumerate(chunks):
        handler.receive_data_chunk(chunk, offset * 500)
    uploaded = handler.file_complete(2500)
    assert uploaded.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert uploaded.size == 2500  # what arrived, so the refusal can say how big the file was
    uploaded.seek(0, 2)
    assert uploaded.tell() == 1000  # what was kept on disk


def test_cached_gallery_pages_carry_a_fresh_csrf_token_and_show_flash_messages_once(csrf_client, uploaded):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest, HttpResponse
    from django.middleware.csrf import _unmask_cipher_token

    pages = [csrf_client.get("/designs/").content.decode() for _ in range(2)]  # the second's grid from the cache
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1) for page in pages]
    assert all(page.count('loading="lazy"') == 3 for page in pages)
    assert tokens[0] != tokens[1] and _unmask_cipher_token(tokens[0]) == _unmask_cipher_token(tokens[1])
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": "x" * 64}).status_code == 403
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens[1]}).status_code == 302  # it works

    client = Client()
    client.force_login(Design.objects.first().owner)
    flash = CookieStorage(HttpRequest())  # a message waiting in the browser's cookie, as after a redirect
    flash.add(constants.SUCCESS, "3 files uploaded")
    carrier = HttpResponse()
    flash.update(carrier)
    client.cookies[CookieStorage.cookie_name] = carrier.cookies[CookieStorage.cookie_name].value
    assert "3 files uploaded" in client.get("/designs/").content.decode()
    assert "3 files uploaded" not in client.get("/designs/").content.decode()


@pytest.mark.redis
def test_with_redis_a_cached_gallery_page_costs_only_the_user_query(alice, uploaded, django_assert_num_queries):
    alice.get("/designs/")
    with django_assert_num_queries(session_user_queries()):
        assert alice.get("/designs/").status_code == 200


@pytest.mark.redis
def test_with_redis_the_design_list_and_look_alikes_are_cached_until_the_library_changes(
        alice, user, uploaded, django_assert_num_queries):
    design = Design.objects.filter(owner=user, status="ready").first()
    for url in ("/api/designs", f"/designs/{design.pk}/"):
        alice.get(url)
    with django_assert_num_queries(session_user_queries()):
        assert len(alice.get("/api/designs").json()["results"]) == 3
    with CaptureQueriesContext(connection) as page:
        assert alice.get(f"/designs/{design.pk}/").status_code == 200
    # The design itself, and none for its look-alikes (no probe, no rows): they come from the cache.
    assert len([q for q in page.captured_queries if 'FROM "designs_design"' in q["sql"]]) == 1
    Design.objects.create(owner=user, title="Brand new", original_name="n.png", sha256="e" * 64, format="PNG")
    assert "Brand new" in [row["title"] for row in alice.get("/api/designs").json()["results"]]


def cache_keys():
    """The keys of designs' cached pages and library versions: with Redis through django-redis' keys() (this run's
    prefix only); the local-memory cache keeps its entries in a dict that nothing public lists. (Sessions and rate
    limits, which other requests and background work may add meanwhile, are left out.)"""
    from django.core.cache import cache

    from tests.conftest import uses_redis

    return {key for key in (cache.keys("*") if uses_redis() else cache._cache) if "designs:" in key}


@pytest.fixture
def shared_cache(settings):
    """Caching on, as with Redis: on the embedded defaults the local-memory cache stands in for it."""
    settings.SHARED_CACHE = True


def test_gallery_pages_past_the_end_redirect_to_the_last_page_and_cache_nothing(alice, uploaded, shared_cache):
    """Issue 16, finding 9: each distinct ?page=N past the end stored another copy of the last page."""
    before = cache_keys()
    assert alice.get("/designs/").status_code == 200
    cached = cache_keys()
    assert len(cached) > len(before)  # the grid of page 1 (and the library's version) are cached: keys are counted
    for number in range(2, 40):
        response = alice.get(f"/designs/?page={number}")
        assert (response.status_code, response["Location"]) == (302, "/designs/?page=1")
    response = alice.get("/designs/?show=duplicates&page=7")
    assert (response.status_code, response["Location"]) == (302, "/designs/?show=duplicates&page=1")
    assert cache_keys() == cached, (cache_keys() - cached, cached - cache_keys())


def test_design_list_pages_past_the_end_are_404_and_cache_nothing(alice, uploaded, shared_cache):
    assert alice.get("/api/designs?page=1").status_code == 200
    cached = cache_keys()
    for number in range(2, 40):
        assert alice.get(f"/api/designs?page={number}").status_code == 404
    assert cache_keys() == cached, cache_keys() - cached
