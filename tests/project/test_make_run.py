"""`make run` stops on Ctrl-C and on SIGTERM: every process it started exits (issue 16, finding 10).

It runs in a copy of the working tree (its var/ is the copy's) on a free port, with the embedded defaults.
"""

import os
import shutil
import signal
import subprocess

import psutil
import pytest
import requests

from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.slow

START_WITHIN_S = 240  # migrations, the demo data with its images and collectstatic, on a shared machine
EXIT_WITHIN_S = 60  # generous: an idle cluster and the web processes stop in a few seconds
KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE"}


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def working_copy(tmp_path):
    """The tracked files of this working tree, with the project's virtualenv linked in."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    copy = tmp_path / "threadline"
    for name in filter(None, names):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            (copy / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / os.fsdecode(name))
    (copy / ".venv").symlink_to((REPO / ".venv").resolve())
    return copy


def exited(process):
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # orphans wait here for a reaper that may never come
    except psutil.NoSuchProcess:
        return True


def start_make_run(copy):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key in KEEP}
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_WORKERS="1", Q_WORKERS="1")
    # -o: the shared virtualenv counts as installed; make must not reinstall into it
    make = subprocess.Popen(["make", "-o", ".venv/.installed", "run"], cwd=copy, env=env, start_new_session=True,
                            stdout=open(copy / "make.log", "wb"), stderr=subprocess.STDOUT)

    def serving():
        assert make.poll() is None, (copy / "make.log").read_text()[-4000:]
        try:
            clusters = [child for child in psutil.Process(make.pid).children(recursive=True)
                        if "manage.py qcluster" in " ".join(child.cmdline()) and child.parent().name() == "bash"]
            if not clusters or len(clusters[0].children(recursive=True)) < 4:  # sentinel, worker, monitor, pusher
                return False
        except psutil.Error:  # one of make's short-lived commands, gone between the listing and the look
            return False
        try:
            session = requests.Session()
            session.trust_env = False  # loopback: never through a proxy from the environment
            return session.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(serving, timeout=START_WITHIN_S, interval=0.5, message="make run to serve")
    return make, [psutil.Process(make.pid), *psutil.Process(make.pid).children(recursive=True)]


def assert_all_exit(make, tree, copy):
    def all_gone():
        make.poll()
        return all(exited(process) for process in tree)

    try:
        wait_for(all_gone, timeout=EXIT_WITHIN_S, interval=0.2, message="make run's processes to exit")
    except AssertionError:
        alive = [process for process in tree if not exited(process)]
        described = [f"{process.pid} {' '.join(process.cmdline())}" for process in alive]
        for process in alive:
            process.kill()
        raise AssertionError(f"still running: {described}\n{(copy / 'make.log').read_text()[-3000:]}") from None


@pytest.mark.parametrize("send", [
    pytest.param(lambda make: os.killpg(make.pid, signal.SIGINT), id="ctrl-c"),
    pytest.param(lambda make: os.kill(make.pid, signal.SIGTERM), id="sigterm"),
])
def test_make_run_stops_every_process_it_started(working_copy, send):
    make, tree = start_make_run(working_copy)
    assert len(tree) >= 7, tree  # make, bash, gunicorn and its worker, the cluster's main, sentinel and children
    send(make)
    assert_all_exit(make, tree, working_copy)
