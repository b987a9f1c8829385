"""Shared fixtures: users and clients, generated images, real worker processes, service markers."""

import collections
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = bool(os.environ.get("THREADLINE_REQUIRE_SERVICES"))


def uses_postgres():
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def uses_redis():
    return "redis" in settings.CACHES["default"]["BACKEND"]


def session_user_queries():
    """Queries a request spends on its logged-in user: one, always (user rows are never cached: they hold the
    password hash)."""
    return 1


def pytest_configure(config):
    if REQUIRE_SERVICES and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise pytest.UsageError("THREADLINE_REQUIRE_SERVICES is set but DATABASE_URL or REDIS_URL is not")


def pytest_collection_modifyitems(config, items):
    """Skip tests that need PostgreSQL or Redis where none is configured; where CI requires them, fail instead."""
    for item in items:
        for marker, available, variable in (("postgres", uses_postgres(), "DATABASE_URL"),
                                            ("redis", uses_redis(), "REDIS_URL")):
            if item.get_closest_marker(marker) and not available:
                reason = f"needs {marker}: set {variable}"
                if REQUIRE_SERVICES:
                    item.add_marker(pytest.mark.xfail(reason=reason, strict=True, run=False))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(settings.VAR_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """The per-process cache of the embedded defaults, emptied between tests: their rolled-back rows reuse ids. (With
    Redis each run has its own key prefix, and ids are not reused.)"""
    yield
    if not uses_redis():
        from django.core.cache import cache

        cache.clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", "staff@example.com", "staff-password-1", is_staff=True,
                                                 is_superuser=True)


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def csrf_client(user):
    """A logged-in client that enforces CSRF like a browser does."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def design_image(seed=0, size=(800, 600), mode="RGBA", background=(0, 0, 0, 0)):
    """A small but realistic piece of artwork: gradient, shapes and strokes on transparency."""
    import random

    rng = random.Random(seed)
    image = Image.new("RGBA", size, background)
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(40, width // 2), y0 + rng.randrange(40, height // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255)
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    for _ in range(6):
        points = [(rng.randrange(width), rng.randrange(height)) for _ in range(4)]
        draw.line(points, fill=(rng.randrange(256), 0, rng.randrange(256), 255), width=rng.randrange(4, 16))
    return image if mode == "RGBA" else image.convert(mode)


def encode(image, fmt="PNG", **params):
    buffer = io.BytesIO()
    if fmt == "JPEG" and image.mode in ("RGBA", "LA", "P"):
        # JPEG has no transparency: flatten onto white as an export would, keeping the picture a person sees.
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flat
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def upload_file(name, data, content_type="application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def make_upload():
    return upload_file


@pytest.fixture
def worker_env():
    """Environment for a worker process that must use this test session's database and storage."""
    env = dict(os.environ)
    env["THREADLINE_WORKER_OF_TESTS"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    return env


class Cluster:
    """A real `manage.py qcluster` in its own process group, stopped (or killed) by the test.

    Its stderr is read continuously (a chatty worker must never block on a full pipe) and kept for `tail()`.
    """

    def __init__(self, env, workers=2):
        self.env = {**env, "Q_WORKERS": str(workers)}
        self.process = None
        self.log = collections.deque(maxlen=300)

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=REPO, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        for raw in iter(self.process.stderr.readline, b""):
            self.log.append(raw.decode(errors="replace"))

    def tail(self):
        return "".join(self.log)[-4000:]

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            # SIGTERM to the cluster's main process alone: it drains its workers itself, where a SIGTERM to the whole
            # group would kill the running tasks.
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group: a pusher orphaned by a killed main process would go on taking tasks from
        # the broker and lose them, starving the next test's cluster.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def qcluster(worker_env, transactional_db):
    clusters = []

    def start(workers=2, env=None):
        """`env`: settings for the workers, which reach them only by environment."""
        connection.close()  # the workers need the database to themselves on SQLite
        cluster = Cluster({**worker_env, **(env or {})}, workers=workers).start()
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def wait_for(predicate, *, timeout, interval=0.25, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


@pytest.fixture
def tasks_inline(monkeypatch):
    """Run enqueued tasks in this process as they are enqueued (django-q2's sync mode)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _api_answers_match_the_openapi_description(monkeypatch):
    """Every /api/ answer the suite's test clients see is checked against core.openapi, so it cannot drift."""
    from django.test.client import Client

    from tests.support.openapi import assert_documented

    request = Client.request

    def checked(self, **environ):
        response = request(self, **environ)
        if response.request["PATH_INFO"].startswith("/api/"):
            assert_documented(response.request["REQUEST_METHOD"], response.request["PATH_INFO"], response)
        return response

    monkeypatch.setattr(Client, "request", checked)
