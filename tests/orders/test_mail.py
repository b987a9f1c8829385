"""The mail outbox against a real SMTP server on loopback: after commit only, retries with backoff, exactly once."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.db import connection, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Task
from django_q.tasks import async_task

from core.tasks import task_path
from orders import emails, services, transitions
from orders import models as orders_models
from orders.models import Order, OrderEvent, OutgoingMail
from orders.tasks import send_mail, sweep_outgoing_mail
from tests.conftest import wait_for
from tests.orders.conftest import line, sends

pytestmark = pytest.mark.django_db


class FixedJitter:
    """An rng whose jitter factor is always `factor`, so backoff delays are exact."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def uniform(self, low, high):
        assert (low, high) == (0.8, 1.2)
        return self.factor


def parts(message):
    """(text, html) bodies of a received multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return text.get_content(), html.get_content()


def test_no_mail_for_a_rolled_back_order(place_order, django_capture_on_commit_callbacks, enqueued, tasks_inline):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            order = place_order()
            assert OutgoingMail.objects.filter(order=order).count() == 1  # written, inside the transaction
            raise RuntimeError("payment provider said no")
    assert OutgoingMail.objects.count() == 0 and Order.objects.count() == 0
    assert callbacks == [] and enqueued == [] and django_mail.outbox == []


def test_an_order_delivers_one_confirmation_and_shipping_delivers_the_shipped_mail(
    place_order, carriers, smtp_sink, django_capture_on_commit_callbacks, tasks_inline, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order()
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert order.display_number in message["Subject"] and message["To"] == "alice@example.com"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    text, html = parts(message)
    link = f"{settings.SITE_URL}/orders/{order.pk}/"
    assert link in text and f'href="{link}"' in html
    assert "Mountain logo" in text and "$19.90" in html
    mail = OutgoingMail.objects.get(order=order)
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 1, "") and mail.sent_at is not None
    assert order.events.filter(kind="mail", message__contains=order.display_number).count() == 1

    orders_models.Order.objects.filter(pk=order.pk).update(payment_status="paid", shipping_address={"name": "A"})
    for status in ("approved", "in_production", "shipped"):
        with django_capture_on_commit_callbacks(execute=True):
            transitions.order_transition(order=order.pk, to=status, by=None, carrier="ups", tracking_number="1Z9")
    assert [message["Subject"] for message in smtp_sink.messages[1:]] == [
        f"Your order {order.display_number} is in production", f"Your order {order.display_number} is on its way"]
    shipped = smtp_sink.messages[2]
    assert "has shipped" in parts(shipped)[0] and "https://www.ups.com/track?tracknum=1Z9" in parts(shipped)[0]
    assert OutgoingMail.objects.get(order=order, kind="shipped").status == "sent"


def test_smtp_down_then_up_retries_with_backoff_and_delivers_each_mail_once(
    user, product, design, smtp_sink_down, django_capture_on_commit_callbacks, enqueued
):
    orders = [services.order_create(email=f"buyer{n}@example.com", name="Buyer", user=user,
                                    items=[line(product, design)]) for n in range(3)]
    mails = list(OutgoingMail.objects.order_by("to"))
    t0 = timezone.now()

    # First attempt: nothing listens on the port.
    assert emails.mail_send(mail_id=mails[0].pk, now=t0, rng=FixedJitter()) == "queued"
    failed = OutgoingMail.objects.get(pk=mails[0].pk)
    assert (failed.status, failed.attempts) == ("queued", 1)
    assert "Connection refused" in failed.last_error or "ConnectionRefused" in failed.last_error
    assert failed.next_attempt_at == t0 + timedelta(seconds=emails.BACKOFF_BASE_S)
    # Not due yet: neither a direct send nor the sweeper touches it, and no attempt is spent.
    assert emails.mail_send(mail_id=failed.pk, now=t0 + timedelta(seconds=10)) is None
    with django_capture_on_commit_callbacks(execute=True):
        emails.mail_sweep(now=t0 + timedelta(seconds=10))
    assert sends(enqueued) == []  # the others are fresh: their own after-commit tasks are on the way
    with django_capture_on_commit_callbacks(execute=True):
        emails.mail_sweep(now=t0 + timedelta(seconds=orders_models.SWEEP_GRACE_S + 1))
    # never sent and past the grace, and the failed one whose 30 s backoff has run out
    assert sorted(sends(enqueued)) == sorted(str(mail.pk) for mail in mails)
    # The second failure doubles the delay.
    t1 = failed.next_attempt_at
    assert emails.mail_send(mail_id=failed.pk, now=t1, rng=FixedJitter()) == "queued"
    failed.refresh_from_db()
    assert failed.attempts == 2 and failed.next_attempt_at == t1 + timedelta(seconds=2 * emails.BACKOFF_BASE_S)
    # With real jitter the delay stays within +-20 %.
    assert emails.mail_send(mail_id=mails[1].pk, now=t0) == "queued"
    jittered = OutgoingMail.objects.get(pk=mails[1].pk).next_attempt_at - t0
    assert timedelta(seconds=24) <= jittered <= timedelta(seconds=36)
    assert smtp_sink_down.messages == []

    smtp_sink_down.start()
    later = t0 + timedelta(minutes=10)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_sweep(now=later) == 3
    assert sorted(sends(enqueued)) == sorted(str(mail.pk) for mail in mails)
    # Run every enqueued send, and each once more as a duplicate delivery from the queue would.
    for mail_id in sends(enqueued) * 2:
        emails.mail_send(mail_id=mail_id, now=later)
    assert smtp_sink_down.subjects() == {f"We received your order {order.display_number}": 1 for order in orders}
    assert set(OutgoingMail.objects.values_list("status", flat=True)) == {"sent"}
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_sweep(now=later + timedelta(hours=1)) == 0


def test_after_max_attempts_a_mail_fails_with_its_error_and_a_retry_delivers_it(
    place_order, smtp_sink_down, django_capture_on_commit_callbacks, tasks_inline
):
    order = place_order()  # its on-commit send never runs here: this test drives the attempts itself
    mail = OutgoingMail.objects.get(order=order)
    moment = timezone.now()
    results = []
    for _ in range(emails.MAX_SEND_ATTEMPTS):
        results.append(emails.mail_send(mail_id=mail.pk, now=moment))
        mail.refresh_from_db()
        moment = mail.next_attempt_at
    assert results == ["queued"] * (emails.MAX_SEND_ATTEMPTS - 1) + ["failed"]
    assert (mail.status, mail.attempts) == ("failed", emails.MAX_SEND_ATTEMPTS)
    assert "refused" in mail.last_error.lower()
    # Failed is final: neither sending nor sweeping picks it up, however late.
    far = moment + timedelta(days=30)
    assert emails.mail_send(mail_id=mail.pk, now=far) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_sweep(now=far) == 0

    smtp_sink_down.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_retry(mail_ids=[mail.pk]) == 1  # the enqueued send runs in this process (tasks_inline)
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("sent", 1)
    assert smtp_sink_down.subjects() == {f"We received your order {order.display_number}": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_retry(mail_ids=[mail.pk]) == 0  # only failed mail is retried
    assert len(smtp_sink_down.messages) == 1


def test_the_sweeper_picks_up_mail_a_dead_worker_left_sending_but_not_mail_in_flight(
    user, product, design, smtp_sink, django_capture_on_commit_callbacks, enqueued, settings
):
    for n in range(5):
        services.order_create(email=f"buyer{n}@example.com", name="Buyer", user=user, items=[line(product, design)])
    now = timezone.now()
    stale_after = timedelta(seconds=settings.SWEEP_STALE_AFTER_S)
    dead, in_flight, due, not_due, sent = OutgoingMail.objects.order_by("to")
    OutgoingMail.objects.filter(pk=dead.pk).update(status="sending", attempts=1,
                                                    claimed_at=now - stale_after - timedelta(seconds=1))
    OutgoingMail.objects.filter(pk=in_flight.pk).update(status="sending", attempts=1,
                                                         claimed_at=now - stale_after + timedelta(seconds=5))
    OutgoingMail.objects.filter(pk=not_due.pk).update(next_attempt_at=now + timedelta(seconds=1))
    # queued long enough ago that its own task should have sent it (a fresh one is left to that task)
    OutgoingMail.objects.filter(pk=due.pk).update(created_at=now - timedelta(seconds=orders_models.SWEEP_GRACE_S + 1))
    OutgoingMail.objects.filter(pk=sent.pk).update(status="sent", attempts=1, sent_at=now)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.mail_sweep(now=now) == 2
    assert sorted(sends(enqueued)) == sorted([str(dead.pk), str(due.pk)])
    for mail_id in sends(enqueued):
        assert emails.mail_send(mail_id=mail_id, now=now) == "sent"
    # The mail in flight is its worker's business: a second sender must not take it over.
    assert emails.mail_send(mail_id=in_flight.pk, now=now) is None
    assert sorted(smtp_sink.subjects()) == sorted(mail.subject for mail in (dead, due))
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("sent", 2)
    assert OutgoingMail.objects.get(pk=in_flight.pk).status == "sending"


# --- Two real workers racing over the same mail --------------------------------------------------------------------

ORDERS = 30
EXTRA_SENDS = 2  # each mail's send task is enqueued this many times on top of the one after commit
SWEEP_TASKS = 3  # sweeps run by the workers
SWEEPS_HERE = 6  # sweeps run by this process meanwhile (each may enqueue every mail again: keep the queue small)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_deliver_each_mail_exactly_once(mail_cluster, smtp_sink, user, product, design):
    get_broker().purge_queue()  # only this test's tasks on this run's queue
    cluster = mail_cluster(workers=2)
    send_path, sweep_path = task_path(send_mail), task_path(sweep_outgoing_mail)
    orders, swept_here = [], []

    def sweep_concurrently():
        try:
            for _ in range(SWEEPS_HERE):
                swept_here.append(emails.mail_sweep())
                time.sleep(0.2)
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep_concurrently)
    sweeper.start()
    try:
        for n in range(ORDERS):
            order = services.order_create(email=f"buyer{n}@example.com", name="Buyer", user=user,
                                          items=[line(product, design)])  # enqueues its send after commit
            mail_id = str(OutgoingMail.objects.get(order=order).pk)
            for _ in range(EXTRA_SENDS):
                async_task(send_path, mail_id, group="mail")
            if n % (ORDERS // SWEEP_TASKS) == 0:
                async_task(sweep_path, group="sweep")
            orders.append(order)

        def all_sent():
            connection.close()  # SQLite: do not hold a read snapshot while the workers write
            return OutgoingMail.objects.filter(status="sent").count() == ORDERS

        wait_for(all_sent, timeout=60, interval=0.25, message=f"{ORDERS} mails sent")
    except AssertionError:
        cluster.stop()
        raise AssertionError(cluster.tail()) from None
    finally:
        sweeper.join(timeout=30)

    def every_task_done():
        # Late duplicates must have had their chance to (wrongly) send before the sink is checked.
        connection.close()
        sweeps = Task.objects.filter(group="sweep")
        if sweeps.count() < SWEEP_TASKS:
            return False
        expected = ORDERS * (1 + EXTRA_SENDS) + sum(swept_here) + sum(task.result or 0 for task in sweeps)
        return Task.objects.filter(group="mail").count() >= expected

    try:
        wait_for(every_task_done, timeout=30, interval=0.25, message="every enqueued task to finish")
    except AssertionError:
        cluster.stop()
        raise AssertionError(cluster.tail()) from None
    assert not Task.objects.filter(success=False).exists(), cluster.tail()
    assert smtp_sink.subjects() == {f"We received your order {order.display_number}": 1 for order in orders}
    assert sorted(message["To"] for message in smtp_sink.messages) == sorted(order.email for order in orders)
    # Each mail was claimed once: no second worker ever got as far as trying to send it.
    assert set(OutgoingMail.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert OrderEvent.objects.filter(kind="mail").count() == ORDERS
