import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import requests
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils import timezone
from django_q.models import Task
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from core.resilience import breaker_keys
from core.tasks import broker, enqueue
from ops.metrics import record_request
from tests.conftest import REPO, uses_redis, wait_for
from tests.support.tasks import count_users_plus

pytestmark = pytest.mark.django_db
TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def samples(body):
    """{(name, frozenset(labels)): value} of a Prometheus text answer (parsed by prometheus_client's own parser)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def test_an_anonymous_request_from_loopback_gets_no_metrics(client, metrics_token):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 403
    assert b"threadline_" not in response.content


def test_a_customer_session_gets_no_metrics(client, user, metrics_token):
    client.force_login(user)
    response = client.get("/metrics")
    assert response.status_code == 403 and b"threadline_" not in response.content


@pytest.mark.parametrize("configured", [TOKEN, ""], ids=["wrong token", "token access off"])
def test_a_wrong_bearer_token_gets_no_metrics(client, settings, configured):
    settings.METRICS_TOKEN = configured
    for header in ("Bearer not-the-token", "Bearer ", f"Bearer {TOKEN}x"):
        response = client.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Bearer ")
        assert b"threadline_" not in response.content


def test_the_token_gets_prometheus_text(client, metrics_token):
    client.get("/api/products")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    found = samples(response.content.decode())
    key = ("threadline_http_request_duration_seconds_count",
           frozenset({"view": "orders_api:product_list", "status": "2xx"}.items()))
    assert found[key] >= 1


def test_a_staff_session_gets_latency_by_view_and_the_state_of_work(client, staff_user,
                                                                   django_capture_on_commit_callbacks):
    queue = broker()
    queue.purge_queue()  # this run's queue: earlier tests may have left doorbells no worker took
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(count_users_plus, 1)
        enqueue(count_users_plus, 2)
    started = timezone.now()
    for n, seconds in enumerate((1, 3)):
        Task.objects.create(id=f"t{n}", name=f"t{n}", func="designs.tasks.design_process", started=started,
                            stopped=started + timedelta(seconds=seconds), success=True)
    Task.objects.create(id="bad", name="bad", func="orders.tasks.mail_send", started=started, stopped=started,
                        success=False)
    cache.set(breaker_keys("marketplace").open_until, time.time() + 60)
    client.force_login(staff_user)
    client.get("/")
    client.get("/designs/")

    try:
        response = client.get("/metrics")
    finally:
        queue.purge_queue()  # no worker is to run these
    assert response.status_code == 200
    found = samples(response.content.decode())
    assert found[("threadline_http_request_duration_seconds_bucket",
                  frozenset({"view": "home", "status": "2xx", "le": "+Inf"}.items()))] >= 1
    assert ("threadline_http_request_duration_seconds_count",
            frozenset({"view": "designs:gallery", "status": "2xx"}.items())) in found
    assert found[("threadline_designs", frozenset({"status": "ready"}.items()))] == 0
    assert found[("threadline_mails", frozenset({"status": "queued"}.items()))] == 0
    assert found[("threadline_queue_depth", frozenset())] == 2
    process = frozenset({"func": "designs.tasks.design_process", "success": "true"}.items())
    assert found[("threadline_recent_tasks", process)] == 2
    assert found[("threadline_recent_task_seconds", process)] == pytest.approx(2.0)
    assert found[("threadline_recent_tasks",
                  frozenset({"func": "orders.tasks.mail_send", "success": "false"}.items()))] == 1
    assert found[("threadline_circuit_breaker_state", frozenset({"service": "marketplace"}.items()))] == 2  # open


def test_server_errors_are_counted_by_view(client, metrics_token):
    record_request("test-broken-view", 503, 0.2)
    record_request("test-broken-view", 200, 0.01)
    found = samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode())
    assert found[("threadline_http_server_errors_total", frozenset({"view": "test-broken-view"}.items()))] == 1
    assert found[("threadline_http_request_duration_seconds_count",
                  frozenset({"view": "test-broken-view", "status": "5xx"}.items()))] == 1


def test_a_scrape_costs_a_fixed_number_of_queries(client, metrics_token, django_assert_num_queries):
    start = timezone.now()
    Task.objects.bulk_create([Task(id=f"q{n}", name=f"q{n}", func=f"f{n % 7}", started=start, stopped=start,
                                   success=bool(n % 2)) for n in range(50)])
    # designs by status, mails by status, recent tasks by function and outcome; the ORM broker counts its queue
    with django_assert_num_queries(3 if uses_redis() else 4):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200


def test_request_metrics_are_served_while_the_database_is_down(client, metrics_token):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    client.get("/api/products")
    with connection.execute_wrapper(refuse):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    names = {name for name, _ in samples(response.content.decode())}
    assert "threadline_http_request_duration_seconds_count" in names and "threadline_designs" not in names


def test_gunicorn_forgets_a_dead_workers_live_gauges_with_nothing_left_to_import(tmp_path):
    """gunicorn.conf.py's child_exit, called as gunicorn's master calls it: from a signal handler."""
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    script = ("import runpy, sys, types; hooks = runpy.run_path('gunicorn.conf.py'); "
              "assert 'prometheus_client.multiprocess' in sys.modules, 'imported at load, not in the handler'; "
              "hooks['child_exit'](None, types.SimpleNamespace(pid=4242))")
    for env in ({}, {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}):
        clean = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**clean, **env}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]  # its counts stay in the totals


# Service variables a gunicorn of the embedded defaults must not inherit from the test run's environment.
SERVICE_VARIABLES = {"DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "Q_BROKER", "STORAGE_URL", "EMAIL_URL",
                     "SECRET_KEY", "DEBUG", "THREADLINE_WORKER_OF_TESTS", "PROMETHEUS_MULTIPROC_DIR"}


def histogram_counts(folder, view):
    """{pid: 2xx answers of `view` that process counted}, read from each process's own file in the metrics folder."""
    counts = {}
    for path in Path(folder).glob("histogram_*.db"):
        pid = int(path.stem.split("_")[1])
        counts[pid] = sum(sample.value for family in MultiProcessCollector.merge([str(path)])
                          for sample in family.samples
                          if sample.name.endswith("_count") and sample.labels == {"view": view, "status": "2xx"})
    return counts


@pytest.mark.slow
def test_gunicorn_processes_share_their_counts_through_the_multiprocess_folder(tmp_path):
    """Two processes behind one port: any of them answers /metrics with the sum of both, and killed ones'
    counts stay in it (gunicorn.conf.py's child_exit hook runs without error, even for two exits at once)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="project.settings", VAR_DIR=str(tmp_path), METRICS_TOKEN=TOKEN,
               PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True,
                   timeout=120)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.asgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--graceful-timeout", "5"],
        cwd=REPO, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    view = "orders_api:product_list"
    try:
        session = requests.Session()
        session.trust_env = False  # loopback: never through a proxy from the environment
        session.headers["Connection"] = "close"  # a new connection per request, for either process to accept

        def get(path, **kwargs):
            return session.get(url + path, timeout=10, **kwargs)

        def answers():
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                return get("/api/products").status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(answers, timeout=30, interval=0.2, message="gunicorn to answer")
        sent = 1
        with ThreadPoolExecutor(4) as pool:  # concurrent requests: a sync process busy with one leaves the next
            while len(histogram_counts(folder, view)) < 2 and sent < 400:
                assert all(status == 200 for status in pool.map(lambda _: get("/api/products").status_code,
                                                                 range(20)))
                sent += 20
        per_process = histogram_counts(folder, view)
        assert len(per_process) == 2 and all(per_process.values()), per_process
        assert sum(per_process.values()) == sent

        def scraped():
            response = get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 200, response.text
            return samples(response.text)[("threadline_http_request_duration_seconds_count",
                                           frozenset({"view": view, "status": "2xx"}.items()))]

        assert scraped() == sent
        assert get("/metrics").status_code == 403

        for pid in per_process:  # both at once: the master reaps them (child_exit) and starts two others
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: answers() and not set(per_process) & _worker_pids(server.pid), timeout=20, interval=0.2,
                 message="new workers in place of the killed ones")
        assert scraped() >= sent + 1  # the dead processes' counts are still in the sum (plus the probe above)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
    output = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in output and "Exception" not in output, output[-4000:]


def _worker_pids(master_pid):
    return {child.pid for child in psutil.Process(master_pid).children()}
