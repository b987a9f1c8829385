"""The one way to enqueue a task (after the surrounding transaction commits), and the task queue's housekeeping."""

import functools
import logging

from django.db import transaction
from django_q.brokers import get_broker
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def task_path(func):
    """Dotted path of a task callable; callables (not strings) are passed so a typo fails at import time."""
    return f"{func.__module__}.{func.__qualname__}"


@functools.cache
def broker():
    """The task broker, one per process. django-q2 makes a new one for every task it is not handed, and a new Redis
    broker is a new connection pool: a TCP connection and its handshake for each task (a 3-file upload opened 3).
    redis-py's pool reconnects after an outage and starts afresh in a forked child."""
    return get_broker()


def enqueue(func, *args, group=None):
    """Enqueue `func(*args)` once the current transaction commits (at once outside a transaction).

    The database row is the source of truth and the queue only a doorbell: if the broker is down the task is
    logged and dropped, and the periodic sweeper finds the row and enqueues it again.
    """

    def send():
        try:
            async_task(task_path(func), *args, group=group, broker=broker())
        except Exception:
            logger.exception("could not enqueue %s%r; the sweeper will retry", task_path(func), args)

    transaction.on_commit(send)


def enqueue_each(func, ids, *, group):
    """`enqueue(func, id)` for each id, as a string; returns how many."""
    count = 0
    for pk in ids:
        enqueue(func, str(pk), group=group)
        count += 1
    return count


def reenqueue_stale(stale, func, *, now, group, limit=500):
    """Enqueue `func(id)` again for each row of `stale` (work a dead worker or a lost message left in flight).

    Touching `updated_at` means each row is re-enqueued at most once per SWEEP_STALE_AFTER_S. Returns how many.
    """
    ids = list(stale.order_by("updated_at").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    with transaction.atomic():
        stale.model.objects.filter(pk__in=ids).update(updated_at=now)
        enqueue_each(func, ids, group=group)
    logger.warning("re-enqueued %d stale %s", len(ids), stale.model._meta.verbose_name_plural)
    return len(ids)


TASK_RESULTS_KEPT = 1000  # successful task results kept for /metrics and the admin; failures are all kept


def prune_task_results(keep=TASK_RESULTS_KEPT):
    """Delete successful task results beyond the newest `keep`; returns how many went. Runs every minute.

    Stands in for django-q2's save_limit, whose monitor loads and unpickles every kept result to save one more:
    with 1000 kept that cost ~20 ms of CPU per task, a quarter of a core under `python -m bench load` (py-spy).
    """
    from django_q.models import Success

    newest_dropped = Success.objects.order_by("-stopped").values_list("stopped", flat=True)[keep : keep + 1]
    if not newest_dropped:
        return 0
    deleted, _ = Success.objects.filter(stopped__lte=newest_dropped[0]).delete()
    return deleted
