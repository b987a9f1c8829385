"""A real `qcluster` (forked workers, real broker) works through 200 tasks on this database."""

import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Task
from django_q.tasks import async_task

from tests.conftest import uses_postgres, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASKS = 200


def test_a_real_cluster_completes_200_tasks(qcluster, user):
    if uses_postgres():
        # The trap this guards: forked workers inheriting the parent's pooled connections.
        assert connection.settings_dict["OPTIONS"].get("pool"), "the PostgreSQL suite must run with the pool on"
    cluster = qcluster(workers=2)
    group = "qcluster-test"
    for n in range(TASKS):
        async_task("tests.support.tasks.count_users_plus", n, group=group)

    def finished():
        connection.close()  # SQLite: do not hold a read snapshot while workers write
        return Task.objects.filter(group=group).count() >= TASKS

    try:
        wait_for(finished, timeout=180, interval=1, message=f"{TASKS} tasks")
    except AssertionError:
        cluster.stop()
        done = Task.objects.filter(group=group).count()
        raise AssertionError(f"{done} of {TASKS} tasks done\n{cluster.tail()}") from None
    results = Task.objects.filter(group=group)
    assert results.filter(success=True).count() == TASKS
    assert sorted(task.result for task in results) == [n + 1 for n in range(TASKS)]

    # Workers run below the web's priority, so image work cannot starve page requests on a shared host.
    async_task("tests.support.tasks.worker_niceness", group="niceness")
    wait_for(lambda: Task.objects.filter(group="niceness").exists(), timeout=30, message="the niceness task")
    assert Task.objects.get(group="niceness").result >= settings.Q_WORKER_NICE > 0
