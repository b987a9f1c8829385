import json
import os
import subprocess
import sys

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_q.models import Schedule

from ops.schedules import periodic_tasks

pytestmark = pytest.mark.django_db
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_home_page_shows_navigation_for_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/accounts/signup/"' in body and 'href="/accounts/login/"' in body


def test_every_response_carries_server_timing_with_query_count(alice):
    response = alice.get("/designs/")
    header = response["Server-Timing"]
    assert header.startswith("total;dur=") and "db;dur=" in header and "queries" in header


def test_signup_logs_the_new_user_in(client):
    response = client.post("/accounts/signup/", {
        "username": "carol", "email": "carol@example.com",
        "password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9",
    }, follow=True)
    assert response.status_code == 200
    assert response.context["user"].username == "carol"
    assert "Log out" in response.content.decode()


def test_signup_needs_an_email_address_since_order_mail_goes_there(client, django_user_model):
    response = client.post("/accounts/signup/", {
        "username": "erin", "password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not django_user_model.objects.filter(username="erin").exists()


def test_signup_errors_are_shown_next_to_the_fields(client):
    response = client.post("/accounts/signup/", {"username": "dave", "password1": "x", "password2": "y"})
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode() or "didn't match" in response.content.decode()


def test_login_and_logout(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert client.get("/designs/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/designs/").status_code == 302


@override_settings(CACHES={"default": {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
}}, SESSION_ENGINE="django.contrib.sessions.backends.cached_db")
def test_pages_still_answer_when_redis_is_unreachable(client, user):
    caches["default"].clear()  # the unreachable cache swallows this too
    assert client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}).status_code == 302
    for path in ("/", "/designs/", "/orders/", "/api/products"):
        assert client.get(path).status_code == 200, path
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["cache"] == "failing"


def test_setup_schedules_is_idempotent():
    call_command("setup_schedules")
    call_command("setup_schedules")
    names = list(Schedule.objects.values_list("name", flat=True))
    assert len(names) == len(set(names)) == len(periodic_tasks())
    assert Schedule.objects.get(name__startswith="designs").func == "designs.tasks.sweep_stale_designs"


def test_sqlite_runs_in_wal_mode_with_relaxed_sync():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas only apply to the embedded default")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert cursor.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


@pytest.mark.postgres
def test_web_connections_plan_no_parallel_queries():
    # Worker start-up cost ~10 ms on the near-duplicate probes, which take ~2 ms (bench/designs.py).
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


def test_seed_demo_creates_orders_designs_and_logins(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", users=3, designs=30, orders=50, seed=7)
    from designs.models import Design
    from orders.models import Order, OrderItem

    assert Design.objects.count() == 30
    assert Order.objects.count() == 50
    assert OrderItem.objects.count() >= 50
    out = capsys.readouterr().out
    assert "Demo customer: demo / " in out and "Demo staff:    demo-staff / " in out
    assert (tmp_path / "demo-logins.txt").read_text().count("/") == 2
    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 50))


def test_seed_demo_passwords_are_random_each_time(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", users=0, designs=1, orders=0)
    first = (tmp_path / "demo-logins.txt").read_text()
    call_command("seed_demo", users=0, designs=1, orders=0)
    assert (tmp_path / "demo-logins.txt").read_text() != first


def test_api_errors_are_json_not_login_redirects(client):
    response = client.get("/api/designs")
    assert response.status_code == 401
    assert json.loads(response.content)["error"]


def test_old_task_results_are_pruned_to_the_newest_successes():
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Task

    from ops.tasks import prune_task_results

    start = timezone.now()
    for n in range(5):
        Task.objects.create(id=f"ok{n}", name=f"ok{n}", func="f", started=start, stopped=start + timedelta(seconds=n),
                            success=True)
    Task.objects.create(id="bad", name="bad", func="f", started=start, stopped=start, success=False)

    assert prune_task_results(keep=3) == 2
    assert sorted(Task.objects.values_list("id", flat=True)) == ["bad", "ok2", "ok3", "ok4"]
    assert prune_task_results(keep=3) == 0


def test_gunicorn_workers_freeze_what_the_app_loaded():
    """gunicorn.conf.py's post_worker_init: the app's long-lived objects leave the garbage collector's scans."""
    script = ("import gc, runpy; from django.core.wsgi import get_wsgi_application; get_wsgi_application(); "
              "runpy.run_path('gunicorn.conf.py')['post_worker_init'](None); print(gc.get_freeze_count())")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 50_000
