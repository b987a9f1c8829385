"""The gunicorn worker class of gunicorn.conf.py: uvicorn's, reading request bodies on its event loop."""

import signal
import sys

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    # Forwarded headers are Django's to read (SECURE_PROXY_SSL_HEADER, TRUSTED_PROXY_COUNT), not the server's;
    # Django has no lifespan protocol.
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False, "lifespan": "off"}

    def init_signals(self):
        super().init_signals()
        # uvicorn shuts down on SIGTERM, then raises it again once done: exit cleanly then, or gunicorn logs every
        # stop of every process as an error ("Worker was sent SIGTERM!").
        signal.signal(signal.SIGTERM, _exit_once)


def _exit_once(signum, frame):
    # A stop of the process group sends SIGTERM twice (the group's, then the master's): a second exit raised while
    # the interpreter already shuts down prints a traceback.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)
