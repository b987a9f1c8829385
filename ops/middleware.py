"""Request timing and graceful degradation."""

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse
from django.template.response import SimpleTemplateResponse

from ops.metrics import record_request

logger = logging.getLogger("ops.requests")


class QueryTimer:
    """An execute_wrapper that counts queries and adds up their time."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - start


class ServerTimingMiddleware:
    """Adds `Server-Timing: total, db` to every response and logs requests slower than SLOW_REQUEST_MS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timer = QueryTimer()
        start = time.perf_counter()
        wrapped = []
        for conn in connections.all():
            cm = conn.execute_wrapper(timer)
            cm.__enter__()
            wrapped.append(cm)
        try:
            response = self.get_response(request)
        finally:
            for cm in reversed(wrapped):
                cm.__exit__(None, None, None)
        elapsed = time.perf_counter() - start
        total_ms = elapsed * 1000
        db_ms = timer.seconds * 1000
        match = getattr(request, "resolver_match", None)
        record_request(match.view_name if match else "unmatched", response.status_code, elapsed)
        response["Server-Timing"] = (
            f'total;dur={total_ms:.1f}, db;dur={db_ms:.1f};desc="{timer.count} queries"'
        )
        if total_ms >= settings.SLOW_REQUEST_MS:
            logger.warning(
                "slow request %s %s %s %.0f ms, %d queries, %.0f ms in db",
                request.method, request.path, response.status_code, total_ms, timer.count, db_ms,
            )
        return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database into a clean 503 (JSON for the API, a page otherwise) instead of a stack trace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A pool timeout arrives as OperationalError too: Django wraps the driver's errors.
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable: %s %s: %s", request.method, request.path, exception)
        message = "The service is briefly unavailable. Please try again in a moment."
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": message, "details": "database unavailable"}, status=503)
        else:
            response = SimpleTemplateResponse("503.html", {"message": message}, status=503)
            response.render()
        response["Retry-After"] = "5"
        return response
