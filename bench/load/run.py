"""`python -m bench load`: the app under load as in production (gunicorn, qcluster, PostgreSQL, Redis), on loopback.

Needs a migrated, seeded PostgreSQL database, e.g.:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/threadline_bench python manage.py migrate
    DATABASE_URL=... python manage.py seed_demo --users 1000 --designs 100000 --orders 100000
    DATABASE_URL=... python -m bench load [--duration 60] [--users 120]

Steps, all bounded in time (about 2.5 min + --duration, 4 min with the defaults), every process stopped at the end:
1. collectstatic into a temporary VAR_DIR (static files, uploads and mail of this run go there; removed at the end).
2. Test accounts: seeded customers `customer...` get a fresh random password (their ~100 designs and orders are a
   real library), plus one staff account `bench-load-staff`. Orders, uploads, sessions and the staff account the
   run creates are deleted at the end (and at the start, should an earlier run have been killed); the customers'
   passwords go back to unusable. The database is vacuumed after each clean-up (autovacuum may be off).
3. gunicorn `project.asgi` with the production settings of gunicorn.conf.py (no access log) and a qcluster
   (2 workers).
4. Locust, headless: customers log in, then browse, order and upload with 1-3 s of think time; staff page the admin
   order list. Measured from 5 s after every user has logged in (the log-in storm leaves a queue), for --duration
   seconds.
5. Maximum throughput of the gallery page alone (no think time, 64 connections; wrk, else locust), and of the
   ceiling: the same gunicorn settings serving a bare Django view (bench/load/bare_asgi.py), measured the same way.
   The two take 3 turns each, alternately, 5 s a turn (15 s each in all).
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from bench.timing import print_table

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "gunicorn.conf.py"  # the production settings
BIN = Path(sys.executable).parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
STAFF_USERNAME = "bench-load-staff"
ORDER_NAME_PREFIX = "Load test "  # the locustfile names its orders so; the clean-up finds them by it
UPLOAD_NAME_PREFIX = "loadtest-"  # and its uploaded files
LOGIN_WAIT_S = 45  # at most, for every simulated user to have logged in before the measured window opens
SETTLE_S = 5  # then this long for the queue the log-in storm left to drain (~0.5 s, measured)
TARGET_P95_MS = 100
TARGET_CEILING_FRACTION = 1 / 3
# The bare view and the gallery take turns at full speed: this shared VM's speed drifts (the bare view alone measured
# 1,228 to 3,470 req/s from run to run), and turns put the drift on both sides of the ratio.
FULL_SPEED_ROUNDS = 3
LOGIN_NAMES = ("GET /accounts/login/", "POST /accounts/login/")
# Environment the children must not inherit: HTTPS hardening (a secret key turns it on), outside services, proxies.
DROPPED_ENV = ("SECRET_KEY", "STORAGE_URL", "EMAIL_URL", "DATABASE_REPLICA_URL", "GUNICORN_CMD_ARGS", "SITE_URL",
               "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class Refused(SystemExit):
    pass


class OutOfTime(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="s measured with think time (default 60)")
    parser.add_argument("--users", type=int, default=120, help="simulated users (default 120, a tenth of them staff)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="users started per second (default 20)")
    parser.add_argument("--max-seconds", type=int, default=15, help="s per maximum-throughput run (default 15)")
    parser.add_argument("--connections", type=int, default=64, help="connections in those runs (default 64)")
    args = parser.parse_args()
    if not 5 <= args.duration <= 60 or not 5 <= args.max_seconds <= 15:
        parser.error("--duration must be 5..60 s and --max-seconds 5..15 s (the run is bounded to about 4 minutes)")
    if args.users < 2:
        parser.error("--users must be at least 2")
    # Set-up, start-ups, stops and clean-up take well under 100 s; 240 s at most with the defaults.
    bound_s = 100 + LOGIN_WAIT_S + SETTLE_S + args.duration + 2 * args.max_seconds
    Bench(args, bound_s).run()


class Bench:
    def __init__(self, args, bound_s):
        self.args = args
        self.bound_s = bound_s
        self.processes = []
        self.tmp = None
        self.accounts = None

    # --- set-up -----------------------------------------------------------------------------------------------
    def check_environment(self):
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise Refused("bench load measures PostgreSQL: set DATABASE_URL, e.g.\n"
                          "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/threadline_bench python -m bench load")
        redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        for name, url in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url)):
            host = urlparse(url).hostname or ""
            if host not in LOOPBACK_HOSTS:
                raise Refused(f"bench load runs on loopback only: {name} points at {host!r}")
        self.database_url, self.redis_url = database_url, redis_url

    def child_env(self, **extra):
        env = {key: value for key, value in os.environ.items()
               if key not in DROPPED_ENV and not key.startswith("LOCUST_")}
        env.update(DATABASE_URL=self.database_url, REDIS_URL=self.redis_url, DEBUG="0", HTTPS="0",
                   ALLOWED_HOSTS="127.0.0.1", VAR_DIR=str(self.tmp / "var"), Q_WORKERS="2",
                   DJANGO_SETTINGS_MODULE="project.settings", NO_PROXY="127.0.0.1,localhost",
                   no_proxy="127.0.0.1,localhost", PYTHONUNBUFFERED="1", **extra)
        return env

    def setup_django(self):
        # Read by project/settings.py at import: this process sees what the servers will see.
        for key in DROPPED_ENV:
            os.environ.pop(key, None)
        os.environ.update(REDIS_URL=self.redis_url, DEBUG="0", HTTPS="0", ALLOWED_HOSTS="127.0.0.1",
                          VAR_DIR=str(self.tmp / "var"))
        import django

        django.setup()
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        from django.db.utils import OperationalError

        try:
            connection.ensure_connection()
        except OperationalError as error:
            raise Refused(f"cannot reach the database in DATABASE_URL: {error}".strip()) from None
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:6]) + (" ..." if len(pending) > 6 else "")
            raise Refused(f"the database is not migrated ({names}): DATABASE_URL=... python manage.py migrate"
                          " (then seed_demo if it is empty)")
        import redis

        try:
            redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
        except redis.RedisError as error:
            raise Refused(f"cannot reach Redis at {self.redis_url}: {error}") from None

    def dataset(self):
        from django.contrib.auth import get_user_model

        from designs.models import Design
        from orders.models import Order

        counts = {"orders": Order.objects.count(), "designs": Design.objects.count(),
                  "users": get_user_model().objects.count()}
        if counts["orders"] < 1000 or counts["designs"] < 1000:
            raise Refused(f"the database holds {counts['orders']} orders and {counts['designs']} designs; seed first:\n"
                          "  DATABASE_URL=... python manage.py seed_demo --users 1000 --designs 100000 --orders 100000")
        return counts

    def prepare_accounts(self, customers):
        """Seeded customers with a library, given one fresh password; one staff account. Written for the locustfile."""
        import secrets

        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        from designs.models import Design
        from orders.models import Order

        user_model = get_user_model()
        candidates = list(user_model.objects.filter(username__startswith="customer", is_staff=False, is_active=True)
                          .order_by("username").values_list("pk", "username", "email")[:customers])
        with_designs = set(Design.objects.filter(owner_id__in=[pk for pk, _, _ in candidates])
                           .order_by().values_list("owner_id", flat=True).distinct())
        chosen = [row for row in candidates if row[0] in with_designs]
        if not chosen:
            raise Refused("no seeded customers (customer...) with designs: run seed_demo first")
        password = secrets.token_urlsafe(18)
        hashed = make_password(password)  # hashed once, set on all: the server still checks it at each log-in
        user_model.objects.filter(pk__in=[pk for pk, _, _ in chosen]).update(password=hashed)
        staff, _ = user_model.objects.update_or_create(
            username=STAFF_USERNAME,
            defaults={"email": f"{STAFF_USERNAME}@example.com", "is_staff": True, "is_superuser": True,
                      "is_active": True, "password": hashed})
        emails = Order.objects.exclude(email="").order_by("-created_at").values_list("email", flat=True)[:40]
        self.user_ids = [pk for pk, _, _ in chosen] + [staff.pk]
        self.accounts = {
            "customers": [{"username": username, "email": email or f"{username}@example.com", "password": password}
                          for _, username, email in chosen],
            "staff": {"username": STAFF_USERNAME, "password": password, "email": staff.email},
            "statuses": [value for value, _ in Order.Status.choices],
            "email_prefixes": sorted({email[:14] for email in emails}),  # what staff type: the start of an address
        }
        path = self.tmp / "accounts.json"
        path.write_text(json.dumps(self.accounts))
        path.chmod(0o600)
        return path

    def test_user_ids(self, customers):
        """The accounts a run uses (the same every time), for the clean-up before anything is set."""
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        ids = list(user_model.objects.filter(username__startswith="customer", is_staff=False)
                   .order_by("username").values_list("pk", flat=True)[:customers])
        return ids + list(user_model.objects.filter(username=STAFF_USERNAME).values_list("pk", flat=True))

    def clean_database(self, user_ids, *, since=None):
        """Remove what load runs create: orders, uploads, batches, sessions, the staff account; usable passwords."""
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password
        from django.contrib.sessions.models import Session

        from core import ratelimit
        from designs.models import Design, UploadBatch
        from orders import stats
        from orders.models import Order

        _, deleted = Order.objects.filter(customer_id__in=user_ids, name__startswith=ORDER_NAME_PREFIX).delete()
        orders = deleted.get(Order._meta.label, 0)
        _, deleted = Design.objects.filter(owner_id__in=user_ids, original_name__startswith=UPLOAD_NAME_PREFIX).delete()
        designs = deleted.get(Design._meta.label, 0)
        UploadBatch.objects.filter(owner_id__in=user_ids, designs__isnull=True).delete()
        if orders:
            stats.stats_rebuild()  # the daily counters the new orders bumped
        if since is not None:  # sessions this run's log-ins created (touched since `since`)
            fresh = Session.objects.filter(
                expire_date__gte=since + timedelta(seconds=settings.SESSION_COOKIE_AGE - 5))
            ids = {str(pk) for pk in user_ids}
            stale = [s.session_key for s in fresh.iterator() if s.get_decoded().get("_auth_user_id") in ids]
            Session.objects.filter(session_key__in=stale).delete()
        users = get_user_model().objects.filter(pk__in=user_ids)
        for user in users.only("pk", "email"):  # a run soon after this one starts with its own order allowance
            ratelimit.ORDER_REQUESTS.reset(ratelimit.order_identity(user))
            ratelimit.UPLOAD_REQUESTS.reset(ratelimit.upload_identity(user))
            if user.email:
                ratelimit.ORDER_MAILS.reset(ratelimit.mail_identity(user.email))
        users.filter(username=STAFF_USERNAME).delete()  # made by the run; the customers are seeded ones
        users.update(password=make_password(None))
        vacuum()
        return orders, designs

    def session_cookies(self, count):
        """Cookie headers of logged-in browsers for the throughput runs: a session made the way force_login makes it
        (no password hashing) and the CSRF cookie a browser keeps from its first page."""
        import secrets
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend

        store = import_module(settings.SESSION_ENGINE).SessionStore
        # As force_login: the first backend that loads users (django-axes' comes first and does not)
        backend = next(path for path in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(path), "get_user"))
        cookies = []
        users = get_user_model().objects.filter(username__in=[a["username"] for a in self.accounts["customers"]])
        for user in users[:count]:
            session = store()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = backend
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.save()
            cookies.append(f"sessionid={session.session_key}; csrftoken={secrets.token_hex(16)}")
        return cookies

    # --- processes --------------------------------------------------------------------------------------------
    def start(self, name, command, env):
        log = open(self.tmp / f"{name}.log", "wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        process.bench_name = name
        self.processes.append(process)
        return process

    def stop(self, process, grace=10):
        """SIGTERM to the main process (gunicorn and qcluster stop their children), then SIGKILL its whole group."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the group is ours: start_new_session made pid its id
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process in self.processes:
            self.processes.remove(process)

    def gunicorn(self, name, app, port, env):
        metrics_dir = self.tmp / f"metrics-{name}"  # as production runs it: its processes share their metrics
        metrics_dir.mkdir()
        return self.start(name, [str(BIN / "gunicorn"), app, "-c", str(GUNICORN_CONF), "-b", f"127.0.0.1:{port}",
                                 "--graceful-timeout", "5", "--log-level", "warning"],
                          {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})

    def wait_ready(self, process, port, path, timeout=45):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{process.bench_name} exited at start:\n{self.log_tail(process.bench_name)}")
            with contextlib.suppress(OSError):
                status, _ = http_get(port, path)
                if status == 200:
                    return
            time.sleep(0.3)
        raise SystemExit(f"{process.bench_name} not ready after {timeout} s ({path}):\n"
                         f"{self.log_tail(process.bench_name)}")

    def log_tail(self, name, lines=30):
        path = self.tmp / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- measurements -----------------------------------------------------------------------------------------
    def locust(self, port, env, users, classes, timeout_s, results):
        command = [str(BIN / "locust"), "-f", str(ROOT / "bench/load/locustfile.py"), "--headless",
                   "-u", str(users), "-r", str(self.args.spawn_rate), "-t", f"{int(timeout_s)}s",
                   "--host", f"http://127.0.0.1:{port}", "--only-summary", "--stop-timeout", "3",
                   "--loglevel", "WARNING", *classes]
        process = self.start(f"locust-{results.stem}", command, env)
        try:
            process.wait(timeout_s + 20)
        except subprocess.TimeoutExpired:
            print(f"locust did not stop in time; stopped (log: {self.log_tail(process.bench_name, 10)})")
        self.stop(process, grace=5)
        if not results.exists():
            raise SystemExit(f"locust wrote no results:\n{self.log_tail(process.bench_name)}")
        return json.loads(results.read_text())

    def max_throughput(self, port, path, cookies, label, seconds):
        """Requests per second with no think time: wrk if installed, else locust (then the client may be the limit)."""
        connections = self.args.connections
        wrk = shutil.which("wrk")
        if wrk:
            script = self.tmp / f"wrk-{label}.lua"
            script.write_text(WRK_SCRIPT.replace("PATH", json.dumps(path))
                              .replace("COOKIES", ", ".join(json.dumps(c) for c in cookies)))
            threads = max(1, min(4, os.cpu_count() or 1, connections))
            result = subprocess.run([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                                     "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                                    capture_output=True, text=True, timeout=seconds + 30, cwd=self.tmp,
                                    env={"PATH": os.environ.get("PATH", "/usr/bin")}, start_new_session=True)
            line = next((x for x in result.stdout.splitlines() if x.startswith("{")), None)
            if line is None:
                raise SystemExit(f"wrk failed: {result.stdout}\n{result.stderr}")
            data = json.loads(line)
            errors = data["status"] + data["connect"] + data["read"] + data["write"] + data["timeout"]
            return {"tool": "wrk", "rps": data["requests"] / (data["duration_us"] / 1e6), "requests": data["requests"],
                    "errors": errors, "p50": data["p50"] / 1000, "p95": data["p95"] / 1000, "p99": data["p99"] / 1000,
                    "detail": {k: data[k] for k in ("status", "connect", "read", "write", "timeout") if data[k]}}
        results = self.tmp / f"max-{label}.json"
        env = self.child_env(LOAD_RESULTS=str(results), LOAD_DURATION=str(seconds), LOAD_MODE="max",
                             LOAD_MAX_PATH=path, LOAD_COOKIES=",".join(cookies))
        spawn, self.args.spawn_rate = self.args.spawn_rate, connections  # all users at once
        try:
            data = self.locust(port, env, connections, ["MaxUser"], seconds + 10, results)
        finally:
            self.args.spawn_rate = spawn
        rows = data["records"]
        times = sorted(r[3] for r in rows)
        span = (data["window_end"] or 0) - (data["window_start"] or 0)
        return {"tool": "locust (client-bound on small machines)", "rps": len(rows) / span if span > 0 else 0,
                "requests": len(rows), "errors": sum(1 for r in rows if r[5]), "p50": percentile(times, 50),
                "p95": percentile(times, 95), "p99": percentile(times, 99), "detail": {}}

    # --- the run ----------------------------------------------------------------------------------------------
    def run(self):
        self.check_environment()
        started = time.monotonic()
        previous_alarm = signal.signal(signal.SIGALRM, _out_of_time)
        previous_term = signal.signal(signal.SIGTERM, _terminated)
        signal.alarm(self.bound_s)
        self.tmp = Path(tempfile.mkdtemp(prefix="threadline-load-"))
        cleaned = False
        user_ids, run_started = [], None
        try:
            self.setup_django()
            staff_users = max(1, self.args.users // 10)
            customers = self.args.users - staff_users
            user_ids = self.test_user_ids(customers)
            self.clean_database(user_ids)  # leftovers of a run that was killed before its clean-up
            counts = self.dataset()
            from django.core.management import call_command

            print(f"bench load: {counts['orders']:,} orders, {counts['designs']:,} designs, {counts['users']:,} users;"
                  f" collectstatic, accounts ...", flush=True)
            call_command("collectstatic", interactive=False, verbosity=0)
            from django.utils import timezone

            run_started = timezone.now()
            accounts_file = self.prepare_accounts(customers)
            user_ids = self.user_ids
            env = self.child_env()

            port = free_port()
            qcluster = self.start("qcluster", [str(BIN / "python"), "manage.py", "qcluster"], env)
            web = self.gunicorn("web", "project.asgi", port, env)
            self.wait_ready(web, port, "/healthz")
            if qcluster.poll() is not None:
                raise SystemExit(f"qcluster exited at start:\n{self.log_tail('qcluster')}")

            print(f"bench load: {self.args.users} users ({customers} customers, {staff_users} staff),"
                  f" measured {self.args.duration} s after log-in ...", flush=True)
            results = self.tmp / "pages.json"
            pages = self.locust(port, self.child_env(LOAD_ACCOUNTS=str(accounts_file), LOAD_RESULTS=str(results),
                                                     LOAD_DURATION=str(self.args.duration),
                                                     LOAD_LOGIN_WAIT=str(LOGIN_WAIT_S), LOAD_SETTLE=str(SETTLE_S),
                                                     LOAD_STAFF_USERS=str(staff_users)),
                                self.args.users, ["CustomerUser", "StaffUser"],
                                LOGIN_WAIT_S + SETTLE_S + self.args.duration + 15, results)

            seconds = max(3, self.args.max_seconds // FULL_SPEED_ROUNDS)
            print(f"bench load: the gallery page and the ceiling, a bare Django view on the same gunicorn, at full"
                  f" speed ({self.args.connections} connections, {FULL_SPEED_ROUNDS} turns of {seconds} s each) ...",
                  flush=True)
            cookies = self.session_cookies(32)
            status, _ = http_get(port, "/designs/", cookie=cookies[0])
            if status != 200:
                raise SystemExit(f"gallery with a prepared session answered {status}, not 200")
            bare_port = free_port()
            bare = self.gunicorn("bare", "bench.load.bare_asgi", bare_port, env)
            self.wait_ready(bare, bare_port, "/")
            turns = {"bare": [], "gallery": []}
            for _ in range(FULL_SPEED_ROUNDS):
                turns["bare"].append(self.max_throughput(bare_port, "/", [], "bare", seconds))
                turns["gallery"].append(self.max_throughput(port, "/designs/", cookies, "gallery", seconds))
            ceiling, gallery = combined(turns["bare"]), combined(turns["gallery"])
            self.stop(web)
            self.stop(bare)
            self.stop(qcluster, grace=15)  # before the clean-up: no task is then writing to the rows it deletes

            server_errors = self.server_errors()
            orders, designs = self.clean_database(user_ids, since=run_started)
            cleaned = True
            self.report(counts, pages, gallery, ceiling, server_errors, orders, designs, time.monotonic() - started)
        finally:
            signal.alarm(0)
            for process in list(self.processes):
                self.stop(process, grace=5)
            if user_ids and not cleaned:
                with contextlib.suppress(Exception):
                    self.clean_database(user_ids, since=run_started)
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            shutil.rmtree(self.tmp, ignore_errors=True)
            signal.signal(signal.SIGALRM, previous_alarm)
            signal.signal(signal.SIGTERM, previous_term)

    def server_errors(self):
        """What the servers logged at ERROR (5xx tracebacks come from django.request), first lines of each."""
        found = []
        for name in ("web", "qcluster", "bare"):
            path = self.tmp / f"{name}.log"
            if not path.exists():
                continue
            lines = path.read_text(errors="replace").splitlines()
            for index, line in enumerate(lines):
                # Django's log format ("... ERROR django.request ...") and gunicorn's ("[CRITICAL] WORKER TIMEOUT")
                if re.search(r"[ \[](ERROR|CRITICAL)[\] ]", line) or line.startswith("Traceback"):
                    tail = [x for x in lines[index + 1:index + 40] if x.strip()]
                    last = next((x for x in tail if re.match(r"^\w[\w.]*(Error|Exception)\b", x)), "")
                    found.append(f"[{name}] {line.strip()[:240]}" + (f"\n      {last.strip()[:240]}" if last else ""))
        return found

    # --- the report -------------------------------------------------------------------------------------------
    def report(self, counts, pages, gallery, ceiling, server_errors, orders, designs, elapsed):
        start, end = pages["window_start"], pages["window_end"]
        records = pages["records"]
        window, logins, outside = [], [], []
        for record in records:
            if record[0] in LOGIN_NAMES:
                logins.append(record)
            elif start <= record[2] < end:
                window.append(record)
            else:
                outside.append(record)
        span = end - start
        rows, by_name = [], {}
        for record in window:
            by_name.setdefault(record[0], []).append(record)
        misses = []
        for name in sorted(by_name, key=lambda n: (n.split(" ", 1)[1], n)):
            group = by_name[name]
            row, p95 = stats_row(name, group, span)
            rows.append(row)
            if p95 >= TARGET_P95_MS:
                misses.append(f"{name} p95 {p95:.0f} ms")
        for name in LOGIN_NAMES:
            group = [r for r in logins if r[0] == name]
            if group:
                rows.append(stats_row(f"{name} (log-in, once per user)*", group, None)[0])
        errors = [r for r in window if r[5]]
        total_rps = len(window) / span if span > 0 else 0
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        load1, load5, _ = os.getloadavg()

        print(f"\nThreadline under load: {self.args.users} users ({len(self.accounts['customers'])} customer accounts,"
              f" 1 staff account), think time 1-3 s, measured {span:.0f} s once the users had logged in")
        if pages.get("started_at_window") is not None:
            late = self.args.users - pages["started_at_window"]
            print(f"Ramp-up (log-ins) took {pages['ramp_s']:.0f} s" + (
                f"; {late} users were still logging in when the window opened (at most {LOGIN_WAIT_S} s of ramp-up)"
                if late > 0 else f"; every user had logged in, and the window opened {SETTLE_S} s later") + ".")
        gunicorn = runpy.run_path(str(GUNICORN_CONF))
        print(f"Dataset: {counts['orders']:,} orders, {counts['designs']:,} designs, {counts['users']:,} users."
              f" Machine: {cores} cores ({os.cpu_count()} CPUs), load average {load1:.1f} / {load5:.1f} (1 / 5 min)."
              f" Server: gunicorn -w {gunicorn['workers']} -k {gunicorn['worker_class']} (gunicorn.conf.py),"
              f" qcluster 2 workers, PostgreSQL + Redis on loopback. PostgreSQL autovacuum: {autovacuum_setting()}"
              " (the bench vacuums before and after its run).\n")
        print_table(["page", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "server p95", "errors"], rows)
        print("* log-ins: the whole ramp-up (all users log in within seconds; PBKDF2 is slow by design);"
              " not in the totals or the p95 target.")
        print("server p95: Django's own time (its Server-Timing header); the rest of a request's time is spent waiting"
              " for a worker or a CPU, which the load tool shares on this machine.")
        print(f"\nTotal: {len(window):,} requests, {total_rps:.1f} req/s, {len(errors)} errors in the window;"
              f" log-in errors {sum(1 for r in logins if r[5])}, other errors outside the window"
              f" {sum(1 for r in outside if r[5])}.")
        print(f"\nMaximum throughput, no think time, {self.args.connections} connections, {self.args.max_seconds} s"
              f" each ({gallery['tool']}):")
        max_rows = [["bare Django view (ceiling)", f"{ceiling['requests']:,}", f"{ceiling['rps']:.0f}",
                     f"{ceiling['p50']:.1f}", f"{ceiling['p95']:.1f}", f"{ceiling['p99']:.1f}", ceiling["errors"]],
                    ["GET /designs/ (gallery), 32 sessions", f"{gallery['requests']:,}", f"{gallery['rps']:.0f}",
                     f"{gallery['p50']:.1f}", f"{gallery['p95']:.1f}", f"{gallery['p99']:.1f}", gallery["errors"]]]
        print_table(["page", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], max_rows)
        print(f"  req/s in each of the {len(ceiling['turns'])} turns, taken alternately:"
              f" bare view {', '.join(f'{rps:.0f}' for rps in ceiling['turns'])};"
              f" gallery {', '.join(f'{rps:.0f}' for rps in gallery['turns'])} (percentiles: the worst turn's)")
        for label, result in (("ceiling", ceiling), ("gallery", gallery)):
            if result["detail"]:
                print(f"  {label} errors: {result['detail']}")
        fraction = gallery["rps"] / ceiling["rps"] if ceiling["rps"] else 0
        print(f"\nGallery at full speed: {gallery['rps']:.0f} req/s = {fraction:.0%} of the bare view's"
              f" {ceiling['rps']:.0f} req/s (target >= {TARGET_CEILING_FRACTION:.0%}).")
        share = total_rps / ceiling["rps"] if ceiling["rps"] else 0
        print(f"Pages with think time: {total_rps:.1f} req/s = {share:.1%}"
              " of the ceiling; that rate is set by the users' think time, not by the server.")

        failed = [r for r in records if r[5]]
        full_speed_errors = gallery["errors"] + ceiling["errors"]
        print("\nTargets:")
        print(f"  zero errors: {'met' if not failed and not full_speed_errors else 'MISSED'}"
              f" ({len(errors)} in the window, {len(failed) - len(errors)} during log-in or outside it,"
              f" {full_speed_errors} in the full-speed runs)")
        print(f"  p95 < {TARGET_P95_MS} ms on every page: {'met' if not misses else 'MISSED: ' + '; '.join(misses)}")
        print(f"  gallery >= 1/3 of the bare view: {'met' if fraction >= TARGET_CEILING_FRACTION else 'MISSED'}"
              f" ({fraction:.0%})")
        if failed:
            print("\nFailed requests (name, status, error: count):")
            summary = {}
            for record in failed:
                key = (record[0], record[4], re.sub(r"[0-9a-f-]{36}", "<id>", record[5])[:160])
                summary[key] = summary.get(key, 0) + 1
            for (name, status, message), count in sorted(summary.items(), key=lambda kv: -kv[1])[:15]:
                print(f"  {name}, {status}, {message}: {count}")
        if server_errors:
            print(f"\nServer log, ERROR lines ({len(server_errors)}; first 10):")
            for line in server_errors[:10]:
                print("  " + line)
        print(f"\nCleaned up: the {orders} orders (with items, events, mail) and {designs} designs the run made,"
              f" its sessions and its staff account; the customers' passwords set back to unusable."
              f" Took {elapsed:.0f} s.")


def combined(turns):
    """Turns of one full-speed measurement as one: requests over their summed time; the worst percentiles."""
    seconds = sum(turn["requests"] / turn["rps"] for turn in turns if turn["rps"])
    requests = sum(turn["requests"] for turn in turns)
    detail = {}
    for turn in turns:
        for key, value in turn["detail"].items():
            detail[key] = detail.get(key, 0) + value
    return {"tool": turns[0]["tool"], "requests": requests, "rps": requests / seconds if seconds else 0,
            "errors": sum(turn["errors"] for turn in turns), "detail": detail,
            "turns": [turn["rps"] for turn in turns],
            **{p: max(turn[p] for turn in turns) for p in ("p50", "p95", "p99")}}


def stats_row(name, group, span):
    times = sorted(r[3] for r in group)
    server = sorted(r[6] for r in group if r[6] is not None)
    p95 = percentile(times, 95)
    rate = f"{len(group) / span:.1f}" if span else "-"
    return [name, len(group), rate, f"{percentile(times, 50):.0f}", f"{p95:.0f}", f"{percentile(times, 99):.0f}",
            f"{percentile(server, 95):.0f}" if server else "-", sum(1 for r in group if r[5])], p95


def autovacuum_setting():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0]


def vacuum():
    """What autovacuum does in production, done here because a test server may have it off (this machine's has):
    the dead rows each run leaves (its deleted orders and designs, rewritten counters, updated rows) made every
    later run slower. About a second at 10^5 orders and designs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def percentile(ordered, p):
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port, path, cookie=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _out_of_time(signum, frame):
    raise OutOfTime("bench load ran past its time bound; stopped")


def _terminated(signum, frame):
    raise SystemExit("bench load: terminated")


# wrk: one request per call, rotating over the browsers' cookie headers; prints one JSON line at the end.
WRK_SCRIPT = """
local cookies = {COOKIES}
local path = PATH
local n = 0
request = function()
  n = n + 1
  if #cookies == 0 then return wrk.format("GET", path) end
  return wrk.format("GET", path, {["Cookie"] = cookies[(n % #cookies) + 1]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %.0f, "duration_us": %.0f, "connect": %.0f, "read": %.0f, "write": %.0f, '
    .. '"status": %.0f, "timeout": %.0f, "p50": %.0f, "p95": %.0f, "p99": %.0f}\\n', summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""
