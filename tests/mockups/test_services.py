"""Template and mockup services against the real database and storage (local files)."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageChops

from designs.models import Design
from imaging import compositing
from mockups import services
from mockups.models import GarmentTemplate, Mockup
from tests.mockups.conftest import AREA, PHOTO_SIZE, garment_photo, make_template, processed_design

pytestmark = pytest.mark.django_db


def request(user, design, template, callbacks_capture):
    with callbacks_capture(execute=False) as callbacks:
        mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    return mockup, callbacks


def test_a_template_stores_its_photo_under_a_content_addressed_key_with_its_size(template):
    assert re.fullmatch(r"templates/[0-9a-f]{64}\.png", template.photo_key)
    assert default_storage.exists(template.photo_key) and default_storage.exists(template.preview_key)
    assert (template.photo_width, template.photo_height) == PHOTO_SIZE
    assert template.area == AREA
    again = make_template(name="Same photo")
    assert again.photo_key == template.photo_key


@pytest.mark.parametrize(
    ("area", "message"),
    [((250, 80, 100, 100), "inside the photo"), ((60, 80, 19, 200), "at least 20×20"), ((0, 0, 300, 361), "inside")],
)
def test_a_print_area_outside_the_photo_or_too_small_is_refused(area, message):
    with pytest.raises(services.MockupError) as refusal:
        make_template(area=area)
    assert message in refusal.value.message and refusal.value.status == 400
    assert refusal.value.details["area"]
    assert not GarmentTemplate.objects.exists()


def test_model_validation_checks_the_print_area_too(template):
    template.area_width = 241  # 60 + 241 > 300
    with pytest.raises(ValidationError, match="inside the photo"):
        template.full_clean()
    template.area_width = 10
    with pytest.raises(ValidationError, match="at least 20"):
        template.full_clean()


def test_a_photo_that_is_not_an_image_is_refused():
    with pytest.raises(services.MockupError, match="PNG, JPEG or WebP"):
        services.template_create(name="x", photo_file=ContentFile(b"<html></html>", name="x.png"), area_x=0,
                                 area_y=0, area_width=50, area_height=50)


def test_a_photo_stored_sideways_is_refused_since_browsers_would_show_it_turned():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    buffer = io.BytesIO()
    garment_photo().save(buffer, "JPEG", exif=exif)
    with pytest.raises(services.MockupError, match="export it upright"):
        services.template_create(name="x", photo_file=ContentFile(buffer.getvalue(), name="x.jpg"), area_x=0,
                                 area_y=0, area_width=50, area_height=50)
    assert not GarmentTemplate.objects.exists()


def test_two_requests_make_one_mockup_and_one_render(user, design, template, django_capture_on_commit_callbacks):
    first, callbacks = request(user, design, template, django_capture_on_commit_callbacks)
    second, more = request(user, design, template, django_capture_on_commit_callbacks)
    assert first.pk == second.pk and Mockup.objects.count() == 1
    assert len(callbacks) == 1 and more == []
    assert services.mockup_render(mockup_id=first.pk).status == "ready"
    assert services.mockup_render(mockup_id=first.pk) is None  # a second delivery of the task changes nothing
    third, again = request(user, design, template, django_capture_on_commit_callbacks)
    assert third.pk == first.pk and third.status == "ready" and again == []


def test_rendering_uses_the_stored_thumbnail_never_the_original(user, design, template):
    mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    default_storage.delete(design.original_key)  # a render that needed the 50 MB original would fail now
    mockup = services.mockup_render(mockup_id=mockup.pk)
    assert mockup.status == "ready" and mockup.error == "" and mockup.attempts == 1
    assert re.fullmatch(r"mockups/[0-9a-f]{64}\.webp", mockup.image_key)
    with default_storage.open(mockup.image_key, "rb") as handle, Image.open(handle) as image:
        assert image.format == "WEBP" and image.size == PHOTO_SIZE == (mockup.image_width, mockup.image_height)
        difference = ImageChops.difference(image.convert("L"), garment_photo().convert("L"))
    changed = difference.point(lambda v: 255 * (v > 48))
    x, y, w, h = compositing.fit_in_area(design.width, design.height, AREA)
    left, top, right, bottom = changed.getbbox()  # where the design was printed (WebP noise aside)
    assert x <= left and y <= top and right <= x + w and bottom <= y + h
    assert (right - left) * (bottom - top) > w * h / 2


def test_the_same_design_and_template_get_the_same_key_and_a_changed_template_a_new_one(user, design, template):
    mockup = services.mockup_render(
        mockup_id=services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk).pk
    )
    key = mockup.image_key
    services.template_update(template=template, name="Renamed", area_x=60, area_y=80, area_width=180,
                             area_height=200, shading=True, active=True)
    assert Mockup.objects.get(pk=mockup.pk).status == "ready"  # a new name does not change the picture
    services.template_update(template=template, name="Renamed", area_x=40, area_y=80, area_width=180,
                             area_height=200, shading=True, active=True)
    mockup.refresh_from_db()
    assert mockup.status == "queued" and mockup.attempts == 0
    assert services.mockup_requeue_template(template_id=template.pk) == 1
    assert services.mockup_render(mockup_id=mockup.pk).image_key not in ("", key)


def test_a_design_not_processed_yet_or_failed_gets_a_clear_409(user, template):
    design = processed_design(user)
    Design.objects.filter(pk=design.pk).update(status="processing", has_thumbnail=False)
    with pytest.raises(services.MockupError, match="still being processed") as pending:
        services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    assert pending.value.status == 409
    Design.objects.filter(pk=design.pk).update(status="failed")
    with pytest.raises(services.MockupError, match="could not be processed"):
        services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    assert not Mockup.objects.exists()


def test_another_users_design_is_not_found_and_an_unknown_template_is_a_400(user, other_user, design, template):
    with pytest.raises(services.MockupError) as foreign:
        services.mockup_request(owner=other_user, design_id=design.pk, template_id=template.pk)
    assert foreign.value.status == 404
    GarmentTemplate.objects.filter(pk=template.pk).update(active=False)
    for template_id in (template.pk, "not-a-uuid", None, ["x"]):
        with pytest.raises(services.MockupError) as unknown:
            services.mockup_request(owner=user, design_id=design.pk, template_id=template_id)
        assert unknown.value.status == 400
    assert not Mockup.objects.exists()


def test_staff_may_ask_for_a_customers_design_and_the_mockup_stays_the_customers(user, staff_user, design, template):
    mockup = services.mockup_request(owner=staff_user, design_id=design.pk, template_id=template.pk)
    assert mockup.owner_id == user.pk


def test_a_missing_thumbnail_fails_the_mockup_with_a_message(user, design, template):
    mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    default_storage.delete(design.thumbnail_key(640))
    mockup = services.mockup_render(mockup_id=mockup.pk)
    assert mockup.status == "failed" and "design preview is missing" in mockup.error


def test_a_failed_mockup_is_queued_again_when_asked_again(user, design, template, django_capture_on_commit_callbacks):
    mockup, _ = request(user, design, template, django_capture_on_commit_callbacks)
    Mockup.objects.filter(pk=mockup.pk).update(status="failed", error="boom", attempts=3)
    again, callbacks = request(user, design, template, django_capture_on_commit_callbacks)
    assert again.pk == mockup.pk and (again.status, again.error, again.attempts) == ("queued", "", 0)
    assert len(callbacks) == 1
    assert services.mockup_render(mockup_id=mockup.pk).status == "ready"


def test_a_render_that_keeps_killing_its_worker_is_given_up(user, design, template):
    mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    Mockup.objects.filter(pk=mockup.pk).update(status="processing", attempts=services.MAX_RENDER_ATTEMPTS)
    mockup = services.mockup_render(mockup_id=mockup.pk)
    assert mockup.status == "failed" and "3 times" in mockup.error


def test_a_worker_whose_claim_was_taken_over_does_not_write(user, design, template, monkeypatch):
    mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    real_render = compositing.render_mockup
    results = []

    def render_while_another_worker_takes_over(*args, **kwargs):
        monkeypatch.setattr(compositing, "render_mockup", real_render)
        results.append(services.mockup_render(mockup_id=mockup.pk))  # the sweeper's re-delivery, say
        return real_render(*args, **kwargs)

    monkeypatch.setattr(compositing, "render_mockup", render_while_another_worker_takes_over)
    assert services.mockup_render(mockup_id=mockup.pk) is None
    assert results[0].status == "ready" and results[0].attempts == 2
    assert Mockup.objects.get(pk=mockup.pk).attempts == 2


def test_the_sweeper_re_enqueues_a_stale_job_which_then_completes(user, design, template, tasks_inline,
                                                                   django_capture_on_commit_callbacks, settings):
    mockup = services.mockup_request(owner=user, design_id=design.pk, template_id=template.pk)
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S + 5)
    # A worker claimed it and died: processing, one attempt used, untouched since.
    Mockup.objects.filter(pk=mockup.pk).update(status="processing", attempts=1, updated_at=long_ago)
    fresh = services.mockup_request(owner=user, design_id=processed_design(user, seed=2).pk, template_id=template.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mockup_sweep_stale() == 1  # the fresh one is in flight, not stale
    mockup.refresh_from_db()
    assert mockup.status == "ready" and mockup.attempts == 2 and mockup.image_key
    assert Mockup.objects.get(pk=fresh.pk).status == "queued"
    assert services.mockup_sweep_stale() == 0
