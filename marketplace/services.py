"""Every write to shop connections and listings goes through here."""

import logging
import random
import socket
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core import resilience
from core.api import ApiError
from core.tasks import enqueue, enqueue_each
from designs.models import Design
from marketplace import client, vault
from marketplace.models import Listing, ShopConnection

logger = logging.getLogger(__name__)

MAX_PUBLISH_ATTEMPTS = 6  # worker attempts, each up to the service's max_attempts calls; then `failed`
RETRY_BASE_S = 30  # 30 s, 1, 2, 4, 8 min between worker attempts, with jitter; the sweeper runs every minute
RETRY_CAP_S = 3600
TOKEN_SWEEP_AHEAD_S = 120  # the refresher runs every minute: renew tokens a little before the request path would
PUBLISHABLE = (Design.Status.READY, Design.Status.DUPLICATE)


class MarketplaceError(ApiError):
    """An expected failure in the marketplace domain, with text a customer can act on."""


MESSAGES = {
    "not_found": "Not found.",
    "url": "Enter the marketplace's API address, e.g. https://api.example-market.com.",
    "url_https": "The marketplace address must start with https://.",
    "url_private": "That address points inside our own network; enter the marketplace's public API address.",
    "url_unresolved": "No server answers to that address's name.",
    "refused": "The marketplace refused these credentials ({reason}).",
    "no_shop": "Connect a shop first, on the Marketplace page.",
    "choose_shop": "Choose the shop to publish to.",
    "not_ready": "This design is still being processed; publish it once it is ready.",
    "credentials": "The stored credentials for this shop cannot be read any more; connect the shop again.",
    "gave_up": "Publishing failed {attempts} times in a row; the last error was: {error}",
    "waiting": "The marketplace is not answering; publishing resumes by itself when it recovers.",
    "stale": "The worker publishing this listing stopped; trying again.",
    "unreachable": "Saved, but the marketplace could not be reached just now ({reason}); we try again when you"
                   " publish.",
}


def marketplace_url_check(raw_url):
    """A marketplace base URL that is safe to call from our workers, normalised; or a MarketplaceError.

    Allowed: a prefix listed in MARKETPLACE_URLS, or any https URL whose host is public (not loopback, private,
    link-local such as the cloud metadata address, or otherwise reserved).
    """
    url = (raw_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise MarketplaceError(MESSAGES["url"])
    for prefix in settings.MARKETPLACE_URLS:
        if url == prefix.rstrip("/") or url.startswith(prefix.rstrip("/") + "/"):
            return url
    if parts.scheme != "https":
        raise MarketplaceError(MESSAGES["url_https"])
    # Checked again at every connection (core.resilience.PublicAddressAdapter): this is for a clear message now.
    try:
        resilience.public_addresses(parts.hostname, parts.port or 443)
    except (socket.gaierror, UnicodeError):
        raise MarketplaceError(MESSAGES["url_unresolved"]) from None
    except resilience.PrivateAddress:
        raise MarketplaceError(MESSAGES["url_private"]) from None
    return url


def shop_connect(*, owner, base_url, api_key, api_secret, name="", now=None):
    """Connect (or reconnect) the owner's shop: check the credentials with the marketplace, store them sealed.

    Refused credentials raise MarketplaceError and store nothing. An unreachable marketplace does not stop the
    connection being saved: the first publish fetches the token.
    """
    now = now or timezone.now()
    base_url = marketplace_url_check(base_url)
    token, problem = None, ""
    try:
        # One attempt: a person is waiting on this page, and the first publish fetches the token if this fails.
        token = client.fetch_token(base_url, api_key=api_key, api_secret=api_secret, max_attempts=1)
    except resilience.AddressRefused:
        raise MarketplaceError(MESSAGES["url_private"]) from None  # the name moved inside since the check above
    except resilience.RequestRejected as error:
        raise MarketplaceError(MESSAGES["refused"].format(reason=client.error_message(error)),
                               details={"status": error.status}) from None
    except resilience.OutsideServiceError as error:
        problem = MESSAGES["unreachable"].format(reason=str(error)[:200])
    fields = {
        "name": (name or "").strip()[:100] or urlsplit(base_url).hostname,
        "credentials_sealed": vault.seal({"api_key": api_key, "api_secret": api_secret}),
        "access_token_sealed": vault.seal(token.access_token) if token else "",
        "token_expires_at": now + timezone.timedelta(seconds=token.expires_in) if token else None,
        "last_error": problem,
        "updated_at": now,
    }
    connection, _ = ShopConnection.objects.update_or_create(owner=owner, base_url=base_url,
                                                            defaults=fields, create_defaults={**fields,
                                                                                              "created_at": now})
    return connection


def shop_disconnect(*, owner, connection_id):
    """Forget a shop and its listings here (they stay on the marketplace)."""
    deleted, _ = ShopConnection.objects.owned_by(owner).filter(pk=connection_id).delete()
    if not deleted:
        raise MarketplaceError(MESSAGES["not_found"], status=404)


def shop_access_token(*, connection, now=None, ahead_s=None, force=False):
    """A bearer token for the connection with more than `ahead_s` (MARKETPLACE_TOKEN_REFRESH_S) left, fetching a
    new one when needed. Raises resilience errors, or vault.SealBroken."""
    now = now or timezone.now()
    ahead_s = settings.MARKETPLACE_TOKEN_REFRESH_S if ahead_s is None else ahead_s
    fresh_enough = (connection.access_token_sealed and connection.token_expires_at
                    and connection.token_expires_at - now > timezone.timedelta(seconds=ahead_s))
    if fresh_enough and not force:
        return vault.unseal(connection.access_token_sealed)
    credentials = vault.unseal(connection.credentials_sealed)
    token = client.fetch_token(connection.base_url, api_key=credentials["api_key"],
                               api_secret=credentials["api_secret"])
    connection.access_token_sealed = vault.seal(token.access_token)
    connection.token_expires_at = now + timezone.timedelta(seconds=token.expires_in)
    connection.last_error = ""
    connection.updated_at = now
    connection.save(update_fields=["access_token_sealed", "token_expires_at", "last_error", "updated_at"])
    return token.access_token


def shop_refresh_token(*, connection_id, now=None):
    """Renew the connection's token if it lapses within the refresh window; True if a new one was fetched."""
    now = now or timezone.now()
    connection = ShopConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.token_expires_at is None:
        return False
    before = connection.token_expires_at
    try:
        shop_access_token(connection=connection, now=now,
                          ahead_s=settings.MARKETPLACE_TOKEN_REFRESH_S + TOKEN_SWEEP_AHEAD_S)
    except resilience.RequestRejected as error:
        # The credentials were revoked: stop refreshing until the user reconnects.
        ShopConnection.objects.filter(pk=connection_id).update(
            access_token_sealed="", token_expires_at=None, updated_at=now,
            last_error=MESSAGES["refused"].format(reason=client.error_message(error)))
        return False
    except (resilience.OutsideServiceError, vault.SealBroken) as error:
        logger.warning("token refresh for shop %s failed, the next sweep retries: %s", connection_id, error)
        ShopConnection.objects.filter(pk=connection_id).update(last_error=str(error)[:500], updated_at=now)
        return False
    return connection.token_expires_at != before


def shop_refresh_expiring_tokens(*, now=None, limit=500):
    """Enqueue a refresh for every token that lapses soon; returns how many."""
    now = now or timezone.now()
    before = now + timezone.timedelta(seconds=settings.MARKETPLACE_TOKEN_REFRESH_S + TOKEN_SWEEP_AHEAD_S)
    ids = list(ShopConnection.objects.tokens_expiring(before=before).order_by("token_expires_at")
               .values_list("pk", flat=True)[:limit])
    from marketplace.tasks import refresh_token

    return enqueue_each(refresh_token, ids, group="marketplace")


def listing_request(*, owner, design_id, connection_id, now=None):
    """Ask for the design to be published to the owner's shop; the work happens in a worker after commit.

    Idempotent: asking again for a listing in flight or published changes nothing; a failed one is queued again
    with a fresh attempt budget and the same idempotency key.
    """
    now = now or timezone.now()
    design = Design.objects.filter(owner=owner, pk=_uuid(design_id)).only("id", "status", "owner_id").first()
    shops = ShopConnection.objects.owned_by(owner).only("id", "owner_id")
    if connection_id:
        connection = shops.filter(pk=_uuid(connection_id)).first()
    else:
        only_shops = list(shops[:2])
        if len(only_shops) != 1:
            raise MarketplaceError(MESSAGES["choose_shop" if only_shops else "no_shop"])
        connection = only_shops[0]
    if design is None or connection is None:
        raise MarketplaceError(MESSAGES["not_found"], status=404)
    if design.status not in PUBLISHABLE:
        raise MarketplaceError(MESSAGES["not_ready"], status=409)
    from marketplace.tasks import publish_listing

    with transaction.atomic():
        listing, created = Listing.objects.get_or_create(
            design=design, connection=connection,
            defaults={"next_attempt_at": now, "created_at": now, "updated_at": now},
        )
        if not created and listing.status == Listing.Status.FAILED:
            Listing.objects.filter(pk=listing.pk, status=Listing.Status.FAILED).update(
                status=Listing.Status.QUEUED, attempts=0, next_attempt_at=now, last_error="", updated_at=now)
            listing.refresh_from_db()
            created = True
        if created:
            enqueue(publish_listing, str(listing.pk), group="marketplace")
    return listing


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise MarketplaceError(MESSAGES["not_found"], status=404) from None


def listing_payload(design):
    """What the marketplace is told about a design."""
    image_url = None
    if design.has_thumbnail:
        image_url = settings.SITE_URL + reverse("designs:thumbnail", kwargs={"sha256": design.sha256, "size": 640})
    return {"title": design.title, "sku": str(design.pk), "image_url": image_url,
            "width": design.width, "height": design.height}


def listing_publish(*, listing_id, now=None, rng=random):
    """Publish one listing if it is due: claim it (attempt number), call the marketplace, record the outcome.

    Safe to run twice or concurrently: only the current claim may write the result, and the idempotency key makes
    the marketplace answer a repeated call with the listing it already created. Returns the new status or None.
    """
    now = now or timezone.now()
    claimed = Listing.objects.due(now=now).filter(pk=listing_id).update(
        status=Listing.Status.PUBLISHING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
    if not claimed:
        return None  # not due, already published, or another worker has it
    listing = Listing.objects.select_related("design", "connection").get(pk=listing_id)
    if listing.attempts > MAX_PUBLISH_ATTEMPTS:
        return _finish(listing, status=Listing.Status.FAILED, now=now,
                       last_error=MESSAGES["gave_up"].format(attempts=MAX_PUBLISH_ATTEMPTS, error=listing.last_error))
    try:
        created = _create_listing(listing, now=now)
    except resilience.ServiceUnavailable as error:
        return _wait_for_breaker(listing, error, now=now)
    except resilience.RequestRejected as error:
        return _finish(listing, status=Listing.Status.FAILED, now=now, last_error=client.error_message(error))
    except resilience.TransientError as error:
        return _retry_later(listing, error, now=now, rng=rng)
    except vault.SealBroken:
        return _finish(listing, status=Listing.Status.FAILED, now=now, last_error=MESSAGES["credentials"])
    return _finish(listing, status=Listing.Status.PUBLISHED, now=now, external_id=str(created["id"])[:100],
                   last_error="", published_at=now)


def _create_listing(listing, *, now):
    connection = listing.connection
    payload = listing_payload(listing.design)

    def create(token):
        return client.create_listing(connection.base_url, access_token=token,
                                     idempotency_key=listing.idempotency_key, payload=payload)

    try:
        return create(shop_access_token(connection=connection, now=now))
    except resilience.RequestRejected as error:
        if error.status != 401:
            raise
        # The marketplace ended the token before its time: one fresh token, one more try.
        return create(shop_access_token(connection=connection, now=now, force=True))


def _finish(listing, *, status, now, **fields):
    """Write the outcome if this worker's claim is still current; returns the status written, or None."""
    updated = Listing.objects.filter(pk=listing.pk, status=Listing.Status.PUBLISHING,
                                     attempts=listing.attempts).update(status=status, updated_at=now, **fields)
    if not updated:
        return None  # the sweeper gave the listing to another worker: its outcome counts, not ours
    if status == Listing.Status.FAILED:
        logger.warning("listing %s failed: %s", listing.pk, fields.get("last_error"))
    return status


def _wait_for_breaker(listing, error, *, now):
    # No call was made, so no attempt is spent; the sweeper resumes the listing when the breaker half-opens.
    return _finish(listing, status=Listing.Status.WAITING, now=now, attempts=F("attempts") - 1,
                   next_attempt_at=datetime.fromtimestamp(error.retry_at, tz=UTC), last_error=MESSAGES["waiting"])


def _retry_later(listing, error, *, now, rng):
    text = str(error)[:500]
    if listing.attempts >= MAX_PUBLISH_ATTEMPTS:
        return _finish(listing, status=Listing.Status.FAILED, now=now,
                       last_error=MESSAGES["gave_up"].format(attempts=listing.attempts, error=text)[:500])
    delay = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (listing.attempts - 1)) * rng.uniform(0.8, 1.2)
    delay = max(delay, error.retry_after or 0)
    logger.info("listing %s: attempt %d failed, next in %.0f s: %s", listing.pk, listing.attempts, delay, text)
    return _finish(listing, status=Listing.Status.QUEUED, now=now, last_error=text,
                   next_attempt_at=now + timezone.timedelta(seconds=delay))


def listing_sweep(*, now=None, limit=500):
    """Enqueue due listings (retries whose backoff ran out, waits the breaker ended) and take back the ones a dead
    worker left publishing for longer than SWEEP_STALE_AFTER_S; returns how many were enqueued."""
    now = now or timezone.now()
    stale_before = now - timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S)
    from marketplace.tasks import publish_listing

    with transaction.atomic():
        revived = Listing.objects.stale(before=stale_before).update(
            status=Listing.Status.QUEUED, next_attempt_at=now, updated_at=now, last_error=MESSAGES["stale"])
        if revived:
            logger.warning("took back %d listings a dead worker left publishing", revived)
        due_ids = Listing.objects.due(now=now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
        return enqueue_each(publish_listing, due_ids, group="marketplace")
