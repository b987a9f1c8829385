"""The upload pipeline end to end as `make run` serves it (embedded defaults: SQLite, the ORM broker, local files):
16 print-size RGBA PNGs sent over HTTP the way the upload page sends them, from the first 202 to the last design
ready, beside the time two processes need only to decode the same files. The queue's own records then say where
the rest went: waiting for the last file to arrive, the workers' time outside the decode, and their idle gaps.

    python -m bench designs --only pipeline [--rounds 3]

It starts its own gunicorn (2 processes) and qcluster (2 workers) on a free port, on a temporary var/ folder, and
then profiles design_process on the same files alone in one process (cProfile), to say where a worker's time goes.
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILES = 16
WORKERS = 2
LANES = 3  # uploads in flight, as static/js/upload.js sends them
PASSWORD = "bench-pipeline-password"
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
START_WITHIN_S = 60
DONE_WITHIN_S = 600


def print_files():
    """FILES transparent 4500x5400 PNGs of 9-15 MB, made once and kept under var/bench-files."""
    from bench.imaging import make_print_file

    folder = REPO / "var" / "bench-files"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(FILES):
        path = folder / f"pipeline-{index:02d}.png"
        if not path.exists():
            make_print_file(4500, 5400, seed=500 + index, transparent=True, grain=8).save(path, compress_level=6)
        paths.append(path)
    return paths


def decode_only_s(paths):
    """Wall time for WORKERS fresh processes to decode every file once, one file at a time each."""
    from bench.imaging import floor as decode

    with get_context("spawn").Pool(WORKERS) as pool:
        pool.map(decode, paths[:WORKERS])  # imports and first-touch costs out of the clock
        started = time.perf_counter()
        pool.map(decode, paths, chunksize=1)
        return time.perf_counter() - started


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    """gunicorn and a qcluster as `make run` starts them, on a var/ folder of their own."""

    def __init__(self, folder):
        self.var = folder / "var"
        self.port = free_port()
        self.env = {key: os.environ[key] for key in KEEP_ENV if key in os.environ}
        self.env.update(VAR_DIR=str(self.var), Q_WORKERS=str(WORKERS), DJANGO_SETTINGS_MODULE="project.settings",
                        PROMETHEUS_MULTIPROC_DIR=str(self.var / "metrics"), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        self.processes = []

    def manage(self, *args, **env):
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env={**self.env, **env}, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, usernames):
        (self.var / "metrics").mkdir(parents=True)
        self.manage("migrate", "--noinput", "-v0")
        for username in usernames:
            self.manage("createsuperuser", "--noinput", "--username", username, "--email", f"{username}@example.com",
                        DJANGO_SUPERUSER_PASSWORD=PASSWORD)
        self.manage("collectstatic", "--noinput", "-v0")
        bin_dir = Path(sys.executable).parent
        for command in ([sys.executable, "manage.py", "qcluster"],
                        [str(bin_dir / "gunicorn"), "project.asgi", "-b", f"127.0.0.1:{self.port}", "-w", "2"]):
            self.processes.append(subprocess.Popen(command, cwd=REPO, env=self.env, start_new_session=True,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + START_WITHIN_S
        while time.monotonic() < deadline:
            with suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    time.sleep(3)  # the cluster's workers start beside gunicorn
                    return
            time.sleep(0.2)
        raise SystemExit("gunicorn did not start")

    def stop(self):
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def logged_in(site, username):
    import requests

    session = requests.Session()
    session.trust_env = False
    base = f"http://127.0.0.1:{site.port}"
    session.get(f"{base}/accounts/login/", timeout=30).raise_for_status()
    answer = session.post(f"{base}/accounts/login/", timeout=30, headers={"Referer": f"{base}/accounts/login/"},
                          data={"username": username, "password": PASSWORD,
                                "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    answer.raise_for_status()
    session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/designs/upload/"})
    return session, base


def upload_batch(site, username, paths):
    """Seconds from the first upload's 202 to the batch done, and to the last file's 202."""
    session, base = logged_in(site, username)

    def send(url, path):
        with open(path, "rb") as data:
            answer = session.post(url, files={"files": (path.name, data, "image/png")}, timeout=120)
        if answer.status_code != 202 or answer.json()["rejected"]:
            raise SystemExit(f"upload of {path.name} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json()

    batch_id = send(f"{base}/api/uploads", paths[0])["id"]
    started = time.perf_counter()
    with ThreadPoolExecutor(LANES) as lanes:
        list(lanes.map(lambda path: send(f"{base}/api/uploads/{batch_id}/files", path), paths[1:]))
    arrived_s = time.perf_counter() - started
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline:
        state = session.get(f"{base}/api/uploads/{batch_id}", timeout=30).json()
        if state["status"] == "done":
            if state["ready"] != len(paths):
                raise SystemExit(f"the batch ended with {state}")
            return time.perf_counter() - started, arrived_s
        time.sleep(0.1)
    raise SystemExit("the batch did not finish in time")


def worker_timeline(site, username):
    """(claimed, finished, queued) epoch seconds of each of the user's designs, from its row: a worker claims a
    design at processed_at and writes its result at updated_at."""
    import sqlite3
    from datetime import UTC, datetime

    def seconds(stamp):  # Django stores UTC without an offset in SQLite
        return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()

    database = sqlite3.connect(site.var / "db.sqlite3")
    rows = database.execute("SELECT d.processed_at, d.updated_at, d.created_at FROM designs_design d "
                            "JOIN auth_user u ON u.id = d.owner_id WHERE u.username = ?", [username]).fetchall()
    database.close()
    return sorted(tuple(map(seconds, row)) for row in rows)


def main(rounds=3):
    print("\nmaking print files...", flush=True)
    paths = print_files()
    megabytes = sum(path.stat().st_size for path in paths) / 1e6
    folder = Path(tempfile.mkdtemp(prefix="threadline-pipeline-"))
    site = Site(folder)
    rows = []
    try:
        site.start([f"bench-pipeline-{n}" for n in range(rounds)])
        for n in range(rounds):
            decode_s = decode_only_s(paths)
            total_s, arrived_s = upload_batch(site, f"bench-pipeline-{n}", paths)
            rows.append((decode_s, total_s, arrived_s, f"bench-pipeline-{n}"))
            print(f"  round {n + 1}: decode {decode_s:.1f} s, end to end {total_s:.1f} s", flush=True)
    finally:
        site.stop()
    try:
        print_report(site, rows, megabytes)
        subprocess.run([sys.executable, "-m", "bench.pipeline", "--profile"], cwd=REPO, env=site.env, check=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def print_report(site, rows, megabytes):
    from bench.timing import print_table

    table = []
    for decode_s, total_s, arrived_s, username in rows:
        designs = worker_timeline(site, username)
        busy_s = sum(finished - claimed for claimed, finished, _ in designs)
        span_s = max(finished for _, finished, _ in designs) - designs[0][0]
        waits = sorted(claimed - queued for claimed, _, queued in designs)
        table.append([f"{decode_s:.1f}", f"{total_s:.1f}", f"{total_s / decode_s:.2f}x", f"{arrived_s:.1f}",
                      f"{WORKERS * decode_s / len(designs):.2f}", f"{busy_s / len(designs):.2f}",
                      f"{WORKERS * span_s - busy_s:.1f}", f"{waits[0]:.2f}"])
    ratios = [total_s / decode_s for decode_s, total_s, *_ in rows]
    print(f"\nThe upload pipeline under make run's set-up (SQLite, ORM broker, local files, gunicorn -w 2, "
          f"{WORKERS} workers): {FILES} RGBA PNGs 4500x5400, {megabytes:.0f} MB; {LANES} uploads in flight; "
          f"{os.cpu_count()} cores; s\n")
    print_table(["2 processes decode only", "first 202 to last ready", "ratio (budget 1.5x)",
                 "last file arrived after", "decode s per file", "worker s per file", "workers idle s",
                 "shortest queue wait s"], table)
    print(f"\nmedian ratio {statistics.median(ratios):.2f}x over {len(rows)} rounds")


# Where design_process spends its time, by the functions that make up a worker's task
PROFILED_STEPS = (
    ("decode (Pillow's decoder)", "<method 'decode' of 'ImagingDecoder' objects>"),
    ("processing besides the decode", "process_image"),
    ("thumbnails written to storage", "store"),
    ("duplicate decision", "find_near_duplicate"),
    ("claim and result writes", "_claim"),
    ("", "_finish"),
)


def profile_worker():
    """design_process on each print file in this process, under cProfile: the split of a worker's task time."""
    import cProfile
    import logging
    import pstats

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from bench.designs import received
    from bench.timing import print_table
    from designs.services import design_batch_upload, design_process

    logging.disable(logging.INFO)  # a line per enqueued task
    owner = get_user_model().objects.create_user("bench-pipeline-profile")
    files = [received(path.name, path.read_bytes()) for path in print_files()]
    result = design_batch_upload(owner=owner, files=files)
    for uploaded in files:
        uploaded.close()  # as Django does after a request; the stored ones were moved, not copied
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for accepted in result.accepted:
        design_process(design_id=accepted.design.pk)
    profile.disable()
    total_s = time.perf_counter() - started
    cumulative = {}
    for (_, _, name), (_, _, _, seconds, _) in pstats.Stats(profile).stats.items():
        cumulative[name] = cumulative.get(name, 0.0) + seconds
    decode = PROFILED_STEPS[0][1]
    cumulative["process_image"] = cumulative.get("process_image", 0.0) - cumulative.get(decode, 0.0)
    rows, counted = [], 0.0
    for label, name in PROFILED_STEPS:
        seconds = cumulative.get(name, 0.0)
        counted += seconds
        if label:
            rows.append([label, seconds])
        else:
            rows[-1][1] += seconds
    rows.append(["the rest (storage reads, queries, Python)", total_s - counted])
    count = len(result.accepted)
    print(f"\nOne worker's task, profiled alone (cProfile, {count} files, design_process in one process); "
          "ms per file\n")
    print_table(["step", "ms per file", "share"],
                [[label, f"{1000 * seconds / count:.0f}", f"{seconds / total_s:.0%}"] for label, seconds in rows])


if __name__ == "__main__" and sys.argv[1:] == ["--profile"]:
    profile_worker()
