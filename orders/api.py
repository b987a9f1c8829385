"""JSON API for products and orders (contract: shared/DESIGN.md)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from core import ratelimit
from core.api import ApiError, api_view, error_response, json_body
from designs.models import thumbnail_url
from orders import services
from orders import stats as order_stats
from orders.models import Order, Product
from orders.payments import provider_for


@api_view("GET", login_required=False)
def product_list(request):
    products = Product.objects.filter(active=True).only("id", "name", "price", "sizes", "colors")
    return JsonResponse(
        [{"id": str(product.pk), "name": product.name, "price": str(product.price),
          "sizes": product.size_list, "colors": product.color_list} for product in products],
        safe=False,
    )


def _period(seconds):
    """10 minutes, an hour, a day: a window as a customer reads it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def _check_order_rate(limit, identity, what):
    """Count one order attempt for `identity`: a 429 with Retry-After past the limit."""
    wait = limit.hit(identity)
    if wait:
        raise ApiError(f"Too many orders {what}: at most {limit.limit} per {_period(limit.window_s)}. "
                       f"Try again in {wait} seconds.", status=429, details={"retry_after": wait},
                       headers={"Retry-After": str(wait)})


@api_view("POST")
def order_create(request):
    """Every order is mailed to the account's own address; attempts are limited per user and per address."""
    _check_order_rate(ratelimit.ORDER_REQUESTS, ratelimit.order_identity(request.user), "from your account")
    body = json_body(request)
    email = services.order_contact_email(user=request.user, requested=body.get("email"))
    _check_order_rate(ratelimit.ORDER_MAILS, ratelimit.mail_identity(email), "to this e-mail address")
    order = services.order_create(email=email, name=body.get("name"), items=body.get("items"), user=request.user,
                                  shipping_address=body.get("shipping_address"), note=body.get("note") or "",
                                  save_address=body.get("save_address") is True)
    return JsonResponse(
        {"id": str(order.pk), "number": order.display_number, "status": order.status,
         "url": order.get_absolute_url()},
        status=201,
    )


def order_document(order):
    return {
        "id": str(order.pk),
        "number": order.display_number,
        "status": order.status,
        "email": order.email,
        "name": order.name,
        "total": str(order.total),
        "created_at": order.created_at.isoformat(),
        "payment_status": order.payment_status,
        "payment": provider_for(order).instructions(order),
        "shipping_address": order.shipping_address,
        "note": order.note,
        "tracking_url": order.tracking_url,
        "items": [
            {"product": str(item.product_id), "product_name": item.product.name, "design": str(item.design_id),
             "thumbnail_url": thumbnail_url(item.design.sha256) if item.design.has_thumbnail else None,
             "size": item.size, "color": item.color, "quantity": item.quantity, "unit_price": str(item.unit_price),
             "line_total": str(item.line_total)}
            for item in order.items.all()
        ],
        "events": [
            {"kind": event.kind, "message": event.message, "created_at": event.created_at.isoformat()}
            for event in order.events.all()
        ],
    }


@api_view("GET")
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.visible_to(request.user).for_detail(), pk=order_id)
    return JsonResponse(order_document(order))


@api_view("GET")
def stats(request):
    if not order_stats.may_see_dashboard(request.user):
        return error_response("Staff with permission to view orders and designs only.", status=403,
                              details={"permissions": list(order_stats.DASHBOARD_PERMISSIONS)})
    return JsonResponse(order_stats.dashboard())
