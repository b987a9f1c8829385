"""Publishing while the marketplace is down, with the circuit breaker and without it.

The fake marketplace (tests/marketplace/fake_marketplace.py, a real HTTP server on loopback) hangs for `--delay`
seconds and then answers 503, the usual shape of an overloaded API. `--workers` threads, standing in for task workers,
make `--publishes` publish attempts through the production code path (marketplace.client -> core.resilience)
with the production timeouts, retries and breaker settings; the only difference between the rows is the breaker.
    python -m bench marketplace [--publishes 100] [--workers 20] [--delay 2]
"""

import argparse
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import django
from django.conf import settings

PUBLISHES = 100
WORKERS = 20
DELAY_S = 2.0


def main():
    parser = argparse.ArgumentParser(prog="python -m bench marketplace")
    parser.add_argument("--publishes", type=int, default=PUBLISHES)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--delay", type=float, default=DELAY_S, help="seconds the marketplace hangs before its 503")
    args = parser.parse_args()
    django.setup()
    run(args.publishes, args.workers, args.delay)


def publish_all(fake, publishes, workers):
    """Run the publish attempts on a pool; returns (wall seconds, per-publish seconds, outcome counts)."""
    from core import resilience
    from marketplace import client

    def publish(_):
        started = time.perf_counter()
        try:
            client.create_listing(fake.url, access_token="bench", idempotency_key=uuid.uuid4(),
                                  payload={"title": "Bench design"})
            outcome = "published"
        except resilience.ServiceUnavailable:
            outcome = "breaker open"
        except resilience.OutsideServiceError:
            outcome = "retries used up"
        return time.perf_counter() - started, outcome

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(publish, range(publishes)))
    wall = time.perf_counter() - started
    outcomes = {}
    for _, outcome in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return wall, [seconds for seconds, _ in results], outcomes


def run(publishes, workers, delay):
    from django.test.utils import override_settings

    from bench.timing import print_table, summary
    from core import resilience
    from tests.marketplace.fake_marketplace import FakeMarketplace

    logging.getLogger("core.resilience").setLevel(logging.ERROR)  # a retry log line per call would drown the table
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # more threads here than one worker has
    production = settings.OUTSIDE_SERVICES["marketplace"]
    fake = FakeMarketplace().start()
    fake.fail(503, delay=delay)
    rows = []
    try:
        for label, threshold in (("with breaker", production["failure_threshold"]), ("without breaker", 0)):
            config = {**production, "failure_threshold": threshold}
            with override_settings(OUTSIDE_SERVICES={**settings.OUTSIDE_SERVICES, "marketplace": config}):
                breaker = resilience.service("marketplace").breaker
                breaker.reset()
                calls_before = fake.count("/v1/listings")
                wall, durations, outcomes = publish_all(fake, publishes, workers)
                calls = fake.count("/v1/listings") - calls_before
                breaker.reset()
            p50, p95 = summary([seconds * 1000 for seconds in durations])
            rows.append([label, publishes, f"{wall:.1f}", calls, f"{sum(durations):.0f}", f"{p50:.0f}", f"{p95:.0f}",
                         outcomes.get("breaker open", 0), outcomes.get("retries used up", 0)])
    finally:
        fake.stop()
    print(f"marketplace down: hangs {delay:g} s then 503 · {publishes} publish attempts on {workers} worker threads"
          f" · timeouts {production['connect_timeout']}/{production['read_timeout']} s,"
          f" {production['max_attempts']} attempts per publish, breaker opens after"
          f" {production['failure_threshold']} failures for {production['reset_timeout']} s")
    print_table(["mode", "publishes", "wall s", "outside calls", "worker-s held", "p50 ms", "p95 ms",
                 "ended: breaker open", "ended: retries used up"], rows)
