"""The task queue's own housekeeping."""

from core.tasks import Periodic

TASK_RESULTS_KEPT = 1000  # successful task results kept for /metrics and the admin; failures are all kept


def prune_task_results(keep=TASK_RESULTS_KEPT):
    """Delete successful task results beyond the newest `keep`; returns how many went. Runs every minute.

    Stands in for django-q2's save_limit, whose monitor loads and unpickles every kept result to save one more
    (~20 ms of CPU per task with 1000 kept).
    """
    from django_q.models import Success

    newest_dropped = Success.objects.order_by("-stopped").values_list("stopped", flat=True)[keep : keep + 1]
    if not newest_dropped:
        return 0
    deleted, _ = Success.objects.filter(stopped__lte=newest_dropped[0]).delete()
    return deleted


PERIODIC = [Periodic("tasks: prune old results", prune_task_results, minutes=1)]
