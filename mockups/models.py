"""Garment templates (a product photo with its print area) and mockups (a design rendered onto one)."""

import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.access import staff_may
from imaging import compositing

PHOTO_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
TEMPLATE_PREVIEW_SIDE = 240  # px, longest side: picker buttons are ~110 CSS px, sharp on 2x screens
MOCKUP_PREVIEW_SIDE = 480  # px, longest side: grid tiles on the design page and the admin list


class GarmentTemplateQuerySet(models.QuerySet):
    def for_picker(self):
        """Active templates in picker order, with only what a picker button and the API show."""
        return (
            self.filter(active=True)
            .only("id", "name", "photo_sha256", "photo_format", "photo_width", "photo_height", "area_x", "area_y",
                  "area_width", "area_height")
            .order_by("name", "id")
        )


class GarmentTemplate(models.Model):
    """A garment photo and the rectangle of it that a design is printed into."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    # The photo lives in default storage at templates/<sha256>.<ext>; its size is recorded here, never read back.
    photo_sha256 = models.CharField(max_length=64, editable=False)
    photo_format = models.CharField(max_length=8, editable=False)  # PNG, JPEG or WEBP, sniffed from the content
    photo_width = models.PositiveIntegerField(editable=False)
    photo_height = models.PositiveIntegerField(editable=False)
    area_x = models.PositiveIntegerField("print area x", help_text="px from the photo's left edge")
    area_y = models.PositiveIntegerField("print area y", help_text="px from the photo's top edge")
    area_width = models.PositiveIntegerField("print area width", help_text="px")
    area_height = models.PositiveIntegerField("print area height", help_text="px")
    shading = models.BooleanField(default=True, help_text="Let the garment's folds and shadows show through the print.")
    active = models.BooleanField(default=True, help_text="Offered to customers. Deactivate rather than delete.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = GarmentTemplateQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["active", "name"], name="template_active_name")]

    def __str__(self):
        return self.name

    def clean(self):
        if not self.photo_width:
            return  # no usable photo yet: the form says so about the photo, not about the print area
        problems = compositing.area_problems(self.area, self.photo_width or 0, self.photo_height or 0)
        if problems:
            raise ValidationError(problems)

    @property
    def area(self):
        return compositing.PrintArea(self.area_x or 0, self.area_y or 0, self.area_width or 0, self.area_height or 0)

    @property
    def photo_key(self):
        return template_photo_key(self.photo_sha256, self.photo_format)

    @property
    def preview_key(self):
        return template_preview_key(self.photo_sha256)


class MockupQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Mockups this user may see: their own, or everyone's for staff with the view permission (as in the admin)."""
        return self if staff_may(user, "mockups.view_mockup") else self.filter(owner=user)

    def for_design_panel(self, design):
        """The design's mockups, oldest first, each with its template's name."""
        return (
            self.filter(design=design)
            .select_related("template")
            .only("id", "design_id", "status", "error", "image_key", "image_width", "image_height", "created_at",
                  "template__id", "template__name")
            .order_by("created_at", "id")
        )

    def for_admin_list(self):
        """The admin list: each row's design title, template name and owner in the same query."""
        return self.select_related("design", "template", "owner").only(
            "id", "status", "error", "attempts", "image_key", "image_width", "image_height", "created_at", "updated_at",
            "design__id", "design__title", "template__id", "template__name", "owner__id", "owner__username",
        )

    def stale(self, *, before):
        """Mockups left queued or processing since `before`: a worker died or the broker lost the task."""
        return self.filter(status__in=[Mockup.Status.QUEUED, Mockup.Status.PROCESSING], updated_at__lt=before)


class Mockup(models.Model):
    """One design on one garment template: rendered once, out of the request, then served forever."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (design, template) unique constraint's index starts with design.
    design = models.ForeignKey("designs.Design", on_delete=models.CASCADE, related_name="mockups", db_index=False)
    # Protected: mockups would lose their garment. Templates are deactivated instead.
    template = models.ForeignKey(GarmentTemplate, on_delete=models.PROTECT, related_name="mockups")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mockups")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # renders started since it was last queued
    # The current render's token: only the worker holding it may write the result. An attempt number alone
    # would repeat once a re-queue resets it, letting a stale worker's picture overwrite the new one.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    image_key = models.CharField(max_length=200, blank=True)  # set when ready; the row knows, storage is not asked
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MockupQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["design", "template"], name="mockup_design_template")]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="mockup_status_updated"),  # the sweeper
            # The admin list, newest first (with its pk tie-break), whole or filtered by status.
            models.Index(fields=["-created_at", "-id"], name="mockup_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="mockup_status_created"),
        ]

    def __str__(self):
        return f"Mockup {self.id} ({self.status})"

    @property
    def image_digest(self):
        """The 64 hex digits that name the rendered image, or "" before it is ready."""
        return self.image_key.removeprefix("mockups/").removesuffix(".webp")


def template_photo_key(sha256, image_format):
    """Content-addressed storage key of a template photo."""
    return f"templates/{sha256}.{PHOTO_EXTENSIONS[image_format]}"


def template_preview_key(sha256):
    return f"templates/{sha256}-{TEMPLATE_PREVIEW_SIDE}.webp"


def mockup_digest(design_sha256, template):
    """What a render of this design on this template is named by: everything that changes its pixels.

    The template's photo, print area and shading are in it, not just its id: a template edited in the admin must
    not serve its old picture from a URL that caches hold forever.
    """
    area = template.area
    source = (f"{design_sha256}|{template.pk}|{template.photo_sha256}|{area.x},{area.y},{area.width},{area.height}"
              f"|{int(template.shading)}|v{compositing.RENDER_VERSION}")
    return hashlib.sha256(source.encode()).hexdigest()


def mockup_key(digest):
    return f"mockups/{digest}.webp"


def mockup_preview_key(digest):
    return f"mockups/{digest}-{MOCKUP_PREVIEW_SIDE}.webp"


def mockup_image_url(mockup, size=None):
    """URL of a ready mockup's image (full size, or the MOCKUP_PREVIEW_SIDE preview), or None before it is ready."""
    if mockup.status != Mockup.Status.READY or not mockup.image_key:
        return None
    if size is None:
        return reverse("mockups_api:mockup_image", kwargs={"digest": mockup.image_digest})
    return reverse("mockups_api:mockup_preview", kwargs={"digest": mockup.image_digest, "size": size})


def mockup_preview_url(mockup):
    return mockup_image_url(mockup, MOCKUP_PREVIEW_SIDE)


def template_preview_url(template):
    return reverse("mockups_api:template_preview", kwargs={"sha256": template.photo_sha256,
                                                           "size": TEMPLATE_PREVIEW_SIDE})


def template_photo_url(template):
    extension = template.photo_key.rsplit(".", 1)[1]
    return reverse("mockups_api:template_photo", kwargs={"sha256": template.photo_sha256, "extension": extension})


def mockup_status_url(mockup):
    return reverse("mockups_api:mockup_status", kwargs={"mockup_id": mockup.pk})
