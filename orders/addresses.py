"""Shipping addresses: checking the `shipping_address` shape and keeping a customer's saved addresses."""

from django.db import transaction
from django.utils import timezone
from django_countries import countries

from core.api import ApiError
from orders.models import ADDRESS_FIELDS, Address

REQUIRED = ("name", "line1", "city", "postal_code", "country")
MAX_LENGTHS = {field: Address._meta.get_field(field).max_length for field in ADDRESS_FIELDS if field != "country"}
MAX_SAVED = 20  # addresses per customer: the oldest unused one goes


def address_clean(value, *, error=ApiError):
    """The address as a dict of DESIGN.md's fields (stripped strings, country upper-case ISO alpha-2), or `error`
    with a message per field."""
    if not isinstance(value, dict):
        raise error("The shipping address must be an object.", details={"shipping_address": "not an object"})
    problems, clean = {}, {}
    for field in ADDRESS_FIELDS:
        raw = value.get(field, "")
        raw = "" if raw is None else raw
        if not isinstance(raw, str):
            problems[field] = "Must be text."
            continue
        text = raw.strip()
        if field == "country":
            text = text.upper()
            if text and text not in countries:
                problems[field] = "Choose a country from the list (ISO 3166-1 alpha-2 code)."
        elif len(text) > MAX_LENGTHS[field]:
            problems[field] = f"At most {MAX_LENGTHS[field]} characters."
        if field in REQUIRED and not text:
            problems[field] = "Required."
        clean[field] = text
    if problems:
        raise error("The shipping address is not complete.", details={"shipping_address": problems})
    return clean


def address_save(*, customer, address, now=None):
    """Remember `address` (a cleaned dict) for `customer`: the same address is refreshed, not saved twice."""
    now = now or timezone.now()
    saved, created = Address.objects.get_or_create(customer=customer, **address, defaults={"used_at": now})
    if not created:
        Address.objects.filter(pk=saved.pk).update(used_at=now)
    stale = list(Address.objects.for_customer(customer).values_list("pk", flat=True)[MAX_SAVED:])
    if stale:
        Address.objects.filter(pk__in=stale).delete()
    return saved


ADDRESS_OPEN = {"received", "proofing", "revising", "approved"}  # before production, the address may still change


def order_address_set(*, order, address, by, now=None):
    """Give `order` its shipping address (an order placed through the API may come without one), as its customer
    or staff, before production starts; recorded in the timeline. Raises OrderError otherwise."""
    from core.access import staff_may
    from orders.errors import OrderError
    from orders.models import Order, OrderEvent

    now = now or timezone.now()
    clean = address_clean(address, error=OrderError)
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order.pk).first()
        if order is None or not (order.customer_id == by.pk or staff_may(by, "orders.change_order")):
            raise OrderError("This order does not exist.", status=404)
        if order.status not in ADDRESS_OPEN:
            raise OrderError(f"The address cannot change: the order is {order.get_status_display().lower()}.",
                             status=409)
        changed = order.shipping_address is not None
        order.shipping_address, order.updated_at = clean, now
        order.save(update_fields=["shipping_address", "updated_at"])
        verb = "changed" if changed else "added"
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.NOTE, actor=by, created_at=now,
                                  message=f"Shipping address {verb} by {by.get_username()}")
        if order.customer_id == by.pk:
            address_save(customer=by, address=clean, now=now)
    return order
