"""Order creation and its confirmation mail. Status changes are in transitions.py, payments in payments.py."""

import uuid
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.text import text_problem
from designs.models import Design
from orders.addresses import address_clean, address_save
from orders.emails import mail_queue
from orders.errors import OrderError
from orders.models import Order, OrderEvent, OrderItem, OrderNumber, Product
from orders.stats import stats_record

MAX_ITEMS = 50  # lines per order
MAX_QUANTITY = 5000  # garments per line: more is a phone call, not a web order

__all__ = ["OrderError", "order_contact_email", "order_create"]


@dataclass
class LineRequest:
    product: object
    design: object
    size: str
    color: str
    quantity: object


def _parse_quantity(value):
    if isinstance(value, bool):
        return None
    try:
        quantity = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's 1e999 parses to an infinite float
        return None
    return quantity if str(quantity) == str(value).strip() else None


def order_contact_email(*, user, requested=None):
    """The address an order `user` places is mailed at: their account's, the only one they are known to read.

    `requested` (the API's optional "email") may repeat it, in any case; another address is an OrderError, as is an
    account without one (add it on the account page first). Nobody can have our order mail sent to someone else.
    """
    account = (user.email or "").strip()
    if not account:
        raise OrderError("Add an e-mail address to your account before ordering: order mail is sent there.",
                         details={"email": "Your account has no e-mail address."})
    if requested is None or requested == "":
        return account
    if not isinstance(requested, str) or requested.strip().casefold() != account.casefold():
        raise OrderError("Order mail goes to your account's e-mail address: leave out 'email' or send that one "
                         "(to use another, change it on your account page).",
                         details={"email": "Not your account's e-mail address."})
    return account


def order_create(*, email, name, items, user=None, shipping_address=None, note="", save_address=False, now=None):
    """Create an order with its items, its first event and its confirmation mail, in one transaction.

    `items` are dicts with product, design, size, color and quantity (ids as strings). `shipping_address` is a dict
    of DESIGN.md's fields or None (the order then waits for one before production); `save_address` keeps it for
    the customer's next order. Raises OrderError with a per-line explanation when anything is off; nothing is
    written then.
    """
    now = now or timezone.now()
    errors = {}
    address = None
    if shipping_address is not None:
        try:
            address = address_clean(shipping_address, error=OrderError)
        except OrderError as problem:
            errors.update(problem.details)
    if not isinstance(note, str) or len(note) > Order._meta.get_field("note").max_length:
        errors["note"] = "The note must be text of at most 2000 characters."
    # JSON may hold any type here: anything but a string is simply not a valid value.
    email = email.strip() if isinstance(email, str) else ""
    name = name.strip() if isinstance(name, str) else ""
    if text_problem(email):
        email = ""  # refused below as not an address
    try:
        validate_email(email)
        if len(email) > Order._meta.get_field("email").max_length:  # the validator allows 320 characters
            raise ValidationError("too long")
    except ValidationError:
        errors["email"] = "Enter a valid email address."
    if text_problem(name):
        errors["name"] = f"The name {text_problem(name)}."
    elif not name:
        errors["name"] = "Enter the name for the order."
    elif len(name) > 120:
        errors["name"] = "The name is longer than 120 characters."
    if not isinstance(items, list) or not items:
        errors["items"] = "Add at least one item."
        raise OrderError("The order is not valid.", details=errors)
    if len(items) > MAX_ITEMS:
        raise OrderError(f"An order holds at most {MAX_ITEMS} items.", details={"items": "too many"})

    lines = [LineRequest(**{key: (item or {}).get(key) for key in ("product", "design", "size", "color",
                                                                   "quantity")}) if isinstance(item, dict)
             else None for item in items]
    products = Product.objects.filter(active=True).in_bulk(
        [str(line.product) for line in lines if line and _is_uuid(line.product)]
    )
    designs = {}
    if user is not None:
        designs = Design.objects.filter(owner=user).in_bulk(
            [str(line.design) for line in lines if line and _is_uuid(line.design)]
        )
    item_errors = {}
    rows = []
    for index, line in enumerate(lines):
        if line is None:
            item_errors[index] = "Each item must be an object."
            continue
        product = products.get(_uuid_or_none(line.product))
        design = designs.get(_uuid_or_none(line.design))
        quantity = _parse_quantity(line.quantity)
        if product is None:
            item_errors[index] = "Unknown product."
        elif design is None:
            item_errors[index] = "Unknown design: choose one from your library."
        elif design.status == Design.Status.FAILED:
            item_errors[index] = "This design could not be processed; upload it again."
        elif line.size not in product.size_list:
            item_errors[index] = f"Size must be one of {', '.join(product.size_list)}."
        elif line.color not in product.color_list:
            item_errors[index] = f"Colour must be one of {', '.join(product.color_list)}."
        elif quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            item_errors[index] = f"Quantity must be a whole number from 1 to {MAX_QUANTITY}."
        else:
            rows.append(OrderItem(product=product, design=design, size=line.size, color=line.color,
                                  quantity=quantity, unit_price=product.price))
    if item_errors:
        errors["items"] = item_errors
    if errors:
        raise OrderError("The order is not valid.", details=errors)

    total = sum((row.unit_price * row.quantity for row in rows), Decimal("0.00"))
    with transaction.atomic():
        order = Order.objects.create(
            number=_next_order_number(), customer=user, email=email, name=name, total=total,
            item_count=len(rows), shipping_address=address, note=note.strip(), created_at=now, updated_at=now,
        )
        for row in rows:
            row.order = order
        OrderItem.objects.bulk_create(rows)
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CREATED, message="Order received", created_at=now)
        stats_record(day=_utc_day(order.created_at), status=order.status, orders=1, revenue=order.total)
        if address and save_address and user is not None:
            address_save(customer=user, address=address, now=now)
        mail_queue(order=order, kind="confirmation", now=now)
    return order


def _utc_day(moment):
    """The day an order counts for in the statistics: its UTC creation date, as `stats_rebuild` computes it."""
    return moment.astimezone(UTC).date()


def _is_uuid(value):
    return _uuid_or_none(value) is not None


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _next_order_number():
    """The next order number, under the counter row's lock (call inside a transaction)."""
    counter, _ = OrderNumber.objects.select_for_update().get_or_create(pk=1)
    OrderNumber.objects.filter(pk=1).update(last=F("last") + 1)
    return counter.last + 1
