"""How customers pay: providers behind one small interface, and staff recording the money that arrived."""

import datetime
import uuid
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.access import staff_may
from orders.emails import mail_queue
from orders.errors import OrderError
from orders.models import Order, OrderEvent, Payment

PaymentStatus = Order.PaymentStatus


def rf_reference(number):
    """The ISO 11649 (RF) creditor reference of an order number: banks check its two digits, so a mistyped
    reference is refused at the customer's bank instead of arriving unmatched."""
    body = str(int(number))
    digits = "".join(str(int(char, 36)) for char in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"


def rf_is_valid(reference):
    reference = reference.replace(" ", "").upper()
    if not reference.startswith("RF") or not reference[2:].isalnum() or len(reference) > 25:
        return False
    moved = reference[4:] + reference[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


class Provider(Protocol):
    """A way to pay: what the customer is told to do, and whether staff record the money by hand."""

    code: str
    name: str
    manual: bool  # staff record payments from the order page

    def instructions(self, order) -> dict: ...


class BankTransfer:
    code = "bank_transfer"
    name = "Bank transfer"
    manual = True

    def instructions(self, order):
        return {"method": self.code, "name": self.name, "reference": rf_reference(order.number),
                "account_holder": settings.BANK_ACCOUNT_HOLDER, "iban": settings.BANK_IBAN,
                "bic": settings.BANK_BIC, "amount": str(order.total)}


PROVIDERS = {provider.code: provider for provider in (BankTransfer(),)}


def provider_for(order):
    return PROVIDERS[order.payment_method]


def _parse_amount(value):
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("100000000") or amount != amount.quantize(
            Decimal("0.01")):
        return None
    return amount


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _parse_day(value, today):
    if isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            return None
    return day if day <= today else None


def payment_record(*, order, amount, received_on, by, note="", request_key=None, now=None):
    """Record money received for `order` (staff only); the order becomes paid once its total is covered, with the
    customer's mail in the same transaction. Raises OrderError for bad input or an order that cannot take it.

    `request_key` (a UUID from the form) makes a repeated submit return the payment it already recorded.
    """
    now = now or timezone.now()
    request_key = _uuid_or_none(request_key)
    if by is None or not staff_may(by, "orders.change_order"):
        raise OrderError("Only staff who may change orders record payments.", status=403)
    problems = {}
    parsed_amount = _parse_amount(amount)
    if parsed_amount is None:
        problems["amount"] = "Enter an amount above zero with at most two decimals."
    day = _parse_day(received_on, timezone.localdate(now))
    if day is None:
        problems["received_on"] = "Enter the date the money arrived (YYYY-MM-DD), not in the future."
    note = (note or "").strip()
    if len(note) > 300:
        problems["note"] = "At most 300 characters."
    if problems:
        raise OrderError("The payment is not valid.", details=problems)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        # Under the order's lock: a concurrent twin of this request has committed by now, or not started.
        repeated = Payment.objects.filter(request_key=request_key, order=order).first() if request_key else None
        if repeated is not None:
            return repeated
        if order.payment_status == PaymentStatus.REFUNDED:
            raise OrderError("This order was refunded: no payment can be recorded on it.", status=409)
        payment = Payment.objects.create(order=order, method=order.payment_method, amount=parsed_amount,
                                         received_on=day, note=note, recorded_by=by, request_key=request_key,
                                         created_at=now)
        received = order.payments.aggregate(total=Sum("amount"))["total"]
        message = f"Payment of ${parsed_amount} received on {day.isoformat()}" + (f": {note}" if note else "")
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.PAYMENT, message=message[:300], actor=by,
                                  created_at=now)
        if order.payment_status == PaymentStatus.UNPAID and received >= order.total:
            order.payment_status = PaymentStatus.PAID
            order.updated_at = now
            order.save(update_fields=["payment_status", "updated_at"])
            OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.PAYMENT, message="Paid in full",
                                      actor=by, created_at=now)
            mail_queue(order=order, kind="paid", now=now)
    return payment


def order_release_unpaid(*, order, by, note="", now=None):
    """Let a trusted customer's order go to production before it is paid; recorded in the timeline."""
    now = now or timezone.now()
    if by is None or not staff_may(by, "orders.change_order"):
        raise OrderError("Only staff who may change orders release them unpaid.", status=403)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.release_unpaid:
            raise OrderError("This order is already released for production before payment.", status=409)
        if order.payment_status != PaymentStatus.UNPAID:
            raise OrderError("Only an unpaid order needs releasing.", status=409)
        order.release_unpaid = True
        order.updated_at = now
        order.save(update_fields=["release_unpaid", "updated_at"])
        message = f"Released for production before payment by {by.get_username()}" + (f": {note}" if note else "")
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.NOTE, message=message[:300], actor=by,
                                  created_at=now)
    return order
