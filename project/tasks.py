"""The one way to enqueue a task: after the surrounding transaction commits."""

import logging

from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def task_path(func):
    """Dotted path of a task callable; callables (not strings) are passed so a typo fails at import time."""
    return f"{func.__module__}.{func.__qualname__}"


def enqueue(func, *args, group=None):
    """Enqueue `func(*args)` once the current transaction commits (at once outside a transaction).

    The database row is the source of truth and the queue only a doorbell: if the broker is down the task is
    logged and dropped, and the periodic sweeper finds the row and enqueues it again.
    """

    def send():
        try:
            async_task(task_path(func), *args, group=group)
        except Exception:
            logger.exception("could not enqueue %s%r; the sweeper will retry", task_path(func), args)

    transaction.on_commit(send)
