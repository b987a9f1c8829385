"""gunicorn settings, read from the working directory by `gunicorn project.wsgi` (`-w` and others still override).

Processes, not threads: a page is CPU-bound Python, and threads of one process queue for the GIL after every
query. Under `python -m bench load` on 2 cores, 6 processes of 1 thread answered the gallery at a p50 of 17 ms
where 4 processes of 4 threads took 28 ms, and the bare view's p95 fell from 101 ms to 46 ms.
"""

import gc
import multiprocessing

workers = 2 * multiprocessing.cpu_count() + 2
worker_class = "gthread"  # keeps idle keep-alive connections off the worker's one thread
threads = 1
keepalive = 75  # s: longer than the load balancer's idle timeout, or reused connections get reset
timeout = 120
graceful_timeout = 30


def post_worker_init(worker):
    """Move what the app loaded (~114,000 objects: modules, models, URL patterns, that live as long as the worker)
    out of the garbage collector's sight. A full collection scanned them all, 45 ms on this VM, and under
    `bench load` paused a worker for 50-84 ms at a time; after freezing, the same collections took 9-28 ms."""
    gc.freeze()
