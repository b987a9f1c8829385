"""Fault-test plumbing, all on loopback: private Redis and PostgreSQL servers, gunicorn, clusters, load loops.

The machine's own PostgreSQL (5432) and Redis (6379) are shared with other people's test runs: these tests never
stop or reconfigure them. What a test breaks, it started itself, on a free port.
"""

import collections
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils.crypto import get_random_string

from tests.conftest import REPO, Cluster, wait_for

CI = bool(os.environ.get("CI"))
WEB_WORKERS = 2  # gunicorn processes, as `make run` starts them


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require(path_or_name, what):
    """The executable's path; skip the test where it is missing, but fail in CI (CI must run every fault test)."""
    found = shutil.which(path_or_name) if os.sep not in path_or_name else (
        path_or_name if os.access(path_or_name, os.X_OK) else None)
    if found:
        return found
    message = f"{what} is not installed ({path_or_name})"
    if CI:
        pytest.fail(f"{message}, and CI must run every fault test")
    pytest.skip(message)


def drain(stream, lines):
    for raw in iter(stream.readline, b""):
        lines.append(raw.decode(errors="replace"))


class Service:
    """A subprocess in its own session whose output is kept (the last lines) for failure messages."""

    name = "service"

    def __init__(self):
        self.process = None
        self.log = collections.deque(maxlen=300)

    def spawn(self, argv, *, env=None, cwd=REPO):
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=drain, args=(self.process.stdout, self.log), daemon=True).start()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=10):
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of it is left
        self.process.wait()

    def tail(self, lines=60):
        return f"--- {self.name} output ---\n" + "".join(list(self.log)[-lines:])


class RedisServer(Service):
    """`redis-server` on a free loopback port, without persistence; stop() and start() again keep the port."""

    name = "redis"

    def __init__(self, binary, workdir):
        super().__init__()
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self):
        import redis

        try:
            return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self):
        self.spawn([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "no", "--dir", str(self.workdir)])
        wait_for(self.ping, timeout=10, interval=0.05, message=f"redis on port {self.port}\n{self.tail()}")
        return self


class Gunicorn(Service):
    """The app as production runs it: `gunicorn project.asgi -w 2` (gunicorn.conf.py) on a free loopback port."""

    name = "gunicorn"

    def __init__(self, env):
        super().__init__()
        self.env = env
        self.port = free_port()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        self.spawn([sys.executable, "-m", "gunicorn", "project.asgi", "-b", f"127.0.0.1:{self.port}",
                    "-w", str(WEB_WORKERS), "--timeout", "60",
                    "--graceful-timeout", "5"], env=self.env)

        def answers():
            assert self.running(), self.tail()
            try:
                return requests.get(self.url("/healthz"), timeout=30).status_code in (200, 503)
            except requests.RequestException:  # not listening yet, or still importing the app
                return False

        wait_for(answers, timeout=60, interval=0.2, message=f"gunicorn on port {self.port}")
        return self


class PostgresServer:
    """A private PostgreSQL cluster (initdb in a temporary folder) on a free port, to stop and restart at will."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                          key=lambda path: int(Path(path).parent.parent.name))
        self.bindir = Path(require(versions[-1] if versions else "initdb", "PostgreSQL's initdb")).parent
        require(str(self.bindir / "pg_ctl"), "PostgreSQL's pg_ctl")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="threadline-pg-"))  # not under pytest's tmp: postgres must enter it
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv, timeout=60):
        command = [str(argv[0]), *map(str, argv[1:])]
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self):
        if os.geteuid() == 0:
            require("runuser", "runuser (to run initdb as the postgres user)")
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self._run(self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8")
        return self

    def pg_ctl(self, action, *extra):
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        return self._run(self.bindir / "pg_ctl", "-D", self.data, "-o", options, "-l", self.logfile, "-w",
                         "-t", "60", action, *extra)

    def start(self):
        self.pg_ctl("start")
        return self

    def restart(self):
        self.pg_ctl("restart", "-m", "fast")

    def destroy(self):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines=40):
        try:
            return "".join(self.logfile.read_text(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""


def run_django(env, code, *, timeout=120):
    """Run `code` in a fresh Python process set up as Django with `env`; returns what it printed."""
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stderr[-4000:]}"
    return result.stdout


def http_session(cookies):
    """A `requests` session carrying a Django session cookie and a CSRF secret (cookie and header agree)."""
    session = requests.Session()
    csrf = get_random_string(32)
    session.cookies.set("csrftoken", csrf, domain="127.0.0.1", path="/")
    for name, value in cookies.items():
        session.cookies.set(name, value, domain="127.0.0.1", path="/")
    session.headers["X-CSRFToken"] = csrf
    return session


def session_cookie(user):
    """{"sessionid": ...} of a fresh session for `user`, written to the database (and cache) as a log-in would."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


class LoadLoop(threading.Thread):
    """Calls `send(n)` in a loop until stopped or `max_s` passes; records (started, finished, outcome) for each."""

    def __init__(self, send, *, max_s, pause_s=0.02):
        super().__init__(daemon=True)
        self.send = send
        self.max_s = max_s
        self.pause_s = pause_s
        self.stopping = threading.Event()
        self.records = []

    def run(self):
        deadline = time.monotonic() + self.max_s
        n = 0
        while not self.stopping.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                outcome = self.send(n)
            except Exception as error:  # recorded, and the test says which request it was
                outcome = {"error": f"{type(error).__name__}: {error}"}
            self.records.append((started, time.monotonic(), outcome))
            n += 1
            self.stopping.wait(self.pause_s)

    def stop(self):
        self.stopping.set()
        self.join(timeout=90)


@pytest.fixture
def private_services(transactional_db):
    """Start private services; every one is stopped at teardown (before the test database is flushed)."""
    started = []

    def add(service):
        started.append(service)
        return service

    yield add
    for service in reversed(started):
        if isinstance(service, PostgresServer):
            service.destroy()
        else:
            service.stop()


@pytest.fixture
def cluster(worker_env, transactional_db):
    """Start real `qcluster` processes (stderr kept); all are stopped at teardown."""
    clusters = []

    def start(*, workers=2, **env):
        connection.close()  # SQLite: the workers need the database to themselves while they start
        cluster = Cluster({**worker_env, "LOG_LEVEL": "WARNING", **env}, workers=workers).start()
        clusters.append(cluster)
        return cluster

    yield start
    for started in clusters:
        started.stop()


@pytest.fixture
def redis_server(private_services, tmp_path):
    return private_services(RedisServer(require("redis-server", "redis-server"), tmp_path)).start()
