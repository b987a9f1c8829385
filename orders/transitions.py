"""The order workflow: which status may follow which, who may move it, what must be true first, and the one
function that makes every move."""

from datetime import UTC

from django.db import transaction
from django.utils import timezone

from core.access import staff_may
from orders.emails import mail_queue
from orders.errors import OrderError
from orders.models import Carrier, Order, OrderEvent
from orders.stats import stats_record

Status = Order.Status
PaymentStatus = Order.PaymentStatus

# The one place that says which status may follow which.
TRANSITIONS = {
    Status.RECEIVED: {Status.PROOFING, Status.APPROVED, Status.CANCELLED},
    Status.PROOFING: {Status.APPROVED, Status.REVISING, Status.CANCELLED},
    Status.REVISING: {Status.PROOFING, Status.CANCELLED},
    Status.APPROVED: {Status.IN_PRODUCTION, Status.CANCELLED},
    Status.IN_PRODUCTION: {Status.SHIPPED, Status.CANCELLED},
    Status.SHIPPED: {Status.DELIVERED},
    Status.DELIVERED: {Status.REFUNDED},
    Status.CANCELLED: {Status.REFUNDED},
    Status.REFUNDED: set(),
}
# What the customer may do on their own order; staff who may change orders may do everything.
CUSTOMER_TRANSITIONS = {(Status.PROOFING, Status.APPROVED), (Status.PROOFING, Status.REVISING)}
# Steps the customer hears about, and the mail kind (orders/emails.py) each sends.
MAIL_ON_STATUS = {
    Status.PROOFING: "proof", Status.IN_PRODUCTION: "in_production", Status.SHIPPED: "shipped",
    Status.DELIVERED: "delivered", Status.CANCELLED: "cancelled", Status.REFUNDED: "refunded",
}
ACTION_LABELS = {  # the button staff press for each target status
    Status.PROOFING: "Send proof", Status.APPROVED: "Approve", Status.REVISING: "Request changes",
    Status.IN_PRODUCTION: "Start production", Status.SHIPPED: "Mark shipped", Status.DELIVERED: "Mark delivered",
    Status.CANCELLED: "Cancel order", Status.REFUNDED: "Refund",
}


def _is_staff(user):
    return user is not None and staff_may(user, "orders.change_order")


def blockers(order, to, *, carrier=None, tracking_number="", note=""):
    """Why `order` cannot become `to` right now, apart from the workflow table: a list of sentences."""
    problems = []
    if to == Status.IN_PRODUCTION:
        if order.payment_status != PaymentStatus.PAID and not order.release_unpaid:
            problems.append("it is not paid (record the payment, or release it unpaid for a trusted customer)")
        if not order.shipping_address:
            problems.append("it has no shipping address")
    elif to == Status.SHIPPED:
        if carrier is None:
            problems.append("choose the carrier")
        if not tracking_number:
            problems.append("enter the tracking number")
    elif to == Status.REVISING and not note:
        problems.append("say what should change")
    elif to == Status.REFUNDED and order.payment_status != PaymentStatus.PAID:
        problems.append("no payment was received (an unpaid order is cancelled, not refunded)")
    return problems


def allowed_transitions(order, user):
    """The statuses `user` may move `order` to now (ignoring data the move itself asks for, e.g. tracking)."""
    current = Status(order.status)
    staff = _is_staff(user)
    targets = []
    for to in sorted(TRANSITIONS[current], key=list(Status).index):
        if not staff and (current, to) not in CUSTOMER_TRANSITIONS:
            continue
        if to in (Status.IN_PRODUCTION, Status.REFUNDED) and blockers(order, to):
            continue  # the order's own state forbids it; shipping's and changes' data come with the move
        targets.append(to)
    return targets


def _clean_status(value):
    try:
        return Status(value)
    except ValueError:
        raise OrderError(f"{value!r} is not a status; use one of {', '.join(Status.values)}.") from None


def _carrier(value):
    if value in (None, ""):
        return None
    if isinstance(value, Carrier):
        return value
    carrier = Carrier.objects.filter(code=str(value), active=True).first()
    if carrier is None:
        raise OrderError("Unknown carrier.", details={"carrier": str(value)[:40]})
    return carrier


def order_transition(*, order, to, by, note="", carrier=None, tracking_number="", now=None):
    """Move `order` (an Order or its id) to status `to` for user `by` (None: the system), under the row's lock.

    Refuses with OrderError: 404 for a missing order, 403 for a move `by` may not make, 409 for a move the workflow
    does not allow from the current status (so a second click or a second staff member cannot repeat or skip a step),
    400 when the move needs data it did not get. Writes the timeline event, the statistics and, for steps the
    customer hears about, the mail, all in one transaction.
    """
    now = now or timezone.now()
    to = _clean_status(to)
    note = (note or "").strip()[:2000]
    tracking_number = (tracking_number or "").strip()[:60]
    carrier = _carrier(carrier)
    order_id = getattr(order, "pk", order)
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("carrier").filter(pk=order_id).first()
        if order is None:
            raise OrderError("This order does not exist.", status=404)
        current = Status(order.status)
        if not _is_staff(by) and not (by is None or order.customer_id == by.pk):
            raise OrderError("This order does not exist.", status=404)
        if to not in TRANSITIONS[current]:
            raise OrderError(f"An order that is {current.label.lower()} cannot become {to.label.lower()}.",
                             status=409, details={"status": current.value})
        if by is not None and not _is_staff(by) and (current, to) not in CUSTOMER_TRANSITIONS:
            raise OrderError("Only the shop can make this change.", status=403)
        problems = blockers(order, to, carrier=carrier, tracking_number=tracking_number, note=note)
        if problems:
            status = 400 if to in (Status.SHIPPED, Status.REVISING) else 409
            raise OrderError(f"The order cannot become {to.label.lower()}: {'; '.join(problems)}.", status=status)

        fields = ["status", "updated_at"]
        if to == Status.PROOFING:
            order.proof_sent_at, order.proof_decided_at, order.proof_decided_by = now, None, None
            fields += ["proof_sent_at", "proof_decided_at", "proof_decided_by"]
        elif to in (Status.APPROVED, Status.REVISING):
            order.proof_decided_at, order.proof_decided_by = now, by
            order.proof_comment = note if to == Status.REVISING else ""
            fields += ["proof_decided_at", "proof_decided_by", "proof_comment"]
        elif to == Status.SHIPPED:
            order.carrier, order.tracking_number = carrier, tracking_number
            fields += ["carrier", "tracking_number"]
        elif to == Status.REFUNDED:
            order.payment_status = PaymentStatus.REFUNDED
            fields.append("payment_status")
        day = order.created_at.astimezone(UTC).date()
        stats_record(day=day, status=current, orders=-1, revenue=-order.total)
        stats_record(day=day, status=to, orders=1, revenue=order.total)
        order.status = to
        order.updated_at = now
        order.save(update_fields=fields)
        message = f"{current.label} → {to.label}"
        if by is not None:
            message += f" by {by.get_username()}"
        if to == Status.SHIPPED:
            message += f" with {carrier.name} {tracking_number}"
        if note:
            message += f": {note}"
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.STATUS, message=message[:300], actor=by,
                                  created_at=now)
        if to in MAIL_ON_STATUS:
            mail_queue(order=order, kind=MAIL_ON_STATUS[to], now=now)
    return order


def order_bulk_transition(*, order_ids, to, by, now=None):
    """Move many orders through the same path as one; returns (changed, refused) counts."""
    changed = refused = 0
    for order_id in order_ids:
        try:
            order_transition(order=order_id, to=to, by=by, now=now)
            changed += 1
        except OrderError:
            refused += 1
    return changed, refused
