"""`/healthz`: is every service this process depends on answering right now?"""

import logging
from concurrent.futures import ThreadPoolExecutor, wait

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from project.tasks import broker

logger = logging.getLogger(__name__)

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
    """Run every check concurrently; returns {name: "ok" | "error: ..."}."""
    results = {}
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    futures = {executor.submit(check): name for name, check in CHECKS.items()}
    done, _ = wait(futures, timeout=CHECK_TIMEOUT_S)
    for future, name in futures.items():
        if future not in done:
            results[name] = f"error: no answer within {CHECK_TIMEOUT_S} s"
        elif future.exception() is not None:
            error = future.exception()
            results[name] = f"error: {type(error).__name__}: {str(error)[:200]}"
        else:
            results[name] = "ok"
    executor.shutdown(wait=False, cancel_futures=True)
    return results


@never_cache
def healthz(request):
    results = run_checks()
    healthy = all(value == "ok" for value in results.values())
    if not healthy:
        logger.warning("health check failed: %s", results)
    return JsonResponse(results, status=200 if healthy else 503)
