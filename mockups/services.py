"""Every write to garment templates and mockups goes through here."""

import io
import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from core.access import staff_may
from core.api import ApiError
from core.storage import store
from core.tasks import enqueue, enqueue_each, reenqueue_stale
from designs.models import THUMBNAIL_SIZES, Design, thumbnail_key
from designs.services import sha256_of
from imaging import compositing, inspection, processing
from mockups.models import (
    MOCKUP_PREVIEW_SIDE,
    TEMPLATE_PREVIEW_SIDE,
    GarmentTemplate,
    Mockup,
    mockup_digest,
    mockup_key,
    mockup_preview_key,
    template_photo_key,
    template_preview_key,
)

logger = logging.getLogger(__name__)

MAX_RENDER_ATTEMPTS = 3  # a render that kills its worker this often is given up on, not retried forever
TEMPLATE_MAX_BYTES = 20 * 1024 * 1024  # a product photo; print files go to designs, not here
TEMPLATE_MAX_PIXELS = 12_000_000  # px: every render decodes the photo and draws on a copy: 2 x 36 MB of RGB
REQUEUE_BATCH = 500  # mockups re-enqueued per query when a template changes
# The design is drawn from its largest stored thumbnail, never from the original: a print area is a few hundred
# px wide, and rendering from a 4500x5400 original took ~1.2 s of CPU and ~210 MB peak against ~0.1 s and
# ~30 MB from the thumbnail, 11x (measured, bench/mockups.py).
DESIGN_SOURCE_SIZE = max(THUMBNAIL_SIZES)  # px


class MockupError(ApiError):
    """An expected failure in the mockups domain, with text a customer (or staff member) can act on."""


MESSAGES = {
    "design_not_found": "No such design.",
    "not_allowed": "You may see this design but not make mockups of other customers' designs.",
    "template_required": "Choose a garment template (field 'template').",
    "template_unknown": "No such garment template.",
    "design_pending": "The design is still being processed; try again in a moment.",
    "design_failed": "This design could not be processed, so it cannot be shown on a garment.",
    "bad_area": "The print area does not fit the photo.",
    "bad_photo": "The photo cannot be used: {reason}",
    "rotated": "it is stored sideways with an EXIF orientation; export it upright and upload it again.",
    "source_missing": "The {what} is missing from storage; the mockup cannot be made.",
    "source_damaged": "The {what} could not be read; the mockup cannot be made.",
    "gave_up": "Rendering failed {attempts} times in a row.",
}


def inspect_template_photo(photo_file):
    """The ImageInfo of an acceptable garment photo, or MockupError saying why it is refused (no pixel decode).

    Refused: anything but a PNG, JPEG or WebP within the size limits, and photos stored sideways with an EXIF
    orientation: browsers show those turned upright, so a print area measured on the screen would be misplaced.
    """
    try:
        info = inspection.inspect_upload(photo_file, max_bytes=TEMPLATE_MAX_BYTES, max_pixels=TEMPLATE_MAX_PIXELS)
        with Image.open(photo_file, formats=[info.format]) as photo:
            orientation = photo.getexif().get(processing.EXIF_ORIENTATION, 1)
    except inspection.ImageRejected as refusal:
        raise MockupError(MESSAGES["bad_photo"].format(reason=refusal), details={"photo": [str(refusal)]}) from None
    except (OSError, ValueError, SyntaxError):
        orientation = 1  # a damaged EXIF block; the pixels are checked when the preview is made
    finally:
        photo_file.seek(0)
    if orientation in processing.ORIENTATION_TRANSPOSE:
        reason = MESSAGES["rotated"]
        raise MockupError(MESSAGES["bad_photo"].format(reason=reason), details={"photo": [reason]})
    return info


def template_create(*, name, photo_file, area_x, area_y, area_width, area_height, shading=True, active=True,
                    now=None):
    """Check and store a garment photo under its content-addressed key, and create its template.

    The photo must pass `inspect_template_photo`; the print area must lie inside it and be at least MIN_AREA_SIDE
    px each way. Raises MockupError (details: the problems found).
    """
    info = inspect_template_photo(photo_file)
    area = compositing.PrintArea(area_x, area_y, area_width, area_height)
    _check_area(area, info.width, info.height)
    sha = sha256_of(photo_file)
    try:
        with Image.open(photo_file, formats=[info.format]) as photo:
            preview = compositing.fit_within(photo.convert("RGB"), TEMPLATE_PREVIEW_SIDE)
    except (OSError, ValueError, SyntaxError) as error:
        raise MockupError(MESSAGES["bad_photo"].format(reason="the image data is damaged.")) from error
    photo_file.seek(0)
    # Content-addressed: storing the same photo twice writes the same bytes to the same keys.
    store(template_photo_key(sha, info.format), photo_file)
    store(template_preview_key(sha), ContentFile(compositing.encode_webp(preview)))
    return GarmentTemplate.objects.create(
        name=name, photo_sha256=sha, photo_format=info.format, photo_width=info.width, photo_height=info.height,
        area_x=area.x, area_y=area.y, area_width=area.width, area_height=area.height, shading=shading,
        active=active, created_at=now or timezone.now(),
    )


def template_update(*, template, name, area_x, area_y, area_width, area_height, shading, active, now=None):
    """Change a template; if its print area or shading changed, render its mockups again (returns the template).

    Re-rendered mockups get new content-addressed keys, so no cache keeps showing the old picture.
    """
    area = compositing.PrintArea(area_x, area_y, area_width, area_height)
    _check_area(area, template.photo_width, template.photo_height)
    now = now or timezone.now()
    with transaction.atomic():
        before = GarmentTemplate.objects.select_for_update().get(pk=template.pk)
        looks_different = before.area != area or before.shading != shading
        GarmentTemplate.objects.filter(pk=template.pk).update(
            name=name, area_x=area.x, area_y=area.y, area_width=area.width, area_height=area.height,
            shading=shading, active=active,
        )
        if looks_different:
            Mockup.objects.filter(template=template).update(
                status=Mockup.Status.QUEUED, attempts=0, error="", updated_at=now
            )
            from mockups.tasks import requeue_template_mockups

            # One task, not one per mockup: a popular template may have thousands, too many for this request.
            enqueue(requeue_template_mockups, str(template.pk), group="mockups")
    template.refresh_from_db()
    return template


def _check_area(area, photo_width, photo_height):
    problems = compositing.area_problems(area, photo_width, photo_height)
    if problems:
        raise MockupError(" ".join(problems), details={"area": problems})


def mockup_requeue_template(*, template_id):
    """Enqueue a render for each of the template's queued mockups; returns how many."""
    from mockups.tasks import render_mockup

    ids = Mockup.objects.filter(template_id=template_id, status=Mockup.Status.QUEUED).values_list("pk", flat=True)
    return enqueue_each(render_mockup, ids.iterator(chunk_size=REQUEUE_BATCH), group="mockups")


def mockup_request(*, owner, design_id, template_id, now=None):
    """The mockup of this design on this template, queued for rendering if it is new (or failed before).

    `owner` is the user asking: the design must be theirs, or staff may view it and add mockups; the mockup
    belongs to the design's owner. The same design and template are never rendered twice: a second request
    returns the same row. Raises MockupError: 404 for a design the user cannot see, 403 for another's design
    without mockups.add_mockup, 400 for an unknown template, 409 for a design that has no processed picture.
    """
    now = now or timezone.now()
    design = (
        Design.objects.visible_to(owner).only("id", "owner_id", "status", "has_thumbnail").filter(pk=design_id).first()
    )
    if design is None:
        raise MockupError(MESSAGES["design_not_found"], status=404)
    # Rendering writes a new Mockup row for the design's owner and leaves the design as it is: adding mockups,
    # not changing designs, is what a staff member does here.
    if design.owner_id != owner.pk and not staff_may(owner, "mockups.add_mockup"):
        raise MockupError(MESSAGES["not_allowed"], status=403)
    if template_id is None or template_id == "":
        raise MockupError(MESSAGES["template_required"], details={"template": "required"})
    try:
        template_pk = uuid.UUID(str(template_id))
    except ValueError:
        template_pk = None
    template = GarmentTemplate.objects.filter(pk=template_pk, active=True).only("id").first() if template_pk else None
    if template is None:
        raise MockupError(MESSAGES["template_unknown"], details={"template": str(template_id)[:100]})
    if not design.has_thumbnail:
        failed = design.status == Design.Status.FAILED
        raise MockupError(MESSAGES["design_failed" if failed else "design_pending"], status=409,
                          details={"design_status": design.status})

    from mockups.tasks import render_mockup

    with transaction.atomic():
        mockup, created = Mockup.objects.get_or_create(
            design_id=design.pk, template_id=template.pk,
            defaults={"owner_id": design.owner_id, "created_at": now, "updated_at": now},
        )
        if not created and mockup.status == Mockup.Status.FAILED:
            # Only the request that flips it back to queued enqueues: concurrent retries render once.
            created = Mockup.objects.filter(pk=mockup.pk, status=Mockup.Status.FAILED).update(
                status=Mockup.Status.QUEUED, attempts=0, error="", updated_at=now
            )
            mockup.refresh_from_db()
        if created:
            enqueue(render_mockup, str(mockup.pk), group="mockups")
    return mockup


def mockup_render(*, mockup_id, now=None):
    """Render one mockup from the design's largest thumbnail and the template photo; store it; record the result.

    Idempotent and safe against a second worker: the row is claimed with an attempt number, and only the claim
    that is still current may write the result. Images go under content-addressed keys, so two renders of the
    same mockup write the same bytes to the same place.
    """
    now = now or timezone.now()
    claim = uuid.uuid4()
    claimable = Mockup.objects.filter(pk=mockup_id, status__in=[Mockup.Status.QUEUED, Mockup.Status.PROCESSING])
    if not claimable.update(status=Mockup.Status.PROCESSING, attempts=F("attempts") + 1, claim=claim, updated_at=now):
        return None  # already finished (or gone): nothing to do
    mockup = Mockup.objects.select_related("design", "template").get(pk=mockup_id)
    if mockup.attempts > MAX_RENDER_ATTEMPTS:
        return _finish(mockup, claim, now=now, status=Mockup.Status.FAILED,
                       error=MESSAGES["gave_up"].format(attempts=MAX_RENDER_ATTEMPTS))
    design, template = mockup.design, mockup.template
    try:
        design_image = _open_image(thumbnail_key(design.sha256, DESIGN_SOURCE_SIZE), "design preview")
        photo = _open_image(template.photo_key, "garment photo")
    except MockupError as error:
        return _finish(mockup, claim, now=now, status=Mockup.Status.FAILED, error=error.message)

    rendered = compositing.render_mockup(photo, design_image, template.area, shading=template.shading)
    digest = mockup_digest(design.sha256, template)
    store(mockup_key(digest), ContentFile(compositing.encode_webp(rendered)))
    store(mockup_preview_key(digest),
          ContentFile(compositing.encode_webp(compositing.fit_within(rendered, MOCKUP_PREVIEW_SIDE))))
    return _finish(mockup, claim, now=now, status=Mockup.Status.READY, error="", image_key=mockup_key(digest),
                   image_width=rendered.width, image_height=rendered.height)


def _open_image(key, what):
    """Decode the image stored under `key`, or MockupError saying that `what` is missing or damaged."""
    try:
        with default_storage.open(key, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise MockupError(MESSAGES["source_missing"].format(what=what)) from None
    try:
        image = Image.open(io.BytesIO(data), formats=list(inspection.ACCEPTED_FORMATS))
        image.load()
        return image
    except (OSError, ValueError, SyntaxError) as error:
        logger.warning("could not decode %s: %s", key, error)
        raise MockupError(MESSAGES["source_damaged"].format(what=what)) from None


def _finish(mockup, claim, *, now, status, **fields):
    """Write the final state if this worker's claim is still current; returns the mockup, or None if it was not."""
    updated = Mockup.objects.filter(pk=mockup.pk, status=Mockup.Status.PROCESSING, claim=claim).update(
        status=status, updated_at=now, **fields
    )
    if not updated:
        return None  # another worker took the mockup over, or its template changed: not ours to write
    mockup.refresh_from_db()
    return mockup


def mockup_sweep_stale(*, now=None):
    """Re-enqueue mockups a dead worker (or a lost broker message) left queued or processing; returns how many."""
    now = now or timezone.now()
    from mockups.tasks import render_mockup

    before = now - timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S)
    return reenqueue_stale(Mockup.objects.stale(before=before), render_mockup, now=now, group="mockups")
