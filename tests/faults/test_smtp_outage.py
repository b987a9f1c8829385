"""SMTP is down while orders come in: their mails wait (queued, with backoff and the error), then, once the server is
up, the sweeper delivers each exactly once."""

import time

import pytest
from django.utils import timezone
from django_q.conf import Conf

from orders import emails
from orders.models import OutgoingMail, Product
from tests.orders.conftest import SmtpSink, create_design, free_port

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ORDERS = 5
# The send task checks whether a mail is due against the real clock, so the backoff is made short rather than the
# sweeper's clock moved: the first retry is due after 0.8-1.2 s instead of 24-36 s.
BACKOFF_BASE_S = 1


@pytest.fixture
def smtp_down(settings):
    """Django sends mail to a loopback port where nothing listens until the test starts the server."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    sink = SmtpSink(port)
    yield sink
    sink.stop()


def test_mail_waits_for_smtp_and_is_delivered_exactly_once(alice, user, smtp_down, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)  # enqueued tasks run at once, in this process
    monkeypatch.setattr(emails, "BACKOFF_BASE_S", BACKOFF_BASE_S)
    product = Product.objects.create(name="Classic tee", price="19.90", sizes="S,M,L", colors="white")
    design = create_design(user)
    numbers = []
    for n in range(ORDERS):
        response = alice.post("/api/orders", {
            "name": f"Buyer {n}",  # mailed to the account's address, the only one an order may name
            "items": [{"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "white",
                       "quantity": 1}],
        }, content_type="application/json")
        assert response.status_code == 201, response.content  # the order does not wait for its mail
        numbers.append(response.json()["number"])

    mails = list(OutgoingMail.objects.order_by("to"))
    assert len(mails) == ORDERS
    for mail in mails:  # each one's own task ran at commit and found nothing listening
        assert (mail.status, mail.attempts) == ("queued", 1)
        assert "refused" in mail.last_error.lower(), mail.last_error
        assert mail.next_attempt_at >= mail.created_at + timezone.timedelta(seconds=0.8 * BACKOFF_BASE_S)
    assert smtp_down.messages == []

    smtp_down.start()
    time.sleep(max(0.0, (max(mail.next_attempt_at for mail in mails) - timezone.now()).total_seconds()) + 0.1)
    assert emails.mail_sweep(now=timezone.now()) == ORDERS  # each send task runs inside, in sync mode
    assert sorted(str(message["Subject"]) for message in smtp_down.messages) == sorted(
        f"We received your order {number}" for number in numbers)
    assert [message["To"] for message in smtp_down.messages] == [user.email] * ORDERS
    assert set(OutgoingMail.objects.values_list("status", "attempts", "last_error")) == {("sent", 2, "")}

    # A late duplicate of every send task, and later sweeps, deliver nothing more.
    for mail in mails:
        assert emails.mail_send(mail_id=mail.pk) is None
    assert emails.mail_sweep(now=timezone.now() + timezone.timedelta(hours=1)) == 0
    assert len(smtp_down.messages) == ORDERS
