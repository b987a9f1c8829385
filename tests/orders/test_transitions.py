"""The order workflow through its one service: every move allowed and refused, who may make it, what it needs,
the timeline and mail it writes, and two staff (or a double click) racing on PostgreSQL."""

import itertools
import threading
import uuid

import pytest
from django.db import connection

from orders import payments, transitions
from orders.errors import OrderError
from orders.models import Carrier, DailyOrderStats, Order, OrderEvent, OutgoingMail
from tests.orders.conftest import sends

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("carriers")]

Status = Order.Status
ADDRESS = {"name": "Alice Example", "line1": "1 High Street", "city": "London", "postal_code": "N1 9GU",
           "country": "GB"}
ALL_PAIRS = list(itertools.product(Status, Status))
ALLOWED = [(old, new) for old, new in ALL_PAIRS if new in transitions.TRANSITIONS[old]]
REFUSED = [(old, new) for old, new in ALL_PAIRS if new not in transitions.TRANSITIONS[old]]


def order_in(status, place_order, **fields):
    """An order placed through the service, then put in `status` with everything any next step needs (set-up)."""
    order = place_order()
    Order.objects.filter(pk=order.pk).update(status=status, shipping_address=ADDRESS, payment_status="paid",
                                             **fields)
    return Order.objects.get(pk=order.pk)


def move_data(new):
    """What staff enter with a move: the carrier and tracking number to ship, the comment to ask for changes."""
    if new == Status.SHIPPED:
        return {"carrier": "ups", "tracking_number": "1Z999AA10123456784"}
    return {"note": "Make the logo bigger"} if new == Status.REVISING else {}


def written():
    return (OrderEvent.objects.count(), OutgoingMail.objects.count())


def test_the_workflow_table_is_what_the_business_agreed():
    assert sorted((old.value, new.value) for old, new in ALLOWED) == sorted([
        ("received", "proofing"), ("received", "approved"), ("received", "cancelled"),
        ("proofing", "approved"), ("proofing", "revising"), ("proofing", "cancelled"),
        ("revising", "proofing"), ("revising", "cancelled"),
        ("approved", "in_production"), ("approved", "cancelled"),
        ("in_production", "shipped"), ("in_production", "cancelled"),
        ("shipped", "delivered"), ("delivered", "refunded"), ("cancelled", "refunded"),
    ])


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=[f"{old}->{new}" for old, new in ALLOWED])
def test_an_allowed_transition_writes_an_event_its_statistics_and_the_customers_mail(
    old, new, place_order, staff_user, django_capture_on_commit_callbacks, enqueued
):
    order = order_in(old, place_order)
    with django_capture_on_commit_callbacks(execute=True):
        changed = transitions.order_transition(order=order, to=new, by=staff_user, **move_data(new))
    assert changed.status == new == Order.objects.get(pk=order.pk).status
    event = order.events.filter(kind="status").get()
    assert event.message.startswith(f"{old.label} → {new.label} by staff") and event.actor == staff_user
    assert DailyOrderStats.objects.get(status=new).orders == 1
    mails = list(OutgoingMail.objects.filter(order=order).exclude(kind="confirmation").values_list("kind", flat=True))
    if new in transitions.MAIL_ON_STATUS:
        mail = OutgoingMail.objects.get(order=order, kind=transitions.MAIL_ON_STATUS[new])
        assert mails == [mail.kind] and sends(enqueued) == [str(mail.pk)]
        assert order.display_number in mail.subject and f"/orders/{order.pk}/" in mail.body_text
    else:
        assert mails == [] and enqueued == []


@pytest.mark.parametrize(("old", "new"), REFUSED, ids=[f"{old}->{new}" for old, new in REFUSED])
def test_a_refused_transition_is_a_409_that_says_why_and_changes_nothing(
    old, new, place_order, staff_user, django_capture_on_commit_callbacks, enqueued
):
    order = order_in(old, place_order)
    before = written()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OrderError) as raised:
        transitions.order_transition(order=order, to=new, by=staff_user, **move_data(new))
    assert raised.value.message == f"An order that is {old.label.lower()} cannot become {new.label.lower()}."
    assert raised.value.status == 409
    assert Order.objects.get(pk=order.pk).status == old
    assert written() == before and enqueued == []


def test_production_needs_payment_or_a_release_and_an_address(place_order, staff_user):
    order = place_order()
    Order.objects.filter(pk=order.pk).update(status="approved")
    with pytest.raises(OrderError) as raised:
        transitions.order_transition(order=order, to="in_production", by=staff_user)
    assert raised.value.status == 409
    assert "it is not paid" in raised.value.message and "no shipping address" in raised.value.message
    assert transitions.allowed_transitions(Order.objects.get(pk=order.pk), staff_user) == [Status.CANCELLED]

    payments.order_release_unpaid(order=order, by=staff_user, note="repeat customer")
    assert order.events.filter(kind="note", message__contains="before payment by staff: repeat customer").exists()
    with pytest.raises(OrderError, match="no shipping address"):
        transitions.order_transition(order=order, to="in_production", by=staff_user)
    Order.objects.filter(pk=order.pk).update(shipping_address=ADDRESS)
    assert transitions.order_transition(order=order, to="in_production", by=staff_user).status == "in_production"


def test_shipping_needs_a_known_carrier_and_a_tracking_number_and_gives_a_tracking_link(place_order, staff_user):
    order = order_in("in_production", place_order)
    with pytest.raises(OrderError, match="choose the carrier; enter the tracking number") as raised:
        transitions.order_transition(order=order, to="shipped", by=staff_user)
    assert raised.value.status == 400
    with pytest.raises(OrderError, match="Unknown carrier"):
        transitions.order_transition(order=order, to="shipped", by=staff_user, carrier="pigeon", tracking_number="1")
    shipped = transitions.order_transition(order=order, to="shipped", by=staff_user, carrier="dhl",
                                           tracking_number=" 00340434161094 042 ")
    assert shipped.tracking_number == "00340434161094 042"
    assert shipped.tracking_url == Carrier.objects.get(code="dhl").tracking_url_template.replace(
        "{number}", "00340434161094%20042")
    mail = OutgoingMail.objects.get(order=order, kind="shipped")
    assert shipped.tracking_url in mail.body_text and "00340434161094 042" in mail.body_html


def test_the_customer_approves_or_asks_for_changes_on_their_own_proof_only(
    place_order, user, other_user, staff_user
):
    order = order_in("proofing", place_order)
    with pytest.raises(OrderError) as raised:
        transitions.order_transition(order=order, to="approved", by=other_user)
    assert raised.value.status == 404
    with pytest.raises(OrderError, match="say what should change"):
        transitions.order_transition(order=order, to="revising", by=user, note="  ")
    revised = transitions.order_transition(order=order, to="revising", by=user, note="Logo 2 cm higher, please")
    assert (revised.proof_comment, revised.proof_decided_by) == ("Logo 2 cm higher, please", user)
    assert order.events.filter(message__endswith="by alice: Logo 2 cm higher, please").exists()
    with pytest.raises(OrderError) as raised:  # sending the next proof is the shop's move
        transitions.order_transition(order=order, to="proofing", by=user)
    assert raised.value.status == 403
    transitions.order_transition(order=order, to="proofing", by=staff_user)
    approved = transitions.order_transition(order=order, to="approved", by=user)
    assert approved.proof_decided_by == user and approved.proof_decided_at is not None
    assert approved.proof_comment == ""
    with pytest.raises(OrderError) as raised:
        transitions.order_transition(order=order, to="cancelled", by=user)
    assert raised.value.status == 403


def test_refunding_needs_money_received_and_marks_the_payment_refunded(place_order, staff_user):
    unpaid = place_order()
    Order.objects.filter(pk=unpaid.pk).update(status="cancelled")
    with pytest.raises(OrderError, match="no payment was received"):
        transitions.order_transition(order=unpaid, to="refunded", by=staff_user)
    paid = order_in("cancelled", place_order)
    assert transitions.order_transition(order=paid, to="refunded", by=staff_user).payment_status == "refunded"


def test_refunded_orders_leave_the_dashboards_revenue(place_order, staff_user, django_capture_on_commit_callbacks,
                                                      enqueued):
    from orders import stats

    kept, refunded = place_order(), place_order()
    Order.objects.filter(pk=refunded.pk).update(payment_status="paid")
    with django_capture_on_commit_callbacks(execute=True):
        for to in ("cancelled", "refunded"):
            transitions.order_transition(order=refunded, to=to, by=staff_user)
    dashboard = stats.compute_dashboard()
    assert dashboard["revenue"]["total"] == str(kept.total)
    assert dashboard["orders_by_status"]["refunded"] == 1 and dashboard["orders_by_status"]["received"] == 1


def test_an_unknown_status_or_order_is_an_order_error_not_a_crash(place_order, staff_user):
    order = place_order()
    with pytest.raises(OrderError, match="not a status"):
        transitions.order_transition(order=order, to="lost", by=staff_user)
    with pytest.raises(OrderError) as raised:
        transitions.order_transition(order=uuid.uuid4(), to="approved", by=staff_user)
    assert raised.value.status == 404
    assert Order.objects.get(pk=order.pk).status == "received"


def test_bulk_transition_counts_changed_and_refused(
    place_order, staff_user, django_capture_on_commit_callbacks, enqueued
):
    received = [place_order() for _ in range(3)]
    shipped = order_in(Status.SHIPPED, place_order)
    cancelled = order_in(Status.CANCELLED, place_order)
    ids = [order.pk for order in received] + [shipped.pk, cancelled.pk, uuid.uuid4()]
    with django_capture_on_commit_callbacks(execute=True):
        assert transitions.order_bulk_transition(order_ids=ids, to="cancelled", by=staff_user) == (3, 3)
    assert Order.objects.get(pk=shipped.pk).status == "shipped"
    assert OutgoingMail.objects.filter(kind="cancelled").count() == 3 and len(sends(enqueued)) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("race", ["double click", "ship or cancel"])
def test_two_staff_at_once_make_one_move_and_one_mail(race, place_order, staff_user, enqueued):
    order = order_in("in_production", place_order)
    moves = ([("shipped", move_data(Status.SHIPPED))] * 2 if race == "double click"
             else [("shipped", move_data(Status.SHIPPED)), ("cancelled", {})])
    start = threading.Barrier(len(moves))
    done, refused, errors = [], [], []

    def move(to, data):
        try:
            start.wait()
            transitions.order_transition(order=order.pk, to=to, by=staff_user, **data)
            done.append(to)
        except OrderError as error:
            refused.append(error.status)
        except Exception as error:  # reported below: an exception in a thread would otherwise vanish
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=move_) for move_ in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(done) == 1 and refused == [409]
    final = Order.objects.get(pk=order.pk)
    assert final.status == done[0]
    assert order.events.filter(kind="status").count() == 1
    assert OutgoingMail.objects.exclude(kind="confirmation").filter(order=order).count() == 1
    assert DailyOrderStats.objects.get(status=done[0]).orders == 1
    assert DailyOrderStats.objects.get(status="in_production").orders == -1  # set up by update(), not the service
