"""django-q2's cluster made to survive the sudden death of a worker (OOM killer, SIGKILL, a crash in C code).

The cluster's queues and worker timers are guarded by multiprocessing locks, which are semaphores: a worker killed
while holding one keeps it forever, and the whole cluster stops taking tasks. `install()` swaps them for fcntl
record locks, which the kernel releases when their holder dies, and the queues' pipes for packet sockets. The
cluster's stop and start events become pipes too: a multiprocessing Event's set() waits for every process asleep in
wait() to wake, so when one signal killed the sentinel mid-wait (SIGTERM to the process group, as `make run`'s
`kill 0` sends), the main process hung in set() for good.
"""
# START: PATCHES django-q2 1.11.1: django_q.cluster.Queue, .Value and .Event, and the lock and pipe attributes of
# django_q.queues.Queue (multiprocessing's). Upstream: django-q2 issue #23, "When the next-in-line worker dies, the
# entire cluster stops processing tasks"; CPython issue #123899 (a Condition notifying a killed waiter hangs).
# Re-read this module on every django-q2 upgrade: core.patches.check_patches fails at start-up when a name it
# replaces is gone.

import errno
import multiprocessing
import os
import select
import socket
import tempfile
import threading
import time

from django_q import queues as django_q_queues

try:
    import fcntl
except ImportError:  # not a POSIX system: django-q2's own locks stay
    fcntl = None

VERSIONS = {"django-q2": "1.11.1"}  # what this module was written against
POLL_S = 0.01  # between tries of a lock acquired with a timeout
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024  # the largest queue message (capped by the kernel's net.core.wmem_max)


class ProcessLock:
    """A recursive lock shared by forked processes that the kernel releases when its holder dies."""

    def __init__(self):
        self._file = tempfile.TemporaryFile()  # unlinked at once; the open file is inherited by forked children
        self._pid = os.getpid()
        self._thread_lock = threading.RLock()  # record locks do not exclude threads of one process
        self._depth = 0

    def _adopt(self):
        # A forked child starts with nothing held, whatever the parent held at the fork.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread_lock = threading.RLock()
            self._depth = 0

    def acquire(self, block=True, timeout=None):
        self._adopt()
        if not block:
            timeout = 0
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if not self._thread_lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return False
        if self._depth == 0 and not self._lock_file(deadline):
            self._thread_lock.release()
            return False
        self._depth += 1
        return True

    def _lock_file(self, deadline):
        while True:
            try:
                fcntl.lockf(self._file, fcntl.LOCK_EX if deadline is None else fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as error:
                # EAGAIN or EACCES: another process holds it. EDEADLK: the kernel's deadlock check saw this process
                # hold another lock while it waits; it counts locks held by the process's other threads (the queue's
                # feeder), so the cycle it sees resolves itself. A worker killed by that error, seen under bench load,
                # is worse than a retry.
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EDEADLK):
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S)

    def release(self):
        if self._pid != os.getpid() or self._depth == 0:
            raise ValueError("release of a lock this process does not hold")
        self._depth -= 1
        if self._depth == 0:
            fcntl.lockf(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


class PacketConnection:
    """One end of a SOCK_SEQPACKET socket pair, with what multiprocessing's Queue uses of a Connection.

    A pipe is a byte stream, and Queue reads a message as a 4-byte length, then its body: two reads. A worker killed
    between them left the body in the pipe, and every later read started mid-message ("EOFError: Ran out of input"
    in each worker the guard started, for good: the cluster took no more tasks; seen once in
    tests/faults/test_worker_kills.py). A packet is taken whole by one recv, so a reader killed at any moment takes
    a whole message (a task the sweepers re-enqueue) or none.
    """

    def __init__(self, sock):
        self._sock = sock

    @classmethod
    def pair(cls):
        reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        reader.shutdown(socket.SHUT_WR)
        writer.shutdown(socket.SHUT_RD)
        return cls(reader), cls(writer)

    def send_bytes(self, buf):
        self._sock.sendall(buf)  # one packet: a message too large for the buffer raises, it is never split

    def recv_bytes(self, maxlength=None):
        # The packet's size, peeked without taking it (MSG_TRUNC reports the whole length), then the packet.
        size = self._sock.recv_into(bytearray(1), 1, socket.MSG_PEEK | socket.MSG_TRUNC)
        data = self._sock.recv(max(size, 1))
        if not data:
            raise EOFError
        return data

    def poll(self, timeout=0.0):
        return bool(select.select([self._sock], [], [], timeout)[0])

    def fileno(self):
        return self._sock.fileno()

    def close(self):
        self._sock.close()


class RobustQueue(django_q_queues.Queue):
    """django-q2's Queue over packets (PacketConnection), with process-robust read, write and size-counter locks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            packets = PacketConnection.pair()
        except (AttributeError, OSError):  # no packet sockets between processes (macOS): the pipe stays
            packets = None
        if packets:
            self._reader.close()
            self._writer.close()
            self._reader, self._writer = packets
            self._reset()
        self._rlock = ProcessLock()
        self._wlock = ProcessLock()
        self.size.count = multiprocessing.Value("i", 0, lock=ProcessLock())


class PipeEvent:
    """A set-once event shared by forked processes, over a pipe: set() writes a byte, wait() polls the read end.

    Nothing is locked, so a process killed at any moment leaves the event usable by the others.
    """

    def __init__(self):
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def set(self):
        try:
            os.write(self._write, b"1")
        except BlockingIOError:  # the pipe is full of earlier set()s: set already
            pass

    def is_set(self):
        return self.wait(0)

    def wait(self, timeout=None):
        poller = select.poll()
        poller.register(self._read, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(0, timeout) * 1000))


def robust_value(typecode, value):
    """multiprocessing.Value with a process-robust lock: the guard takes a worker's timer lock every cycle."""
    return multiprocessing.Value(typecode, value, lock=ProcessLock())


def missing_names():
    """The names this module replaces that django-q2 (or multiprocessing under it) no longer has."""
    from django_q import cluster

    missing = [f"django_q.cluster.{name}" for name in ("Queue", "Value", "Event") if not hasattr(cluster, name)]
    queue = django_q_queues.Queue()
    try:
        missing += [f"django_q.queues.Queue().{name}" for name in ("_reader", "_writer", "_rlock", "_wlock", "_reset")
                    if not hasattr(queue, name)]
        if not hasattr(getattr(queue, "size", None), "count"):
            missing.append("django_q.queues.Queue().size.count")
    finally:
        queue.close()
    return missing


def install():
    """Make django-q2's cluster build its queues, worker timers and events process-robust (idempotent)."""
    if fcntl is None:
        return
    from django_q import cluster

    cluster.Queue = RobustQueue
    cluster.Value = robust_value
    cluster.Event = PipeEvent
# END: PATCHES django-q2
