"""A busy `qcluster` stops on SIGTERM or Ctrl-C, the whole process tree within its timeout (issue 16, finding 10).

A SIGTERM to the main process alone, or a Ctrl-C (SIGINT to the process group), drains: the running task finishes
and its result is saved. A SIGTERM to the whole group (what `make run`'s `kill 0` sends) kills every process at once;
the running task is then handed back to the sweepers, and the main process must still exit.
"""

import os
import signal

import psutil
import pytest
from django.db import connection
from django_q.models import Task
from django_q.tasks import async_task

from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASK_S = 3  # long enough to be mid-task when the signal lands
EXIT_WITHIN_S = 60  # generous: the cluster's own timeout is 300 s, a drain takes TASK_S plus a second or two


def busy_cluster(qcluster, tmp_path):
    """A cluster whose one worker is in the middle of a task; returns it and every process of its tree."""
    cluster = qcluster(workers=1)
    started = tmp_path / "started"
    async_task("tests.support.tasks.mark_then_sleep", str(started), TASK_S, group="stop-test")
    wait_for(lambda: started.exists() or cluster.process.poll() is not None, timeout=60, message="the task to start")
    assert cluster.process.poll() is None, cluster.tail()
    main = psutil.Process(cluster.process.pid)
    tree = [main, *main.children(recursive=True)]
    assert len(tree) >= 5, tree  # main, sentinel, worker, monitor, pusher
    return cluster, tree


def exited(process):
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # orphans wait here for a reaper that may never come
    except psutil.NoSuchProcess:
        return True


def assert_tree_exits(cluster, tree):
    def all_gone():
        cluster.process.poll()  # reap the main process, our child
        return all(exited(process) for process in tree)

    try:
        wait_for(all_gone, timeout=EXIT_WITHIN_S, interval=0.2, message="the cluster's processes to exit")
    except AssertionError:
        alive = [process.pid for process in tree if not exited(process)]
        raise AssertionError(f"still running after {EXIT_WITHIN_S} s: {alive}\n{cluster.tail()}") from None


def drained():
    connection.close()
    return Task.objects.filter(group="stop-test", success=True).count() == 1


def test_sigterm_to_the_main_process_drains_the_running_task(qcluster, tmp_path):
    cluster, tree = busy_cluster(qcluster, tmp_path)
    os.kill(cluster.process.pid, signal.SIGTERM)
    assert_tree_exits(cluster, tree)
    assert drained(), cluster.tail()


def test_ctrl_c_drains_the_running_task(qcluster, tmp_path):
    cluster, tree = busy_cluster(qcluster, tmp_path)
    os.killpg(cluster.process.pid, signal.SIGINT)
    assert_tree_exits(cluster, tree)
    assert drained(), cluster.tail()


def test_sigterm_to_the_whole_group_stops_every_process(qcluster, tmp_path):
    cluster, tree = busy_cluster(qcluster, tmp_path)
    os.killpg(cluster.process.pid, signal.SIGTERM)
    assert_tree_exits(cluster, tree)
