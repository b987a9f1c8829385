"""Read-side helpers for mockups shared by the pages, the admin and the API: the URLs of their images."""

from django.urls import reverse

from mockups.models import MOCKUP_PREVIEW_SIDE, TEMPLATE_PREVIEW_SIDE, Mockup


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


def status_url(mockup):
    return reverse("mockups_api:mockup_status", kwargs={"mockup_id": mockup.pk})
