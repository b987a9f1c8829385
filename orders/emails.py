"""The transactional outbox: mail rows written with the order change, sent after commit, exactly once."""

import logging
import random

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.db import lock_rows
from core.tasks import enqueue, enqueue_each
from orders.models import OrderEvent, OutgoingMail

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 6  # then `failed`, visible in the admin with a retry action
BACKOFF_BASE_S = 30  # 30 s, 1, 2, 4, 8 min ... with jitter
BACKOFF_CAP_S = 3600

SUBJECTS = {
    "confirmation": "We received your order {number}",
    "paid": "Payment received for your order {number}",
    "proof": "Your proof for order {number} is ready to approve",
    "in_production": "Your order {number} is in production",
    "shipped": "Your order {number} is on its way",
    "delivered": "Your order {number} was delivered",
    "cancelled": "Your order {number} was cancelled",
    "refunded": "Your order {number} was refunded",
}


def mail_queue(*, order, kind, now=None):
    """Write the mail for `order` in the caller's transaction; it is sent only if that transaction commits."""
    from orders.payments import provider_for  # payments queues mail: imported here to avoid the cycle

    now = now or timezone.now()
    context = {
        "order": order,
        "items": list(order.items.select_related("product", "design").order_by("id")),
        "order_url": f"{settings.SITE_URL}{order.get_absolute_url()}",
        "payment": provider_for(order).instructions(order),
    }
    mail = OutgoingMail.objects.create(
        order=order, kind=kind, to=order.email,
        subject=SUBJECTS[kind].format(number=order.display_number),
        body_text=render_to_string(f"orders/emails/{kind}.txt", context),
        body_html=render_to_string(f"orders/emails/{kind}.html", context),
        next_attempt_at=now, created_at=now,
    )
    from orders.tasks import send_mail

    enqueue(send_mail, str(mail.pk), group="mail")
    return mail


def _claim(mail_id, now):
    """Mark the mail as being sent by this worker, or return None if it is not due or another worker has it."""
    with transaction.atomic():
        mail = lock_rows(OutgoingMail.objects.due(now=now).filter(pk=mail_id)).first()
        if mail is None:
            return None
        mail.status = OutgoingMail.Status.SENDING
        mail.claimed_at = now
        mail.attempts += 1
        mail.save(update_fields=["status", "claimed_at", "attempts"])
    return mail


def mail_send(*, mail_id, now=None, rng=random):
    """Send one outbox row if it is due; on failure schedule a retry with backoff, or give up after the cap."""
    now = now or timezone.now()
    mail = _claim(mail_id, now)
    if mail is None:
        return None
    message = EmailMultiAlternatives(mail.subject, mail.body_text, settings.DEFAULT_FROM_EMAIL, [mail.to])
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as error:  # SMTP, DNS, TLS, timeouts: all mean "try later"
        return _record_failure(mail, error, now=now, rng=rng)
    with transaction.atomic():
        # Unconditional: the server took the message, so "sent" is the truth even if our claim went stale.
        OutgoingMail.objects.filter(pk=mail.pk).update(status=OutgoingMail.Status.SENT, sent_at=timezone.now(),
                                                        last_error="")
        if mail.order_id:
            OrderEvent.objects.create(order_id=mail.order_id, kind=OrderEvent.Kind.MAIL,
                                      message=f"Mail sent: {mail.subject}")
    return OutgoingMail.Status.SENT


def _record_failure(mail, error, *, now, rng):
    """Schedule the next attempt, or give up; only while this worker's claim is current (attempts is the token)."""
    text = f"{type(error).__name__}: {error}"[:500]
    ours = OutgoingMail.objects.filter(pk=mail.pk, status=OutgoingMail.Status.SENDING, attempts=mail.attempts)
    if mail.attempts >= MAX_SEND_ATTEMPTS:
        logger.error("giving up on mail %s to %s after %d attempts: %s", mail.pk, mail.to, mail.attempts, text)
        ours.update(status=OutgoingMail.Status.FAILED, last_error=text)
        return OutgoingMail.Status.FAILED
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (mail.attempts - 1)) * rng.uniform(0.8, 1.2)
    logger.warning("mail %s to %s failed (attempt %d), retrying in %.0f s: %s",
                   mail.pk, mail.to, mail.attempts, delay, text)
    ours.update(status=OutgoingMail.Status.QUEUED, last_error=text,
                next_attempt_at=now + timezone.timedelta(seconds=delay))
    return OutgoingMail.Status.QUEUED


def mail_sweep(*, now=None, limit=500):
    """Enqueue every due mail: retries whose backoff ran out, and rows a dead worker left queued or in flight."""
    now = now or timezone.now()
    due_ids = list(OutgoingMail.objects.for_sweeper(now=now).order_by("next_attempt_at")
                   .values_list("pk", flat=True)[:limit])
    from orders.tasks import send_mail

    return enqueue_each(send_mail, due_ids, group="mail")


def mail_retry(*, mail_ids, now=None):
    """Staff's manual retry: failed mails go back to the queue with a fresh attempt budget."""
    now = now or timezone.now()
    ids = list(OutgoingMail.objects.filter(pk__in=mail_ids, status=OutgoingMail.Status.FAILED)
               .values_list("pk", flat=True))
    from orders.tasks import send_mail

    with transaction.atomic():
        OutgoingMail.objects.filter(pk__in=ids).update(status=OutgoingMail.Status.QUEUED, attempts=0,
                                                       next_attempt_at=now)
        return enqueue_each(send_mail, ids, group="mail")
