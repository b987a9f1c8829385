"""JSON API for listings: publish a design to a shop, follow the listing."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from core.api import api_view, json_body
from marketplace import services
from marketplace.models import Listing


def listing_json(listing):
    return {
        "id": str(listing.pk),
        "design_id": str(listing.design_id),
        "connection_id": str(listing.connection_id),
        "status": listing.status,
        "external_id": listing.external_id or None,
        "attempts": listing.attempts,
        "last_error": listing.last_error or None,
        "next_attempt_at": listing.next_attempt_at.isoformat() if not listing.is_final else None,
        "published_at": listing.published_at.isoformat() if listing.published_at else None,
        "status_url": reverse("marketplace_api:listing_detail", kwargs={"listing_id": listing.pk}),
    }


@api_view("POST")
def listing_create(request, design_id):
    """`{"connection": "<id>"}` (optional when the user has one shop) -> 202 with the listing."""
    body = json_body(request)
    listing = services.listing_request(owner=request.user, design_id=design_id, connection_id=body.get("connection"))
    return JsonResponse(listing_json(listing), status=202)


@api_view("GET")
def listing_detail(request, listing_id):
    listing = get_object_or_404(Listing.objects.owned_by(request.user), pk=listing_id)
    return JsonResponse(listing_json(listing))
