"""JSON API for mockups and garment templates (contract: shared/DESIGN.md)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from mockups import services
from mockups.models import MOCKUP_PREVIEW_SIDE, TEMPLATE_PREVIEW_SIDE, GarmentTemplate, Mockup
from project.api import api_view, json_body


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


@api_view("POST")
def mockup_create(request, design_id):
    body = json_body(request)
    mockup = services.mockup_request(owner=request.user, design_id=design_id, template_id=body.get("template"))
    return JsonResponse({"id": str(mockup.pk), "status_url": status_url(mockup)}, status=202)


@api_view("GET")
def mockup_status(request, mockup_id):
    mockup = get_object_or_404(
        Mockup.objects.visible_to(request.user).only("id", "owner_id", "status", "error", "image_key"), pk=mockup_id
    )
    return JsonResponse({"status": mockup.status, "image_url": mockup_image_url(mockup), "error": mockup.error or None})


@api_view("GET")
def template_list(request):
    return JsonResponse(
        [
            {
                "id": str(template.pk),
                "name": template.name,
                "preview_url": template_preview_url(template),
                "photo_url": template_photo_url(template),
                "width": template.photo_width,
                "height": template.photo_height,
                "print_area": template.area._asdict(),
            }
            for template in GarmentTemplate.objects.for_picker()
        ],
        safe=False,
    )
