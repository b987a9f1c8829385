"""The duplicate flag's second stage, through the real upload and processing services (issue 18)."""

import io
from pathlib import Path

import numpy as np
import pytest
import pywt.data
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from designs import selectors, services, wording
from designs.models import Design, UploadBatch
from tests.conftest import encode, upload_file

pytestmark = pytest.mark.django_db


def photo():
    """A real photograph that ships with PyWavelets (a dependency of imagehash): 512x512 grey."""
    pixels = np.load(Path(pywt.data.__file__).parent / "ascent.npz")["data"]
    return Image.fromarray(pixels).convert("RGB")


def text_logo():
    image = Image.new("RGB", (900, 900), "white")
    ImageDraw.Draw(image).text((450, 450), "THREAD\nLINE", font=ImageFont.load_default(size=170),
                               fill=(20, 40, 120), anchor="mm", align="center")
    return image


def watermarked(image, size=48):
    image = image.copy()
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), "© SAMPLE", font=font)
    draw.text((image.width - (right - left) - 20 - left, image.height - (bottom - top) - 20 - top), "© SAMPLE",
              font=font, fill="black")
    return image


def near_blank(mark):
    """A blank 1200x1400 canvas with one small mark in its top left corner."""
    image = Image.new("RGB", (1200, 1400), "white")
    draw = ImageDraw.Draw(image)
    if mark == "dot":
        draw.ellipse((80, 80, 160, 160), fill=(180, 30, 60))
    else:
        draw.rectangle((80, 108, 160, 132), fill=(180, 30, 60))
        draw.rectangle((108, 80, 132, 160), fill=(180, 30, 60))
    return image


def crop_each_side(image, fraction=0.03):
    dx, dy = round(image.width * fraction), round(image.height * fraction)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def add(owner, name, image):
    """Upload one file and process it as the worker would; the design as stored."""
    result = services.design_batch_upload(owner=owner, files=[upload_file(name, encode(image, "PNG"))])
    design = result.accepted[0].design
    services.design_process(design_id=design.pk)
    return Design.objects.get(pk=design.pk)


def test_a_photo_cropped_3_percent_on_each_side_is_flagged_as_a_cropped_copy(user):
    original = add(user, "stairs.png", photo())
    copy = add(user, "stairs-cropped.png", crop_each_side(photo()))
    assert copy.status == "duplicate" and copy.duplicate_of_id == original.pk
    assert copy.duplicate_reason == "cropped copy"
    assert copy.distance > 6  # beyond the phash-only threshold that missed it


def test_a_photo_turned_3_degrees_is_flagged_as_a_turned_copy_and_a_mirror_image_is_not(user):
    original = add(user, "stairs.png", photo())
    turned = photo().rotate(3, Image.Resampling.BICUBIC, fillcolor="white")  # straight, it correlates at 0.9
    copy = add(user, "stairs-scanned.png", turned)
    assert copy.status == "duplicate" and copy.duplicate_of_id == original.pk
    assert copy.duplicate_reason == "slightly turned copy"
    assert wording.duplicate_summary(copy.duplicate_reason, "Stairs") == "A slightly turned copy of “Stairs”"
    mirrored = add(user, "stairs-mirrored.png", photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert mirrored.status == "ready"


def test_a_logo_with_a_watermark_in_a_corner_is_flagged(user):
    original = add(user, "logo.png", text_logo())
    copy = add(user, "logo-proof.png", watermarked(text_logo()))
    assert copy.status == "duplicate" and copy.duplicate_of_id == original.pk
    assert copy.duplicate_reason == "edited copy"


def test_near_blank_designs_with_a_dot_or_a_cross_in_the_same_corner_are_different(user):
    dot = add(user, "dot.png", near_blank("dot"))
    cross = add(user, "cross.png", near_blank("cross"))
    assert cross.status == "ready" and cross.duplicate_of_id is None
    smaller = near_blank("dot").resize((600, 700), Image.Resampling.LANCZOS)
    copy = add(user, "dot-small.png", smaller)
    assert copy.status == "duplicate" and copy.duplicate_of_id == dot.pk


def test_a_colourway_is_not_a_copy(user):
    add(user, "logo.png", text_logo())
    red = Image.merge("RGB", text_logo().split()[::-1])  # the blue lettering turned red
    assert add(user, "logo-red.png", red).status == "ready"


def test_not_a_duplicate_keeps_the_design_as_its_own_and_is_remembered(user, other_user):
    original = add(user, "stairs.png", photo())
    copy = add(user, "stairs-cropped.png", crop_each_side(photo()))
    batch = UploadBatch.objects.get(pk=copy.batch_id)
    assert (batch.ready, batch.duplicates) == (0, 1)

    with pytest.raises(services.DesignError):
        services.design_mark_not_duplicate(design_id=copy.pk, owner=other_user)  # not theirs
    kept = services.design_mark_not_duplicate(design_id=copy.pk, owner=user)
    assert services.design_mark_not_duplicate(design_id=copy.pk, owner=user).pk == kept.pk  # idempotent
    copy.refresh_from_db()
    assert copy.status == "ready" and copy.duplicate_of_id is None and copy.not_duplicate_of_id == original.pk
    batch.refresh_from_db()
    assert (batch.ready, batch.duplicates, batch.processed) == (1, 0, 1)
    assert services.design_process(design_id=copy.pk) is None  # a final design is not processed again
    assert original.pk in dict(selectors.similar_designs(copy))  # still listed as similar
    with pytest.raises(services.DesignError):
        services.design_mark_not_duplicate(design_id=original.pk, owner=user)  # never was a duplicate


def test_design_page_names_the_original_and_says_the_copy_is_smaller(alice, user):
    original = add(user, "stairs.png", photo())
    copy = add(user, "stairs-small.png", photo().resize((256, 256), Image.Resampling.LANCZOS))
    page = alice.get(reverse("designs:detail", args=[copy.pk])).content.decode()
    assert "The same picture as “stairs”" in page
    assert "256 x 256, your original is 512 x 512" in page
    assert f'href="/designs/{original.pk}/"' in page and "bits" not in page

    response = alice.post(reverse("designs:not_duplicate", args=[copy.pk]), follow=True)
    page = response.content.decode()
    assert "Kept as a design of its own" in page and "you kept this as a design of its own" in page
    assert 'id="not-duplicate"' not in page
    assert alice.post(reverse("designs:not_duplicate", args=[original.pk])).status_code == 302  # told, not a 500


def test_admin_shows_a_duplicate_group_with_the_reason_for_each_link(client, user, django_user_model):
    original = add(user, "stairs.png", photo())
    cropped = add(user, "stairs-cropped.png", crop_each_side(photo()))
    smaller = add(user, "stairs-small.png", photo().resize((256, 256), Image.Resampling.LANCZOS))
    kept = add(user, "stairs-proof.png", watermarked(photo(), size=24))
    services.design_mark_not_duplicate(design_id=kept.pk, owner=user)
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-password-1"))

    page = client.get(reverse("admin:designs_design_change", args=[original.pk])).content.decode()
    assert f'<a href="../../{cropped.pk}/change/">stairs cropped</a>: cropped copy' in page
    assert f'<a href="../../{smaller.pk}/change/">stairs small</a>: same picture' in page
    assert f'<a href="../../{kept.pk}/change/">stairs proof</a>: owner said not a duplicate' in page
    listing = client.get(reverse("admin:designs_design_changelist") + "?duplicate_reason=cropped+copy")
    assert "stairs cropped" in listing.content.decode() and "(cropped copy, " in listing.content.decode()


def test_designs_processed_before_fingerprints_get_them_from_the_backfill_and_then_catch_crops(
        user, tasks_inline, django_capture_on_commit_callbacks):
    original = add(user, "stairs.png", photo())
    made = original.fingerprint
    Design.objects.filter(pk=original.pk).update(fingerprint=None)  # as a design processed before fingerprints
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("backfill_fingerprints", stdout=out)
    assert out.getvalue().startswith("Queued 1 design(s)")
    assert bytes(Design.objects.get(pk=original.pk).fingerprint) == bytes(made)
    copy = add(user, "stairs-cropped.png", crop_each_side(photo()))
    assert copy.duplicate_of_id == original.pk and copy.duplicate_reason == "cropped copy"


def test_the_fingerprint_backfill_leaves_designs_that_have_one_or_are_unfinished(user):
    original = add(user, "stairs.png", photo())
    assert not services.design_fingerprint(design_id=original.pk)
    Design.objects.filter(pk=original.pk).update(fingerprint=None, status=Design.Status.QUEUED)
    assert not services.design_fingerprint(design_id=original.pk)
    assert services.design_fingerprint_backfill() == 0
