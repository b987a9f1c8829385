"""gunicorn settings, read from the working directory by `gunicorn project.asgi` (`-w` and others still override).

One process per core and one more, because a page is CPU-bound Python and threads of one process queue for the GIL.
Each runs uvicorn (project/uvicorn_worker.py) in front of Django's ASGI handler: the event loop reads request bodies
as slowly as clients send them while Django serves one request at a time, so a slow upload holds no process.
project.asgi refuses a body over REQUEST_MAX_BYTES before reading it, streams file responses in batches and closes
each connection after its response, so a client's next request goes to a free process, as with sync workers.
"""

import gc
import multiprocessing
import os

# Imported here, not in child_exit: the hook runs in a SIGCHLD handler, and a second exit during a first import
# re-entered it half done (ImportError, the master died).
from prometheus_client import multiprocess

workers = multiprocessing.cpu_count() + 1
worker_class = "project.uvicorn_worker.Worker"
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
