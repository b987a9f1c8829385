"""The one way to enqueue a task (after the surrounding transaction commits), and what every app's tasks share."""

import functools
import logging
import os
from dataclasses import dataclass

from django.conf import settings
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


@dataclass(frozen=True)
class Periodic:
    """A task run every `minutes` by the cluster's scheduler; each app lists its own in `<app>.tasks.PERIODIC`."""

    name: str
    func: object  # the task callable itself, so a renamed task fails at import time
    minutes: int


def lower_worker_priority(**signal_kwargs):
    """When a task worker starts (django-q2's post_spawn): nice it to Q_WORKER_NICE, so that page requests on the
    same host come first. Production may set the priority from its service manager instead (systemd Nice=)."""
    niceness = settings.Q_WORKER_NICE
    if niceness and os.getpriority(os.PRIO_PROCESS, 0) < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
