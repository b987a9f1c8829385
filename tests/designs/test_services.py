"""Upload and processing services against the real database and storage (local files)."""

import random

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from designs import services
from designs.models import Design, UploadBatch
from tests.conftest import design_image, encode, upload_file

pytestmark = pytest.mark.django_db


def png(seed=0, **kwargs):
    return encode(design_image(seed, **kwargs), "PNG")


def upload(owner, files, django_capture_on_commit_callbacks, batch=None):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.design_batch_upload(owner=owner, files=files, batch=batch)
    return result, [callback for callback in callbacks if callback.__qualname__.startswith("enqueue")]  # the tasks


def process_all(batch):
    for design_id in Design.objects.filter(batch=batch, status="queued").values_list("pk", flat=True):
        services.design_process(design_id=design_id)


def test_upload_stores_originals_under_content_addressed_keys_and_enqueues_once_per_new_design(
    user, django_capture_on_commit_callbacks
):
    files = [upload_file("../../etc/passwd.png", png(1)), upload_file("b.png", png(2)),
             upload_file("copy-of-b.png", png(2))]
    result, callbacks = upload(user, files, django_capture_on_commit_callbacks)
    assert [item.name for item in result.accepted] == ["passwd.png", "b.png", "copy-of-b.png"]
    first, second, copy = (item.design for item in result.accepted)
    assert copy.status == "duplicate" and copy.duplicate_of_id == second.pk and copy.distance == 0
    assert default_storage.exists(first.original_key) and "passwd" not in first.original_key
    assert len(callbacks) == 2  # one task per new design, none for the exact copy
    batch = UploadBatch.objects.get(pk=result.batch.pk)
    assert (batch.total, batch.processed, batch.duplicates) == (3, 1, 1)


def test_exact_duplicate_of_an_existing_design_is_answered_at_once(user, django_capture_on_commit_callbacks):
    first, _ = upload(user, [upload_file("a.png", png(5))], django_capture_on_commit_callbacks)
    process_all(first.batch)
    again, callbacks = upload(user, [upload_file("a-again.png", png(5))], django_capture_on_commit_callbacks)
    design = again.accepted[0].design
    assert design.status == "duplicate" and design.duplicate_of_id == first.accepted[0].design.pk
    assert design.has_thumbnail  # shares the original's processing results
    assert callbacks == []


def test_refused_files_are_listed_with_a_reason_and_nothing_is_stored(user, django_capture_on_commit_callbacks):
    files = [upload_file("empty.png", b""), upload_file("page.png", b"<html><script>alert(1)</script></html>"),
             upload_file("ok.png", png(3))]
    result, _ = upload(user, files, django_capture_on_commit_callbacks)
    assert [item.name for item in result.accepted] == ["ok.png"]
    reasons = {item["name"]: item["error"] for item in result.rejected}
    assert "empty" in reasons["empty.png"].lower()
    assert "PNG, JPEG or WebP" in reasons["page.png"]
    assert Design.objects.count() == 1
    assert UploadBatch.objects.get(pk=result.batch.pk).rejected == result.rejected


def test_a_batch_takes_at_most_the_limit(user, settings, django_capture_on_commit_callbacks):
    settings.UPLOAD_MAX_FILES = 3
    data = [upload_file(f"f{i}.png", png(10 + i, size=(200, 160))) for i in range(5)]
    result, _ = upload(user, data, django_capture_on_commit_callbacks)
    assert len(result.accepted) == 3 and len(result.rejected) == 2
    more, _ = upload(user, [upload_file("late.png", png(30, size=(200, 160)))], django_capture_on_commit_callbacks,
                     batch=result.batch)
    assert more.accepted == [] and "at most 3" in more.rejected[0]["error"]


def test_processing_makes_thumbnails_hashes_and_counts_once(user, django_capture_on_commit_callbacks):
    result, _ = upload(user, [upload_file("a.png", png(7, size=(1600, 1200)))], django_capture_on_commit_callbacks)
    design_id = result.accepted[0].design.pk
    services.design_process(design_id=design_id)
    services.design_process(design_id=design_id)  # a second delivery of the same task changes nothing
    design = Design.objects.get(pk=design_id)
    assert design.status == "ready" and design.has_thumbnail and design.attempts == 1
    assert design.phash is not None and design.phash_0 is not None
    assert (design.thumb_width, design.thumb_height) == (256, 192)
    assert default_storage.exists(design.thumbnail_key(256)) and default_storage.exists(design.thumbnail_key(640))
    batch = UploadBatch.objects.get(pk=result.batch.pk)
    assert (batch.processed, batch.ready) == (1, 1) and batch.is_done


def test_pngs_and_webps_padded_with_a_newline_are_uploaded_and_processed(user, django_capture_on_commit_callbacks):
    """Issue 16, finding 11: Pillow's own tRNS_null_1x1.png (a newline after IEND) was refused."""
    files = [upload_file("padded.png", png(8, size=(300, 200)) + b"\n"),
             upload_file("padded.webp", encode(design_image(9, size=(300, 200)), "WEBP") + b"\n\x00")]
    result, _ = upload(user, files, django_capture_on_commit_callbacks)
    assert result.rejected == [] and [item.design.format for item in result.accepted] == ["PNG", "WEBP"]
    process_all(result.batch)
    assert set(Design.objects.filter(batch=result.batch).values_list("status", flat=True)) == {"ready"}


def test_processing_a_design_takes_a_fixed_number_of_queries(user, django_capture_on_commit_callbacks,
                                                             django_assert_num_queries):
    result, _ = upload(user, [upload_file("a.png", png(8, size=(300, 200)))], django_capture_on_commit_callbacks)
    # claim (update, get), near-duplicate probe, then in one transaction (a savepoint and its release inside the
    # test's own): result, batch counters, exact copies. No reload of the row at the end.
    with django_assert_num_queries(8):
        assert services.design_process(design_id=result.accepted[0].design.pk) == "ready"


def test_near_duplicate_variants_are_found_and_different_designs_are_not(user, django_capture_on_commit_callbacks):
    base = design_image(42, size=(1200, 900))
    variants = {
        "original.png": encode(base, "PNG"),
        "smaller.png": encode(base.resize((600, 450)), "PNG"),
        "reencoded.jpg": encode(base, "JPEG", quality=70),
        "cropped.png": encode(base.crop((24, 18, 1176, 882)), "PNG"),
        "different.png": encode(design_image(99, size=(1200, 900)), "PNG"),
    }
    first, _ = upload(user, [upload_file("original.png", variants.pop("original.png"))],
                      django_capture_on_commit_callbacks)
    process_all(first.batch)
    rest, _ = upload(user, [upload_file(name, data) for name, data in variants.items()],
                     django_capture_on_commit_callbacks)
    process_all(rest.batch)
    outcome = {d.original_name: d for d in Design.objects.filter(batch=rest.batch)}
    family = {first.accepted[0].design.pk} | {outcome[name].pk for name in ("smaller.png", "reencoded.jpg",
                                                                          "cropped.png")}
    for name in ("smaller.png", "reencoded.jpg", "cropped.png"):
        assert outcome[name].status == "duplicate", name
        # the closest design of the same family, which may be another variant processed just before
        assert outcome[name].duplicate_of_id in family - {outcome[name].pk} and outcome[name].distance <= 6
    assert outcome["different.png"].status == "ready"


def test_a_corrupt_file_that_passes_the_header_check_ends_failed(user, django_capture_on_commit_callbacks):
    data = bytearray(png(8, size=(400, 300)))
    data[200:1200] = random.Random(1).randbytes(1000)  # damage the pixel data; header and end marker stay intact
    result, _ = upload(user, [upload_file("broken.png", bytes(data))], django_capture_on_commit_callbacks)
    assert result.accepted, result.rejected
    services.design_process(design_id=result.accepted[0].design.pk)
    design = Design.objects.get(pk=result.accepted[0].design.pk)
    assert design.status == "failed" and design.error
    assert UploadBatch.objects.get(pk=result.batch.pk).failed == 1


def test_sweeper_re_enqueues_designs_a_dead_worker_left_behind(user, django_capture_on_commit_callbacks,
                                                               tasks_inline):
    result, _ = upload(user, [upload_file("a.png", png(9))], django_capture_on_commit_callbacks)
    design = result.accepted[0].design
    later = timezone.now() + timezone.timedelta(minutes=10)
    Design.objects.filter(pk=design.pk).update(status="processing", attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.design_sweep_stale(now=later) == 1
    assert services.design_sweep_stale(now=later) == 0  # touched: not re-enqueued again at once
    design.refresh_from_db()
    assert design.status == "ready" and design.attempts == 2


def test_a_design_that_keeps_killing_workers_is_given_up(user, django_capture_on_commit_callbacks):
    result, _ = upload(user, [upload_file("a.png", png(11))], django_capture_on_commit_callbacks)
    design = result.accepted[0].design
    Design.objects.filter(pk=design.pk).update(status="processing", attempts=services.MAX_PROCESSING_ATTEMPTS)
    services.design_process(design_id=design.pk)
    design.refresh_from_db()
    assert design.status == "failed" and "failed 3 times" in design.error


def test_a_stale_claim_does_not_overwrite_or_double_count(user, django_capture_on_commit_callbacks):
    result, _ = upload(user, [upload_file("a.png", png(12))], django_capture_on_commit_callbacks)
    design = Design.objects.get(pk=result.accepted[0].design.pk)
    Design.objects.filter(pk=design.pk).update(status="processing", attempts=1)
    design.refresh_from_db()
    Design.objects.filter(pk=design.pk).update(attempts=2)  # a second worker took over
    assert services._finish(design, now=timezone.now(), status="ready") is None
    assert UploadBatch.objects.get(pk=result.batch.pk).processed == 0


def test_a_near_copy_links_to_the_original_not_to_another_copy(user, django_capture_on_commit_callbacks):
    base = design_image(77, size=(1200, 900))
    first, _ = upload(user, [upload_file("original.png", encode(base, "PNG"))], django_capture_on_commit_callbacks)
    process_all(first.batch)
    original = first.accepted[0].design
    copies, _ = upload(user, [upload_file("copy.png", encode(base, "PNG"))], django_capture_on_commit_callbacks)
    assert copies.accepted[0].design.duplicate_of_id == original.pk
    resized, _ = upload(user, [upload_file("smaller.png", encode(base.resize((600, 450)), "PNG"))],
                        django_capture_on_commit_callbacks)
    process_all(resized.batch)
    near = Design.objects.get(pk=resized.accepted[0].design.pk)
    assert near.status == "duplicate" and near.duplicate_of_id == original.pk


def test_colourways_and_blanks_of_other_colours_are_designs_of_their_own(user, django_capture_on_commit_callbacks):
    from PIL import Image

    artwork = design_image(42, size=(1200, 900))
    red, green, blue, alpha = artwork.split()
    files = {
        "artwork.png": encode(artwork),
        "artwork-blue-for-red.png": encode(Image.merge("RGBA", (blue, green, red, alpha))),
        "blank-red.png": encode(Image.new("RGB", (800, 800), (200, 30, 30))),
        "blank-navy.png": encode(Image.new("RGB", (800, 800), (20, 30, 110))),
    }
    first, _ = upload(user, [upload_file(name, data) for name, data in files.items()],
                      django_capture_on_commit_callbacks)
    process_all(first.batch)
    copies, _ = upload(user, [upload_file("artwork-again.jpg", encode(artwork, "JPEG", quality=80)),
                              upload_file("blank-red-again.jpg", encode(Image.new("RGB", (400, 400), (201, 31, 29)),
                                                                       "JPEG"))],
                       django_capture_on_commit_callbacks)
    process_all(copies.batch)

    status = {design.original_name: design for design in Design.objects.filter(owner=user)}
    assert {name: status[name].status for name in files} == dict.fromkeys(files, "ready")
    assert status["artwork-again.jpg"].status == "duplicate"
    assert status["artwork-again.jpg"].duplicate_of_id == status["artwork.png"].pk
    assert status["blank-red-again.jpg"].duplicate_of_id == status["blank-red.png"].pk
