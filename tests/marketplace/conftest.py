"""Marketplace fixtures: a real fake marketplace on loopback, quick resilience settings, a connected shop."""

import hashlib
import uuid

import pytest

from tests.marketplace.fake_marketplace import FakeMarketplace

API_KEY, API_SECRET = "key-123", "secret-456"

# Small enough that a test waits for a timeout or a breaker reset in well under a second or two.
QUICK = {
    "connect_timeout": 0.5,
    "read_timeout": 0.5,
    "max_attempts": 3,
    "backoff": 0.05,
    "backoff_cap": 0.2,
    "max_retry_after": 2,
    "failure_threshold": 4,
    "reset_timeout": 1,
}


class FixedJitter:
    """An rng whose jitter factor is always 1, so backoff delays are exact."""

    def uniform(self, low, high):
        assert (low, high) == (0.8, 1.2)
        return 1.0


@pytest.fixture
def fake_marketplace():
    server = FakeMarketplace(clients={API_KEY: API_SECRET}).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def marketplace_settings(settings, fake_marketplace):
    """The marketplace service with quick timeouts, the fake allowed, and a closed breaker before and after."""
    from core import resilience

    settings.OUTSIDE_SERVICES = {**settings.OUTSIDE_SERVICES,
                                 "marketplace": {**settings.OUTSIDE_SERVICES["marketplace"], **QUICK}}
    settings.MARKETPLACE_URLS = [fake_marketplace.url]
    resilience.service("marketplace").breaker.reset()
    yield settings
    resilience.service("marketplace").breaker.reset()


def quick_service(**overrides):
    """An OutsideService of its own (own breaker, own name) with the quick settings, for resilience tests."""
    from core.resilience import OutsideService

    return OutsideService(f"test-{uuid.uuid4().hex[:8]}", **{**QUICK, **overrides})


def create_design(owner, *, title="Mountain logo", status="ready"):
    from designs.models import Design

    sha256 = hashlib.sha256(f"{owner.pk}-{title}-{uuid.uuid4()}".encode()).hexdigest()
    return Design.objects.create(owner=owner, title=title, original_name=f"{title}.png", sha256=sha256, format="PNG",
                                 status=status, width=4500, height=5400, has_thumbnail=True, thumb_width=213,
                                 thumb_height=256)


@pytest.fixture
def design(user):
    return create_design(user)


@pytest.fixture
def shop(user, fake_marketplace):
    from marketplace import services

    return services.shop_connect(owner=user, base_url=fake_marketplace.url, api_key=API_KEY, api_secret=API_SECRET)


@pytest.fixture
def listing(design, shop):
    """A queued listing whose task has not run (nothing enqueued)."""
    from marketplace.models import Listing

    return Listing.objects.create(design=design, connection=shop)
