"""`/healthz`: is every service this process depends on answering right now?"""

import logging
from concurrent.futures import ThreadPoolExecutor, wait

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.access import staff_may
from core.tasks import broker

logger = logging.getLogger(__name__)

METRICS_PERMISSION = "ops.view_metrics"  # see ops/models.py
CHECK_TIMEOUT_S = 3  # per request, all checks run concurrently; a load balancer probe must not hang


def check_database():
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connections.close_all()  # this runs in a throwaway thread: give the connection back


def check_cache():
    # Reads the raw client where there is one: the cache itself swallows Redis errors (IGNORE_EXCEPTIONS).
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):
        client.get_client(write=True).ping()
        return
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return what was written")


def check_storage():
    default_storage.exists("healthz-probe")


def check_broker():
    try:
        broker().queue_size()
    finally:
        connections.close_all()


CHECKS = {"database": check_database, "cache": check_cache, "storage": check_storage, "broker": check_broker}


def run_checks():
    """Run every check concurrently; returns {name: None if it answered, else what went wrong}."""
    errors = {}
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    futures = {executor.submit(check): name for name, check in CHECKS.items()}
    done, _ = wait(futures, timeout=CHECK_TIMEOUT_S)
    for future, name in futures.items():
        if future not in done:
            errors[name] = f"no answer within {CHECK_TIMEOUT_S} s"
        elif future.exception() is not None:
            error = future.exception()
            errors[name] = f"{type(error).__name__}: {str(error)[:200]}"
        else:
            errors[name] = None
    executor.shutdown(wait=False, cancel_futures=True)
    return errors


def _may_see_details(request):
    try:
        return staff_may(request.user, METRICS_PERMISSION)
    except DatabaseError:  # the session or user row is out of reach: answer as to anyone
        return False


@never_cache
def healthz(request):
    """{component: "ok" | "failing"}, 503 if any fails. The errors name internal hosts and ports: they go to the
    log, and into the answer (under "details") for staff holding ops.view_metrics only."""
    errors = run_checks()
    body = {name: "failing" if error else "ok" for name, error in errors.items()}
    failing = {name: error for name, error in errors.items() if error}
    for name, error in failing.items():
        logger.warning("health check: %s failing: %s", name, error)
    if failing and _may_see_details(request):
        body["details"] = failing
    return JsonResponse(body, status=503 if failing else 200)
