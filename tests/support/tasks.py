"""Task functions that tests enqueue into a real cluster."""

from django.contrib.auth import get_user_model


def count_users_plus(n):
    """Touches the database, so a broken connection in a forked worker shows up as a failed task."""
    return get_user_model().objects.count() + n


def worker_niceness():
    import os

    return os.getpriority(os.PRIO_PROCESS, 0)



def mark_then_sleep(path, seconds):
    """Says it has started (a file at `path`), then stays busy: a task that a stopping cluster must drain."""
    import time
    from pathlib import Path

    Path(path).write_text("started")
    time.sleep(seconds)
    return seconds
