"""A real cluster works through a 100-file batch while its workers, and once the whole cluster, are SIGKILLed.

Every design ends in a final status exactly once and the batch counters agree with the rows. Killing an idle worker
used to stop django-q2's cluster for good (the worker died holding the task queue's lock: core/patches/django_q2.py);
the last step kills idle workers on purpose and checks that the cluster still takes tasks.
"""

import contextlib
import os
import random
import signal
import time

import psutil
import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.models import Task
from django_q.tasks import async_task

from core.patches.django_q2 import ProcessLock, RobustQueue
from designs import services
from designs.models import Design, UploadBatch
from tests.conftest import design_image, encode, upload_file, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FILES = 100
WORKERS = 2
WORKER_KILLS = 12  # SIGKILLs at random moments, half before and half after the whole cluster is killed once
KILL_PAUSE_S = (0.2, 1.2)  # random pause before each kill: some land mid-task, some on idle workers
STALE_AFTER_S = 4  # the sweeper's threshold in this test (180 s in production): killed work comes back in seconds
SWEEP_EVERY_S = 1  # as the periodic task does once a minute in production
FINISH_WITHIN_S = 120


class ClusterProcesses:
    """The processes of one running cluster. Its sentinel forks the workers first, then the monitor and the pusher,
    so the two youngest children at start-up are those two, and every other child is a worker."""

    def __init__(self, cluster, workers):
        main = psutil.Process(cluster.process.pid)

        def started():
            assert cluster.process.poll() is None, cluster.tail()
            for sentinel in main.children():
                children = sentinel.children()
                if len(children) >= workers + 2:
                    return sentinel, children
            return None

        self.sentinel, children = wait_for(started, timeout=60, interval=0.1, message="the cluster's processes")
        ordered = sorted(children, key=lambda process: (process.create_time(), process.pid))
        self.auxiliary = {process.pid for process in ordered[-2:]}

    def workers(self):
        try:
            return [child for child in self.sentinel.children() if child.pid not in self.auxiliary]
        except psutil.NoSuchProcess:
            return []


def sweep():
    connection.close()  # SQLite: hold no read snapshot while the workers write
    return services.design_sweep_stale()


def kill_workers(processes, rng, count, *, log):
    """SIGKILL `count` workers, one at a time at random moments, sweeping as the periodic task would."""
    swept = 0.0
    for _ in range(count):
        time.sleep(rng.uniform(*KILL_PAUSE_S))
        if time.monotonic() - swept >= SWEEP_EVERY_S:
            sweep()
            swept = time.monotonic()
        workers = wait_for(processes.workers, timeout=20, interval=0.05, message="a live worker to kill")
        victim = rng.choice(workers)
        os.kill(victim.pid, signal.SIGKILL)
        log.append(victim.pid)


def statuses(batch):
    connection.close()
    return dict.fromkeys(Design.Status.values, 0) | {
        status: Design.objects.filter(batch=batch, status=status).count() for status in Design.Status.values
    }


def test_a_batch_survives_sigkilled_workers_and_a_killed_cluster(cluster, user, settings):
    settings.SWEEP_STALE_AFTER_S = STALE_AFTER_S
    rng = random.Random(20261122)
    files = [upload_file(f"artwork-{n:03d}.png", encode(design_image(n, size=(400, 300)), "PNG"))
             for n in range(FILES)]
    first = cluster(workers=WORKERS)
    processes = ClusterProcesses(first, WORKERS)
    batch = services.design_batch_upload(owner=user, files=files).batch  # enqueued on commit, i.e. now
    killed = []
    second = None
    try:
        kill_workers(processes, rng, WORKER_KILLS // 2, log=killed)
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole cluster, mid-batch
        first.process.wait()
        second = cluster(workers=WORKERS)
        processes = ClusterProcesses(second, WORKERS)
        kill_workers(processes, rng, WORKER_KILLS - WORKER_KILLS // 2, log=killed)

        def finished():
            sweep()
            counts = statuses(batch)
            return counts if counts["queued"] + counts["processing"] == 0 else None

        counts = wait_for(finished, timeout=FINISH_WITHIN_S, interval=SWEEP_EVERY_S, message="every design to finish")
    except AssertionError as error:
        raise AssertionError(f"{error}\nstatuses: {statuses(batch)}\n{(second or first).tail()}") from None

    assert len(killed) == WORKER_KILLS
    designs = Design.objects.filter(batch=batch)
    assert designs.count() == FILES and len(set(designs.values_list("original_name", flat=True))) == FILES
    assert Design.objects.filter(owner=user).count() == FILES  # no row made twice by a re-run task
    batch = UploadBatch.objects.get(pk=batch.pk)
    assert (batch.ready, batch.duplicates, batch.failed) == (counts["ready"], counts["duplicate"], counts["failed"])
    assert batch.processed == batch.ready + batch.duplicates + batch.failed == batch.total == FILES
    # A design gives up after 3 claims; no file here was killed under that often.
    assert counts["failed"] == 0, list(designs.filter(status="failed").values_list("original_name", "error"))
    assert designs.filter(has_thumbnail=False, status__in=["ready", "duplicate"]).count() == 0

    # Idle workers die holding the task queue's read lock: the cluster must still take tasks afterwards.
    get_broker().purge_queue()  # the sweeper's extra doorbells for finished designs: the probe must not wait on them
    for _ in range(2):
        victim = wait_for(processes.workers, timeout=20, interval=0.05, message="an idle worker")[0]
        os.kill(victim.pid, signal.SIGKILL)
        wait_for(lambda pid=victim.pid: len(processes.workers()) == WORKERS
                 and pid not in {worker.pid for worker in processes.workers()},
                 timeout=20, interval=0.05, message="the guard to replace the killed worker")
    group = "after-idle-kills"
    async_task("tests.support.tasks.count_users_plus", 1, group=group)

    def probe_done():
        connection.close()
        return Task.objects.filter(group=group, success=True).exists()

    try:
        wait_for(probe_done, timeout=30, interval=0.25, message="a task after idle workers were killed")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{second.tail()}") from None


def held_elsewhere(lock):
    if lock.acquire(timeout=0):
        lock.release()
        return False
    return True


@pytest.mark.django_db(transaction=False)
def test_a_queue_lock_held_by_a_killed_process_is_free_again():
    queue = RobustQueue()
    child = os.fork()
    if child == 0:  # an idle worker: blocked reading the queue, holding its read lock, until it is killed
        queue.get()
        os._exit(0)
    try:
        wait_for(lambda: held_elsewhere(queue._rlock), timeout=10, interval=0.05,
                 message="the child to hold the read lock")
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        assert queue._rlock.acquire(timeout=5), "the killed process's lock was never released"
        queue._rlock.release()
        queue.put("a task")
        assert queue.get(timeout=5) == "a task"
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


@pytest.mark.django_db(transaction=False)
def test_a_reader_killed_mid_message_leaves_the_queue_in_step():
    # The moment a SIGKILL can fall: a worker has read part of a message (a pipe's reader takes its 4-byte length,
    # then its body) when it dies. Over a pipe the next read started inside that body: "EOFError: Ran out of input"
    # in every worker from then on. Over packets the partial read takes that whole message and nothing more.
    queue = RobustQueue()
    queue.put({"task": 1})
    queue.put({"task": 2})
    wait_for(lambda: queue._reader.poll(), timeout=5, interval=0.05, message="the messages to be sent")
    child = os.fork()
    if child == 0:
        os.read(queue._reader.fileno(), 4)  # the first read of a get(), then the kill
        os._exit(0)
    os.waitpid(child, 0)
    assert queue.get(timeout=5) == {"task": 2}
    queue.put({"task": 3})
    assert queue.get(timeout=5) == {"task": 3}


@pytest.mark.django_db(transaction=False)
def test_a_process_lock_is_recursive_and_exclusive_between_processes():
    lock = ProcessLock()
    assert lock.acquire() and lock.acquire(timeout=0)  # a worker's timer lock is taken again inside itself
    lock.release()
    child = os.fork()
    if child == 0:
        os._exit(0 if not lock.acquire(timeout=0.2) else 1)
    assert os.waitpid(child, 0)[1] == 0, "another process got a lock this one holds"
    lock.release()
    child = os.fork()
    if child == 0:
        os._exit(0 if lock.acquire(timeout=2) else 1)
    assert os.waitpid(child, 0)[1] == 0, "the lock stayed taken after its release"


@pytest.mark.django_db(transaction=False)
def test_a_lock_wait_the_kernel_calls_a_deadlock_is_retried_not_raised():
    # A worker holding the task queue's read lock while its feeder thread waits for the result queue's write lock,
    # held by another worker's feeder while that worker waits for the read lock: Linux counts locks per process,
    # sees a cycle and answers EDEADLK, though the feeder releases its lock a moment later. That error killed a
    # worker under bench load. Here: this process holds A and waits for B; the child's thread holds B for 0.5 s
    # while the child's main thread waits for A.
    import threading

    a, b = ProcessLock(), ProcessLock()
    assert a.acquire()
    child = os.fork()
    if child == 0:
        holding = threading.Event()

        def hold_b():
            b.acquire()
            holding.set()
            time.sleep(0.5)
            b.release()

        threading.Thread(target=hold_b).start()
        holding.wait()
        a.acquire()  # a blocking wait, which the kernel's deadlock check sees
        os._exit(0)
    try:
        time.sleep(0.2)  # the child's thread holds B, its main thread waits for A
        assert b.acquire()  # would close the cycle: EDEADLK on the first try
        b.release()
    finally:
        a.release()
        assert os.waitpid(child, 0)[1] == 0
