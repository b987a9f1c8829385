"""gunicorn settings, read from the working directory by `gunicorn project.wsgi` (`-w` and others still override).

Sync workers: processes that serve one request at a time, one per core and one more.
- Processes, not threads: a page is CPU-bound Python, and threads of one process queue for the GIL after every
  query (6 processes of 1 thread answered the gallery at a p50 of 17 ms where 4 processes of 4 threads took 28 ms).
- Sync, not gthread: a sync worker accepts a connection only when it is free, so a request goes to an idle worker.
  A gthread worker keeps every kept-alive connection it accepted, busy or not: under `python -m bench load` on
  2 cores, requests waited up to ~1 s behind one busy worker while others were idle.
- Cores + 1, not 2 x cores: fewer requests share the cores at once, and the one more covers a process waiting for
  a query. Under the same bench on 2 cores, 4 processes kept every page's p95 lower than 6 did (admin lists 77-113 ms
  against 116-135), and 3 lower than 4: the slowest page's p95 was 78-83 ms against 89-98 (the VM then served the
  bare view at 2,100-2,500 req/s; on a slower VM, 1,500-1,750 req/s, 98-113 ms). With 2, the server's own time fell
  but requests queued for a process: every page's p95 went to 71-110 ms.
A sync worker closes the connection after each response and reads a request as slowly as the client sends it, so
put a proxy that buffers requests in front (nginx does by default), as gunicorn's documentation asks.
"""

import gc
import multiprocessing
import os

# Imported here, not in child_exit: the hook runs in a SIGCHLD handler, and a second exit during a first import
# re-entered it half done (ImportError, the master died).
from prometheus_client import multiprocess

workers = multiprocessing.cpu_count() + 1
worker_class = "sync"
threads = 1
timeout = 120
graceful_timeout = 30


def post_worker_init(worker):
    """Move what the app loaded (~114,000 objects: modules, models, URL patterns, that live as long as the worker)
    out of the garbage collector's sight. A full collection scanned them all, 45 ms on this VM, and under
    `bench load` paused a worker for 50-84 ms at a time; after freezing, the same collections took 9-28 ms."""
    gc.freeze()


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, forget a dead worker's live gauges; its counts stay in the totals."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
