"""`/metrics` for Prometheus: request latency by view, 5xx counts, and the state of work read at scrape time.

Each web host is scraped on its own. Under gunicorn, PROMETHEUS_MULTIPROC_DIR (a folder made empty before gunicorn
starts) lets any of the host's processes answer for all of them; without it a scrape sees its own process only.
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Avg, Count, F
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django_q.models import Task
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core.access import staff_may
from core.resilience import breaker_states
from core.tasks import broker
from designs.models import Design
from ops.health import METRICS_PERMISSION
from orders.models import OutgoingMail

logger = logging.getLogger(__name__)

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BREAKER_CODES = {"closed": 0, "half-open": 1, "open": 2}

# In no registry of their own: a scrape chooses between this process's values and every process's files.
REQUEST_SECONDS = Histogram(
    "threadline_http_request_duration_seconds", "Server-side request time by view and status class.",
    ["view", "status"], buckets=BUCKETS_S, registry=None,
)
SERVER_ERRORS = Counter(
    "threadline_http_server_errors", "Responses with a 5xx status, by view.", ["view"], registry=None,
)


def record_request(view, status, seconds):
    """Count one request; never raises (metrics must not break a page)."""
    try:
        REQUEST_SECONDS.labels(view=view, status=f"{status // 100}xx").observe(seconds)
        if status >= 500:
            SERVER_ERRORS.labels(view=view).inc()
    except Exception:
        logger.warning("metrics: could not record a request", exc_info=True)


class WorkCollector:
    """Designs and mails by status, queue depth, recent tasks and circuit breakers, read when Prometheus scrapes.

    Three grouped queries on indexed or small tables (status is the first column of design_status_updated and
    mail_status_next; django-q2 keeps ops.tasks.TASK_RESULTS_KEPT successes), the broker's queue size and one
    cache round trip for the breakers.
    """

    def collect(self):
        try:
            yield from [self._by_status("threadline_designs", "Designs by status.", Design),
                        self._by_status("threadline_mails", "Outgoing mails by status.", OutgoingMail),
                        *self._recent_tasks()]
        except DatabaseError as error:  # the request metrics matter most then: serve them without these
            logger.warning("metrics: database unavailable: %s", error)
        try:
            depth = broker().queue_size()
        except Exception as error:
            logger.warning("metrics: broker unavailable: %s", error)
        else:
            yield GaugeMetricFamily("threadline_queue_depth", "Tasks waiting in the broker.", value=depth)
        breakers = GaugeMetricFamily("threadline_circuit_breaker_state", "0 closed, 1 half-open, 2 open.",
                                     labels=["service"])
        for service, state in sorted(breaker_states().items()):
            breakers.add_metric([service], BREAKER_CODES.get(state, -1))
        yield breakers

    @staticmethod
    def _by_status(name, documentation, model):
        counts = dict(model.objects.order_by().values_list("status").annotate(n=Count("id")))
        family = GaugeMetricFamily(name, documentation, labels=["status"])
        for status in model.Status:
            family.add_metric([status.value], counts.get(status.value, 0))
        return family

    @staticmethod
    def _recent_tasks():
        labels = ["func", "success"]
        results = GaugeMetricFamily("threadline_recent_tasks",
                                    "Recent task results kept by django-q2, by function and outcome.", labels=labels)
        durations = GaugeMetricFamily("threadline_recent_task_seconds", "Mean duration of those tasks.",
                                      labels=labels)
        rows = (Task.objects.order_by().values("func", "success")
                .annotate(n=Count("id"), seconds=Avg(F("stopped") - F("started"))))
        for row in rows:
            values = [row["func"], str(row["success"]).lower()]
            results.add_metric(values, row["n"])
            durations.add_metric(values, row["seconds"].total_seconds() if row["seconds"] is not None else 0)
        return results, durations


def scrape_registry():
    """What one scrape reads: the request metrics of every process on this host (or of this one), and the work."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REQUEST_SECONDS)
        registry.register(SERVER_ERRORS)
    registry.register(WorkCollector())
    return registry


def _bearer_token(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@never_cache
def metrics(request):
    """The metrics for a bearer of METRICS_TOKEN or a staff session holding ops.view_metrics; 401 for a wrong token,
    else 403."""
    token = _bearer_token(request)
    if token is not None:
        expected = settings.METRICS_TOKEN
        if not (expected and hmac.compare_digest(token.encode(), expected.encode())):
            response = HttpResponse("Invalid metrics token.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics", error="invalid_token"'
            return response
    elif not staff_may(request.user, METRICS_PERMISSION):
        return HttpResponseForbidden("Staff with the metrics permission, or a metrics token, only.\n",
                                     content_type="text/plain")
    encode, content_type = choose_encoder(request.headers.get("Accept"))
    return HttpResponse(encode(scrape_registry()), content_type=content_type)
