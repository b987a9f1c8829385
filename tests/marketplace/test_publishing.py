"""Publishing listings through a worker task against the fake marketplace: claims, retries, the breaker, the sweeper."""

import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from core import resilience
from marketplace import services, vault
from marketplace.models import Listing, ShopConnection
from tests.marketplace.conftest import API_KEY, API_SECRET, FixedJitter, create_design

pytestmark = pytest.mark.django_db


def test_publish_end_to_end_through_the_api(alice, design, shop, fake_marketplace, tasks_inline,
                                            django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(f"/api/designs/{design.pk}/listings", {"connection": str(shop.pk)},
                              content_type="application/json")
    assert response.status_code == 202
    listing = Listing.objects.get(pk=response.json()["id"])
    assert (listing.status, listing.attempts, listing.last_error) == ("published", 1, "")
    assert listing.published_at is not None
    (created,) = fake_marketplace.listings.values()
    assert listing.external_id == created["id"]
    assert created["title"] == "Mountain logo" and created["sku"] == str(design.pk)
    assert created["image_url"] == f"{settings.SITE_URL}/designs/thumbs/{design.sha256}-640.webp"
    (call,) = fake_marketplace.listing_calls()
    assert call.headers["Idempotency-Key"] == str(listing.idempotency_key)

    status = alice.get(response.json()["status_url"]).json()
    assert status["status"] == "published" and status["external_id"] == created["id"] and status["attempts"] == 1
    # Asking again changes nothing: same listing, no second call.
    with django_capture_on_commit_callbacks(execute=True):
        again = alice.post(f"/api/designs/{design.pk}/listings", {"connection": str(shop.pk)},
                           content_type="application/json")
    assert again.json()["id"] == str(listing.pk) and len(fake_marketplace.listing_calls()) == 1


def test_a_rejection_fails_the_listing_with_the_marketplace_message_after_one_call(listing, fake_marketplace):
    fake_marketplace.reject(400, "Images must be at least 1000 px wide.")
    assert services.listing_publish(listing_id=listing.pk) == "failed"
    listing.refresh_from_db()
    assert listing.status == "failed" and listing.attempts == 1
    assert listing.last_error == "400: Images must be at least 1000 px wide."
    assert len(fake_marketplace.listing_calls()) == 1
    # A failed listing is not picked up again by the sweeper.
    assert services.listing_sweep(now=timezone.now() + timedelta(hours=2)) == 0


def test_5xx_is_retried_within_the_attempt_and_then_succeeds(listing, fake_marketplace):
    fake_marketplace.fail(503, times=2)
    assert services.listing_publish(listing_id=listing.pk) == "published"
    listing.refresh_from_db()
    assert listing.attempts == 1 and listing.external_id
    calls = fake_marketplace.listing_calls()
    assert len(calls) == 3 and len({call.headers["Idempotency-Key"] for call in calls}) == 1
    assert len(fake_marketplace.listings) == 1


def test_a_timeout_that_outlasts_the_retries_reschedules_with_backoff(listing, fake_marketplace):
    fake_marketplace.slow(2)  # the marketplace creates the listing, but only after our read timeout
    t0 = timezone.now()
    started = time.monotonic()
    assert services.listing_publish(listing_id=listing.pk, now=t0, rng=FixedJitter()) == "queued"
    assert time.monotonic() - started < 2.5  # 3 attempts of 0.5 s and short backoffs: no hang
    listing.refresh_from_db()
    assert listing.status == "queued" and listing.attempts == 1
    assert listing.next_attempt_at == t0 + timedelta(seconds=services.RETRY_BASE_S)
    assert "timed out" in listing.last_error.lower()
    # Not due yet: neither the task nor the sweeper touches it.
    assert services.listing_publish(listing_id=listing.pk, now=t0 + timedelta(seconds=10)) is None
    assert services.listing_sweep(now=t0 + timedelta(seconds=10)) == 0

    time.sleep(2.1)  # let the slow handlers finish: the marketplace now holds the listing, once
    fake_marketplace.recover()
    assert services.listing_publish(listing_id=listing.pk, now=listing.next_attempt_at) == "published"
    listing.refresh_from_db()
    assert listing.attempts == 2 and listing.last_error == ""
    assert len(fake_marketplace.listings) == 1  # three timed-out calls and a retry, one listing: same key
    assert listing.external_id == next(iter(fake_marketplace.listings))


def test_an_open_breaker_parks_the_listing_until_it_half_opens_then_the_sweeper_resumes_it(
    design, shop, fake_marketplace, django_capture_on_commit_callbacks, tasks_inline
):
    fake_marketplace.fail(503)
    first = Listing.objects.create(design=design, connection=shop)
    assert services.listing_publish(listing_id=first.pk) == "queued"  # 3 calls; a 4th failure opens it
    assert resilience.breaker_state("marketplace") == "closed"
    second = Listing.objects.create(design=create_design(shop.owner, title="Second"), connection=shop)
    assert services.listing_publish(listing_id=second.pk) == "waiting"
    assert resilience.breaker_state("marketplace") == "open"
    calls = len(fake_marketplace.listing_calls())
    assert calls == 4

    third = Listing.objects.create(design=create_design(shop.owner, title="Third"), connection=shop)
    assert services.listing_publish(listing_id=third.pk) == "waiting"
    assert len(fake_marketplace.listing_calls()) == calls  # failed fast, no call made
    third.refresh_from_db()
    assert third.attempts == 0  # no call, no attempt spent
    assert third.last_error == services.MESSAGES["waiting"]
    half_open_at = third.next_attempt_at
    assert timezone.now() < half_open_at <= timezone.now() + timedelta(seconds=1)

    fake_marketplace.recover()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.listing_sweep() == 0  # still open: nothing is due
    time.sleep(max(0.0, (half_open_at - timezone.now()).total_seconds()) + 0.05)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.listing_sweep() == 2  # second and third; first waits for its backoff
    assert resilience.breaker_state("marketplace") == "closed"
    assert set(Listing.objects.filter(pk__in=[second.pk, third.pk]).values_list("status", flat=True)) == {"published"}
    assert len(fake_marketplace.listings) == 2


def test_a_listing_a_dead_worker_left_publishing_is_resumed_and_never_duplicated(
    listing, fake_marketplace, django_capture_on_commit_callbacks, tasks_inline, settings
):
    # The dead worker's call reached the marketplace and created the listing; the worker died before recording it.
    token = services.shop_access_token(connection=listing.connection)
    first = requests.post(f"{fake_marketplace.url}/v1/listings", json=services.listing_payload(listing.design),
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(listing.idempotency_key)},
                          timeout=5)
    assert first.status_code == 201
    claimed_at = timezone.now() - timedelta(seconds=settings.SWEEP_STALE_AFTER_S + 5)
    Listing.objects.filter(pk=listing.pk).update(status="publishing", attempts=1, claimed_at=claimed_at)
    assert services.listing_publish(listing_id=listing.pk) is None  # another worker's claim: not ours to take

    with django_capture_on_commit_callbacks(execute=True):
        assert services.listing_sweep() == 1
    listing.refresh_from_db()
    assert (listing.status, listing.attempts) == ("published", 2)
    assert listing.external_id == first.json()["id"]
    assert len(fake_marketplace.listings) == 1
    calls = fake_marketplace.listing_calls()
    assert len(calls) == 2 and calls[1].headers["Idempotency-Key"] == str(listing.idempotency_key)


def test_a_listing_still_within_its_claim_is_left_alone(listing, fake_marketplace):
    Listing.objects.filter(pk=listing.pk).update(status="publishing", attempts=1, claimed_at=timezone.now())
    assert services.listing_sweep() == 0
    assert Listing.objects.get(pk=listing.pk).status == "publishing"


def test_running_the_task_twice_publishes_once(listing, fake_marketplace):
    assert services.listing_publish(listing_id=listing.pk) == "published"
    assert services.listing_publish(listing_id=listing.pk) is None
    assert len(fake_marketplace.listing_calls()) == 1


def test_a_slow_worker_that_lost_its_claim_does_not_overwrite_the_new_one(listing, fake_marketplace):
    from marketplace.services import _finish

    Listing.objects.filter(pk=listing.pk).update(status="publishing", attempts=1)
    stale = Listing.objects.get(pk=listing.pk)
    Listing.objects.filter(pk=listing.pk).update(attempts=2, status="published", external_id="lst_new")
    assert _finish(stale, status="failed", now=timezone.now(), last_error="late") is None
    assert Listing.objects.get(pk=listing.pk).status == "published"


def test_publishing_gives_up_after_the_attempt_budget(listing, fake_marketplace):
    fake_marketplace.fail(500)
    Listing.objects.filter(pk=listing.pk).update(attempts=services.MAX_PUBLISH_ATTEMPTS - 1)
    assert services.listing_publish(listing_id=listing.pk) == "failed"
    listing.refresh_from_db()
    assert listing.attempts == services.MAX_PUBLISH_ATTEMPTS
    assert listing.last_error.startswith(f"Publishing failed {services.MAX_PUBLISH_ATTEMPTS} times")


def test_a_long_retry_after_reschedules_instead_of_holding_the_worker(listing, fake_marketplace):
    fake_marketplace.rate_limit(retry_after=600, times=1)
    t0 = timezone.now()
    assert services.listing_publish(listing_id=listing.pk, now=t0, rng=FixedJitter()) == "queued"
    listing.refresh_from_db()
    assert listing.next_attempt_at == t0 + timedelta(seconds=600)
    assert len(fake_marketplace.listing_calls()) == 1


def test_token_is_refreshed_before_it_lapses(shop, fake_marketplace, settings):
    issued = shop.token_expires_at
    first = vault.unseal(shop.access_token_sealed)
    assert fake_marketplace.count("/oauth/token") == 1
    # More than 5 minutes left: the stored token is used.
    assert services.shop_access_token(connection=shop, now=issued - timedelta(seconds=301)) == first
    assert fake_marketplace.count("/oauth/token") == 1
    # Less than 5 minutes left: a new one is fetched and stored.
    later = issued - timedelta(seconds=299)
    second = services.shop_access_token(connection=shop, now=later)
    assert second != first and fake_marketplace.count("/oauth/token") == 2
    shop.refresh_from_db()
    assert shop.token_expires_at == later + timedelta(seconds=fake_marketplace.token_lifetime_s)
    assert vault.unseal(shop.access_token_sealed) == second


def test_the_periodic_task_refreshes_tokens_about_to_lapse(user, fake_marketplace, tasks_inline,
                                                           django_capture_on_commit_callbacks):
    fake_marketplace.token_lifetime_s = 200  # under the 5-minute margin from the start
    shop = services.shop_connect(owner=user, base_url=fake_marketplace.url, api_key=API_KEY, api_secret=API_SECRET)
    fake_marketplace.token_lifetime_s = 3600
    from marketplace.tasks import sweep_listings

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_listings() == {"listings": 0, "tokens": 1}
    shop.refresh_from_db()
    assert shop.token_expires_at > timezone.now() + timedelta(minutes=55)
    assert fake_marketplace.count("/oauth/token") == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_listings() == {"listings": 0, "tokens": 0}


def test_revoked_credentials_stop_the_refresher(shop, fake_marketplace):
    fake_marketplace.clients.clear()
    soon = shop.token_expires_at - timedelta(seconds=60)
    assert services.shop_refresh_token(connection_id=shop.pk, now=soon) is False
    shop.refresh_from_db()
    assert shop.token_expires_at is None and shop.access_token_sealed == ""
    assert "Unknown API key" in shop.last_error
    assert services.shop_refresh_expiring_tokens(now=soon) == 0


def test_a_token_the_marketplace_dropped_early_is_replaced_once(listing, fake_marketplace):
    fake_marketplace.expire_tokens()
    assert services.listing_publish(listing_id=listing.pk) == "published"
    assert fake_marketplace.count("/oauth/token") == 2
    assert len(fake_marketplace.listing_calls()) == 2


def test_credentials_and_tokens_are_never_stored_in_plain_text(shop, fake_marketplace):
    table = ShopConnection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # the raw columns, as a database dump would show them
        (row,) = cursor.fetchall()
    stored = " ".join(str(value) for value in row)
    token = next(iter(fake_marketplace.tokens))
    assert API_SECRET not in stored and API_KEY not in stored and token not in stored
    assert vault.unseal(shop.credentials_sealed) == {"api_key": API_KEY, "api_secret": API_SECRET}
    assert vault.unseal(shop.access_token_sealed) == token


def test_credentials_sealed_under_another_key_fail_the_listing_with_a_clear_message(listing, settings):
    settings.SECRET_KEY = "another-secret-key-" + uuid.uuid4().hex
    assert services.listing_publish(listing_id=listing.pk) == "failed"
    listing.refresh_from_db()
    assert listing.last_error == services.MESSAGES["credentials"]


def test_wrong_credentials_are_refused_and_nothing_is_stored(user, fake_marketplace):
    with pytest.raises(services.MarketplaceError) as caught:
        services.shop_connect(owner=user, base_url=fake_marketplace.url, api_key=API_KEY, api_secret="wrong")
    assert "Unknown API key or wrong secret" in caught.value.message
    assert not ShopConnection.objects.exists()


def test_an_unreachable_marketplace_still_saves_the_connection(user, fake_marketplace):
    fake_marketplace.fail(503, path="/oauth/token")
    shop = services.shop_connect(owner=user, base_url=fake_marketplace.url, api_key=API_KEY, api_secret=API_SECRET)
    assert shop.token_expires_at is None and "could not be reached" in shop.last_error
    assert fake_marketplace.count("/oauth/token") == 1  # one try while the user waits; the refresher retries


@pytest.mark.parametrize("url", ["http://example.com", "https://127.0.0.1:8000", "https://10.1.2.3",
                                 "https://169.254.169.254/latest", "https://localhost", "ftp://example.com",
                                 "https://[::1]/"])
def test_marketplace_addresses_inside_our_network_are_refused(url, settings):
    settings.MARKETPLACE_URLS = []
    with pytest.raises(services.MarketplaceError):
        services.marketplace_url_check(url)


def test_waiting_listings_resume_when_their_time_comes(listing):
    later = timezone.now() + timedelta(minutes=1)
    Listing.objects.filter(pk=listing.pk).update(status="waiting", next_attempt_at=later)
    assert services.listing_sweep(now=later - timedelta(seconds=1)) == 0
    assert services.listing_sweep(now=later) == 1


def test_an_answer_that_is_not_a_listing_fails_without_retrying(listing, fake_marketplace):
    fake_marketplace.fail(302, times=1, message="Moved")  # redirects are never followed: they could point anywhere
    assert services.listing_publish(listing_id=listing.pk) == "failed"
    listing.refresh_from_db()
    assert listing.last_error.startswith("302:") and len(fake_marketplace.listing_calls()) == 1


def test_the_sweeper_runs_every_minute():
    from marketplace.tasks import sweep_listings
    from ops.schedules import periodic_tasks

    assert [periodic.minutes for periodic in periodic_tasks() if periodic.func is sweep_listings] == [1]
