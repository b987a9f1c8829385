"""Orders fixtures: products, processed designs, a real SMTP sink on loopback, a mail-sending cluster."""

import collections
import email
import email.policy
import hashlib
import itertools
import socket
import threading
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller


@pytest.fixture
def carriers(db):
    """The default carriers: migration 0007 installs them, but a transactional test's flush removes them."""
    from orders.carriers import carriers_install

    carriers_install()


@pytest.fixture
def product():
    from orders.models import Product

    return Product.objects.create(name="Classic tee", price=Decimal("19.90"), sizes="S,M,L,XL", colors="white,black")


@pytest.fixture
def hoodie():
    from orders.models import Product

    return Product.objects.create(name="Hoodie", garment="Hoodie", price=Decimal("0.10"), sizes="M,L",
                                  colors="grey")


_design_serial = itertools.count(1)


def create_design(owner, *, title="Artwork", status="ready", has_thumbnail=False):
    """A design as the processing pipeline leaves it (no file needed for orders)."""
    from designs.models import Design

    sha256 = hashlib.sha256(f"{owner.pk}-{title}-{next(_design_serial)}".encode()).hexdigest()
    return Design.objects.create(owner=owner, title=title, original_name=f"{title}.png", sha256=sha256, format="PNG",
                                 status=status, width=4500, height=5400, has_thumbnail=has_thumbnail,
                                 thumb_width=213 if has_thumbnail else 0, thumb_height=256 if has_thumbnail else 0)


@pytest.fixture
def make_design():
    return create_design


@pytest.fixture
def design(user):
    return create_design(user, title="Mountain logo")


@pytest.fixture
def enqueued(monkeypatch):
    """Tasks handed to the broker, as (dotted path, args), instead of sending them: run on-commit work to fill it."""
    calls = []
    monkeypatch.setattr("core.tasks.async_task", lambda path, *args, **kwargs: calls.append((path, args)))
    return calls


def sends(calls):
    """The mail ids of the send tasks among `enqueued` calls."""
    return [args[0] for path, args in calls if path == "orders.tasks.send_mail"]


def line(product, design, *, size="M", color="black", quantity=1):
    """One order line as the API receives it: ids as strings."""
    return {"product": str(product.pk), "design": str(design.pk), "size": size, "color": color, "quantity": quantity}


@pytest.fixture
def place_order(user, product, design):
    """Place an order through the service for `user` (on-commit work captured by the caller, if wanted)."""
    from orders import services

    def place(*, items=None, customer=None, email="alice@example.com", name="Alice Example"):
        return services.order_create(email=email, name=name, items=items or [line(product, design)],
                                     user=customer or user)

    return place


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler that keeps every message it is given, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a loopback port; `start()` may come later than the port is handed out (server down)."""

    def __init__(self, port):
        self.port = port
        self.handler = RecordingHandler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def subjects(self):
        return collections.Counter(str(message["Subject"]) for message in self.messages)


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def smtp_sink_down(smtp_port, settings):
    """Django points at an SMTP port where nothing listens yet; call `.start()` to bring the server up."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    sink = SmtpSink(smtp_port)
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_sink_down):
    """A running SMTP server on loopback that Django in this process sends to."""
    return smtp_sink_down.start()


@pytest.fixture
def mail_cluster(qcluster, smtp_sink):
    """Start a real `qcluster` whose workers send mail to `smtp_sink`."""

    def start(workers=2):
        return qcluster(workers, env={"EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink.port}", "LOG_LEVEL": "WARNING"})

    return start
