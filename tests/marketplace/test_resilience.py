"""project/resilience.py against a real HTTP server on loopback: timeouts, retries, Retry-After, the breaker."""

import socket
import subprocess
import sys
import threading
import time

import pytest

from core import resilience
from core.resilience import RequestRejected, ServiceUnavailable, TransientError
from tests.conftest import REPO
from tests.marketplace.conftest import QUICK, quick_service

LISTING = {"title": "Mountain logo"}


def token(fake):
    return fake._token({"Content-Type": "application/json"},
                       b'{"grant_type": "client_credentials", "client_id": "key-123", "client_secret": "secret-456"}'
                       )[1]["access_token"]


def create(service, fake, **kwargs):
    return service.request("POST", f"{fake.url}/v1/listings", json=LISTING,
                           headers={"Authorization": f"Bearer {token(fake)}"}, **kwargs)


def test_a_healthy_call_answers_and_reuses_its_connection(fake_marketplace):
    service = quick_service()
    assert create(service, fake_marketplace).status_code == 201
    assert create(service, fake_marketplace).status_code == 201
    first, second = fake_marketplace.listing_calls()
    assert first.client_port == second.client_port  # one kept-alive connection, not a handshake per call


def test_a_4xx_is_never_retried_and_carries_the_marketplace_message(fake_marketplace):
    fake_marketplace.reject(400, "Titles are limited to 140 characters.")
    service = quick_service()
    with pytest.raises(RequestRejected) as caught:
        create(service, fake_marketplace)
    assert caught.value.status == 400
    assert "Titles are limited to 140 characters." in caught.value.response.text
    assert fake_marketplace.count("/v1/listings") == 1
    assert service.breaker.state() == "closed"


def test_5xx_is_retried_with_backoff_until_it_succeeds(fake_marketplace):
    fake_marketplace.fail(503, times=1)
    fake_marketplace.fail(500, times=1)
    response = create(quick_service(backoff=0.1), fake_marketplace)
    assert response.status_code == 201
    calls = fake_marketplace.listing_calls()
    assert len(calls) == 3
    # Exponential: about 0.1 s (+ up to 0.1 jitter), then 0.2 s (+ jitter) between attempts.
    assert calls[1].at - calls[0].at >= 0.1 and calls[2].at - calls[1].at >= 0.2


def test_transient_failures_stop_after_max_attempts(fake_marketplace):
    fake_marketplace.fail(502)
    with pytest.raises(TransientError) as caught:
        create(quick_service(max_attempts=3, failure_threshold=10), fake_marketplace)
    assert caught.value.status == 502
    assert fake_marketplace.count("/v1/listings") == 3


def test_retry_after_is_honoured(fake_marketplace):
    fake_marketplace.rate_limit(retry_after=1, times=1)
    assert create(quick_service(), fake_marketplace).status_code == 201
    first, second = fake_marketplace.listing_calls()
    assert second.at - first.at >= 1.0


def test_a_retry_after_too_long_to_sleep_through_is_handed_to_the_caller(fake_marketplace):
    fake_marketplace.rate_limit(retry_after=120, times=1)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        create(quick_service(max_retry_after=2), fake_marketplace)
    assert time.monotonic() - started < 1
    assert caught.value.status == 429 and caught.value.retry_after == 120
    assert fake_marketplace.count("/v1/listings") == 1


def test_a_read_timeout_is_a_transient_failure_not_a_hang(fake_marketplace):
    fake_marketplace.slow(3)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        create(quick_service(read_timeout=0.3, max_attempts=2), fake_marketplace)
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.5  # two attempts of 0.3 s and a short backoff, far from the server's 3 s each
    assert "timed out" in str(caught.value).lower()
    assert fake_marketplace.count("/v1/listings") == 2


def test_connection_refused_is_transient(fake_marketplace):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    service = quick_service(max_attempts=2)
    with pytest.raises(TransientError) as caught:
        service.request("GET", f"http://127.0.0.1:{port}/v1/listings/x")
    assert "ConnectionError" in str(caught.value)


def test_timeouts_cannot_be_switched_off_per_call(fake_marketplace):
    with pytest.raises(TypeError):
        quick_service().request("GET", f"{fake_marketplace.url}/v1/listings/x", timeout=None)
    assert fake_marketplace.count() == 0


def test_the_breaker_opens_fails_fast_half_opens_and_closes_on_success(fake_marketplace):
    service = quick_service(max_attempts=1, failure_threshold=3, reset_timeout=1)
    fake_marketplace.fail(503)
    for _ in range(3):
        with pytest.raises(TransientError):
            create(service, fake_marketplace)
    assert service.breaker.state() == "open"
    assert fake_marketplace.count("/v1/listings") == 3

    started = time.time()
    for _ in range(20):
        with pytest.raises(ServiceUnavailable) as caught:
            create(service, fake_marketplace)
    assert time.time() - started < 0.5
    assert fake_marketplace.count("/v1/listings") == 3  # fail fast: no call reached the marketplace
    assert started < caught.value.retry_at <= started + 1

    time.sleep(max(0.0, caught.value.retry_at - time.time()) + 0.05)
    assert service.breaker.state() == "half-open"
    fake_marketplace.recover()
    assert create(service, fake_marketplace).status_code == 201  # the probe
    assert service.breaker.state() == "closed"
    assert create(service, fake_marketplace).status_code == 201
    assert fake_marketplace.count("/v1/listings") == 5


def test_a_failed_probe_opens_the_breaker_again(fake_marketplace):
    service = quick_service(max_attempts=1, failure_threshold=2, reset_timeout=0.5)
    fake_marketplace.fail(503)
    for _ in range(2):
        with pytest.raises(TransientError):
            create(service, fake_marketplace)
    time.sleep(0.6)
    assert service.breaker.state() == "half-open"
    with pytest.raises(TransientError):
        create(service, fake_marketplace)  # the probe, and the marketplace is still down
    assert service.breaker.state() == "open"
    with pytest.raises(ServiceUnavailable):
        create(service, fake_marketplace)
    assert fake_marketplace.count("/v1/listings") == 3


def test_half_open_lets_a_single_probe_through(fake_marketplace):
    service = quick_service(max_attempts=1, failure_threshold=1, reset_timeout=0.3, read_timeout=2)
    fake_marketplace.fail(503, times=1)
    with pytest.raises(TransientError):
        create(service, fake_marketplace)
    time.sleep(0.4)
    fake_marketplace.slow(0.5, times=1)
    probe = threading.Thread(target=create, args=(service, fake_marketplace))
    probe.start()
    time.sleep(0.15)  # the probe is waiting for its answer
    with pytest.raises(ServiceUnavailable):
        create(service, fake_marketplace)
    probe.join()
    assert service.breaker.state() == "closed"
    assert fake_marketplace.count("/v1/listings") == 2


def test_a_4xx_does_not_count_towards_opening_the_breaker(fake_marketplace):
    service = quick_service(max_attempts=1, failure_threshold=2)
    fake_marketplace.reject(422, "Bad title")
    for _ in range(5):
        with pytest.raises(RequestRejected):
            create(service, fake_marketplace)
    assert service.breaker.state() == "closed"


def test_breaker_states_lists_the_configured_services(fake_marketplace):
    service = resilience.service("marketplace")
    assert resilience.breaker_states()["marketplace"] == "closed"
    fake_marketplace.fail(503)
    for _ in range(2):  # 2 requests x 3 attempts >= the threshold of 4
        with pytest.raises((TransientError, ServiceUnavailable)):
            create(service, fake_marketplace)
    assert resilience.breaker_states()["marketplace"] == resilience.breaker_state("marketplace") == "open"


@pytest.mark.redis
def test_the_breaker_state_is_shared_with_other_processes_through_redis(fake_marketplace, worker_env, settings):
    # Open long enough for a fresh interpreter to start and look (the other process reads only the shared state).
    settings.OUTSIDE_SERVICES = {"marketplace": {**QUICK, "reset_timeout": 60}}
    service = resilience.service("marketplace")
    fake_marketplace.fail(503)
    with pytest.raises(TransientError):
        create(service, fake_marketplace)
    with pytest.raises((TransientError, ServiceUnavailable)):
        create(service, fake_marketplace)
    assert service.breaker.state() == "open"
    calls = fake_marketplace.count()

    snippet = (
        "import django; django.setup()\n"
        "from core.resilience import ServiceUnavailable, breaker_state, service\n"
        "print(breaker_state('marketplace'))\n"
        "try:\n"
        f"    service('marketplace').request('GET', '{fake_marketplace.url}/v1/listings/x')\n"
        "except ServiceUnavailable:\n"
        "    print('failed fast')\n"
    )
    other = subprocess.run([sys.executable, "-c", snippet], cwd=REPO, env=worker_env, capture_output=True, text=True,
                           timeout=60)
    assert other.returncode == 0, other.stderr
    assert other.stdout.split() == ["open", "failed", "fast"]
    assert fake_marketplace.count() == calls  # the other process never called the marketplace
