"""`/metrics` in the Prometheus text format: request latency by view, tasks, queue, designs, mail, breakers.

Request latency is counted in each process's memory and, when REDIS_URL is set, added to shared counters in Redis
at most once a second per process (a scrape sees every web process's counts up to then, plus its own).
Everything else is read from the database at scrape time.
"""

import logging
import threading
import time
from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F
from django.http import HttpResponse

logger = logging.getLogger(__name__)

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REDIS_PAUSE_S = 10  # after a Redis error, count locally for this long instead of paying a timeout per request
FLUSH_S = 1.0  # a web process sends its request counts to Redis at most this often

_local = Counter()
_local_lock = threading.Lock()
_redis_paused_until = 0.0
_last_flush = 0.0


def _redis():
    if "redis" not in settings.CACHES["default"]["BACKEND"] or time.monotonic() < _redis_paused_until:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _redis_key():
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'tl')}:metrics:requests"


def _bucket(seconds):
    return next((f"{bound:g}" for bound in BUCKETS_S if seconds <= bound), "+Inf")


def record_request(view, status, seconds):
    """Count one request; never raises (metrics must not break a page).

    Counted in this process and sent to Redis at most every FLUSH_S: a Redis round trip per request was the
    largest fixed cost of a bare page after Django itself.
    """
    global _last_flush
    now = time.monotonic()
    with _local_lock:
        _local[f"{view}|{_bucket(seconds)}"] += 1
        _local[f"{view}|count"] += 1
        if status >= 500:
            _local[f"{view}|errors"] += 1
        _local[f"{view}|sum"] += seconds
        client = _redis() if now - _last_flush >= FLUSH_S else None
        if client is None:
            return
        batch = Counter(_local)
        _local.clear()
        _last_flush = now
    _flush(client, batch)


def _flush(client, batch):
    global _redis_paused_until
    try:
        key, pipe = _redis_key(), client.pipeline(transaction=False)
        for field, amount in batch.items():
            if field.endswith("|sum"):
                pipe.hincrbyfloat(key, field, amount)
            else:
                pipe.hincrby(key, field, int(amount))
        pipe.execute()
    except Exception as error:
        logger.warning("metrics: Redis unavailable (%s); counting locally for %d s", error, REDIS_PAUSE_S)
        _redis_paused_until = time.monotonic() + REDIS_PAUSE_S
        with _local_lock:
            _local.update(batch)  # kept for the next flush, or for this process's own scrapes


def _request_counters():
    counters = Counter()
    client = _redis()
    if client is not None:
        try:
            for field, value in client.hgetall(_redis_key()).items():
                counters[field.decode()] += float(value)
        except Exception:
            logger.warning("metrics: could not read request counters from Redis")
    with _local_lock:
        counters.update(_local)
    return counters


def _request_lines():
    counters = _request_counters()
    views = sorted({field.split("|", 1)[0] for field in counters})
    lines = ["# HELP threadline_http_request_duration_seconds Server-side request time by view.",
             "# TYPE threadline_http_request_duration_seconds histogram"]
    for view in views:
        cumulative = 0
        for bound in [f"{bound:g}" for bound in BUCKETS_S] + ["+Inf"]:
            cumulative += counters.get(f"{view}|{bound}", 0)
            lines.append(f'threadline_http_request_duration_seconds_bucket{{view="{view}",le="{bound}"}} '
                         f"{int(cumulative)}")
        lines.append(f'threadline_http_request_duration_seconds_sum{{view="{view}"}} {counters[f"{view}|sum"]:.6f}')
        lines.append(f'threadline_http_request_duration_seconds_count{{view="{view}"}} '
                     f'{int(counters[f"{view}|count"])}')
    lines += ["# HELP threadline_http_server_errors_total Responses with a 5xx status, by view.",
              "# TYPE threadline_http_server_errors_total counter"]
    lines += [f'threadline_http_server_errors_total{{view="{view}"}} {int(counters.get(f"{view}|errors", 0))}'
              for view in views]
    return lines


def _gauge(name, help_text, label, counts):
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(counts.items())]
    return lines


def _database_lines():
    from django_q.models import Task

    from designs.models import Design
    from orders.models import OutgoingMail
    from project.tasks import broker

    designs = dict(Design.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    mails = dict(OutgoingMail.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    lines = _gauge("threadline_designs", "Designs by status.", "status",
                   {status.value: designs.get(status.value, 0) for status in Design.Status})
    lines += _gauge("threadline_mails", "Outgoing mails by status.", "status",
                    {status.value: mails.get(status.value, 0) for status in OutgoingMail.Status})
    try:
        depth = broker().queue_size()
        lines += ["# HELP threadline_queue_depth Tasks waiting in the broker.", "# TYPE threadline_queue_depth gauge",
                  f"threadline_queue_depth {depth}"]
    except Exception:
        logger.warning("metrics: broker unavailable")
    # The last TASK_RESULTS_KEPT successes (project.tasks.prune_task_results) and every failure: a window of recent
    # tasks, enough for rates and durations.
    recent = (Task.objects.values("func", "success")
              .annotate(n=Count("id"), seconds=Avg(F("stopped") - F("started"))))
    lines += ["# HELP threadline_recent_tasks Recent task results kept by django-q2, by function and outcome.",
              "# TYPE threadline_recent_tasks gauge"]
    durations = ["# HELP threadline_recent_task_seconds Mean duration of those tasks.",
                 "# TYPE threadline_recent_task_seconds gauge"]
    for row in recent:
        labels = f'func="{row["func"]}",success="{str(row["success"]).lower()}"'
        lines.append(f"threadline_recent_tasks{{{labels}}} {row['n']}")
        seconds = row["seconds"].total_seconds() if row["seconds"] is not None else 0
        durations.append(f"threadline_recent_task_seconds{{{labels}}} {seconds:.3f}")
    return lines + durations


def _breaker_lines():
    try:
        from project.resilience import breaker_states
    except ImportError:
        return []
    codes = {"closed": 0, "half-open": 1, "open": 2}
    lines = ["# HELP threadline_circuit_breaker_state 0 closed, 1 half-open, 2 open.",
             "# TYPE threadline_circuit_breaker_state gauge"]
    for service, state in sorted(breaker_states().items()):
        lines.append(f'threadline_circuit_breaker_state{{service="{service}"}} {codes.get(state, -1)}')
    return lines


def metrics(request):
    client_ip = request.META.get("REMOTE_ADDR", "")
    if not (request.user.is_authenticated and request.user.is_staff) and client_ip not in settings.METRICS_ALLOWED_IPS:
        raise PermissionDenied
    body = "\n".join(_request_lines() + _database_lines() + _breaker_lines()) + "\n"
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
