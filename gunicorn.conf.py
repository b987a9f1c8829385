"""gunicorn settings, read from the working directory by `gunicorn project.wsgi` (`-w` and others still override).

Sync workers, one per core and one more: processes, because a page is CPU-bound Python and threads of one process
queue for the GIL; sync, because a sync worker accepts a connection only when it is free, so a request goes to an
idle process. A sync worker reads a request as slowly as the client sends it, so production puts a proxy that
buffers requests in front (nginx does by default), as gunicorn's documentation asks.
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
    """Move what the app loaded (modules, models, URL patterns: ~10^5 objects that live as long as the worker) out of
    the garbage collector's sight, so a full collection no longer scans them all in the middle of a request."""
    gc.freeze()


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, forget a dead worker's live gauges; its counts stay in the totals."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
