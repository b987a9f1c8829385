"""JSON API for mockups and garment templates (contract: shared/DESIGN.md)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from core.api import api_view, json_body
from mockups import services
from mockups.models import (
    GarmentTemplate,
    Mockup,
    mockup_image_url,
    mockup_status_url,
    template_photo_url,
    template_preview_url,
)


@api_view("POST")
def mockup_create(request, design_id):
    body = json_body(request)
    mockup = services.mockup_request(owner=request.user, design_id=design_id, template_id=body.get("template"))
    return JsonResponse({"id": str(mockup.pk), "status_url": mockup_status_url(mockup)}, status=202)


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
