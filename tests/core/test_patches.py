"""The fenced library patches: the start-up check passes on the pinned versions and names what an upgrade removed."""

import paramiko.sftp
import pytest
from django.core import checks
from django.core.management import call_command

from core.patches import check_patches, django_q2


def test_the_patches_check_passes_on_the_pinned_versions():
    assert check_patches() == []


def test_a_patched_name_that_is_gone_fails_the_check(monkeypatch):
    monkeypatch.delattr(paramiko.sftp.BaseSFTP, "_read_all")
    problems = check_patches()
    assert [problem.id for problem in problems] == ["core.E001"]
    assert "paramiko.sftp_client.SFTPClient._read_all" in problems[0].msg
    assert problems[0].level == checks.ERROR


def test_a_django_q2_queue_without_its_lock_fails_the_check(monkeypatch):
    from django_q import queues

    real_init = queues.Queue.__init__

    def init_without_read_lock(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        del self._rlock

    monkeypatch.setattr(queues.Queue, "__init__", init_without_read_lock)
    assert [problem.msg for problem in check_patches()] == [
        "core.patches.django_q2 relies on django_q.queues.Queue()._rlock, which is gone"]


def test_another_version_of_a_patched_library_warns(monkeypatch):
    monkeypatch.setitem(django_q2.VERSIONS, "django-q2", "0.1")
    problems = check_patches()
    assert [(problem.id, problem.level) for problem in problems] == [("core.W001", checks.WARNING)]


def test_manage_py_check_runs_the_patches_check(monkeypatch):
    monkeypatch.delattr(paramiko.sftp.BaseSFTP, "_write_all")
    with pytest.raises(Exception, match="_write_all"):
        call_command("check")


def test_a_django_q2_cluster_without_its_event_fails_the_check(monkeypatch):
    from django_q import cluster

    monkeypatch.delattr(cluster, "Event")
    assert [problem.msg for problem in check_patches()] == [
        "core.patches.django_q2 relies on django_q.cluster.Event, which is gone"]


def test_a_pipe_event_can_be_set_after_a_waiter_was_killed():
    import multiprocessing
    import os
    import signal

    event = django_q2.PipeEvent()
    waiter = multiprocessing.get_context("fork").Process(target=event.wait)
    waiter.start()
    assert not event.wait(0.2)
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join()
    event.set()  # multiprocessing's Event blocks here for good, waiting for the killed waiter to wake
    event.set()
    assert event.is_set() and event.wait(5)
