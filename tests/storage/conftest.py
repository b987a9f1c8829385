"""Real storage servers on loopback: moto's S3 server and OpenSSH's sshd (internal-sftp), each in its own process.

The `backend` fixture is parametrized over both: it installs the STORAGE_URL's entry as the default storage and
hands the test an S3Backend or SftpBackend, which looks at what the server really holds (boto3 for S3, the root
folder for SFTP). `stoppable_backend` adds a server the test may stop and start again.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

IN_CI = bool(os.environ.get("CI"))
SSHD = shutil.which("sshd", path="/usr/sbin:/usr/local/sbin:" + os.environ.get("PATH", "")) or "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without its privilege separation directory
SERVER_START_TIMEOUT_S = 15
SERVER_STOP_TIMEOUT_S = 10
S3_REGION = "us-east-1"
S3_CREDENTIALS = {"aws_access_key_id": "threadline-test", "aws_secret_access_key": "threadline-test-secret"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(port, process, log_path, *, banner=b""):
    """Block until something accepts on 127.0.0.1:port (and sends `banner` first, when given)."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {Path(log_path).read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if not banner or sock.recv(64).startswith(banner):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not answer within {SERVER_START_TIMEOUT_S} s")


def stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def descendants(pid):
    """Ids of every live process below `pid` (sshd's per-connection children run in sessions of their own)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def is_alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# --- S3 -----------------------------------------------------------------------------------------------------------
class MotoServer:
    """moto's S3 server in a subprocess on a loopback port; start() after stop() comes back on the same port."""

    def __init__(self, workdir):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "moto.log"
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:  # a file, not a pipe: moto logs every request, a full pipe blocks it
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until_answering(self.port, self.process, self.log_path)

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One moto server for the whole session (each test gets its own bucket)."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3_server(tmp_path):
    """A moto server for one test, which may stop it (and start it again: buckets do not survive that)."""
    server = MotoServer(tmp_path)
    server.start()
    yield server
    server.stop()


def s3_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION, config=Config(retries={"max_attempts": 1}),
                        **S3_CREDENTIALS)


class S3Backend:
    name = "s3"
    prefix = "media"

    def __init__(self, server):
        self.server = server
        self.bucket = f"threadline-{uuid.uuid4().hex[:12]}"
        self.client = s3_client(server.endpoint)
        self.client.create_bucket(Bucket=self.bucket)

    @property
    def url(self):
        return f"s3://{self.bucket}/{self.prefix}?endpoint={self.server.endpoint}&region={S3_REGION}"

    def keys(self):
        """Every key the bucket holds below the storage prefix, relative to it."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/"):
            found += [item["Key"].removeprefix(f"{self.prefix}/") for item in page.get("Contents", [])]
        return set(found)

    def read(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"].read()

    def stop_server(self):
        self.server.stop()

    def start_server(self):
        self.server.start()
        self.client.create_bucket(Bucket=self.bucket)  # moto keeps buckets in memory: a restart loses them


# --- SFTP ---------------------------------------------------------------------------------------------------------
class SshServer:
    """OpenSSH's sshd on a loopback port, key login only, SFTP through internal-sftp; stop() drops every session."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.host_key = workdir / "ssh_host_ed25519_key"
        self.client_key = workdir / "client_ed25519_key"
        self.known_hosts = workdir / "known_hosts"
        self.log_path = workdir / "sshd.log"
        self.process = None
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "threadline-test", "-f", str(key)],
                           check=True, stdin=subprocess.DEVNULL)
        (workdir / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        public_host_key = " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public_host_key}\n")
        self.config = workdir / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            f"AllowUsers {self.user}\n"
            "Subsystem sftp internal-sftp\n"
            "LogLevel VERBOSE\n"
        )

    def url(self, root):
        return f"sftp://{self.user}@127.0.0.1:{self.port}{root}?key={self.client_key}&known_hosts={self.known_hosts}"

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until_answering(self.port, self.process, self.log_path, banner=b"SSH-2.0-")

    def session_processes(self):
        """The processes serving open SSH sessions (two per connection)."""
        return descendants(self.process.pid)

    def stop(self):
        """Stop the listener and kill every open session, as a server going down would drop its connections."""
        if self.process is None:
            return
        # SIGKILL: a session that is just starting up sometimes sat on a SIGTERM for 10 s and more.
        sessions = self.session_processes()
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + SERVER_STOP_TIMEOUT_S
        while any(is_alive(pid) for pid in sessions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd sessions {sessions} outlived SIGKILL by {SERVER_STOP_TIMEOUT_S} s")
            time.sleep(0.02)
        stop_process(self.process)
        self.process = None


def sshd_unavailable(reason):
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: the SFTP tests must run there)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    """One sshd for the session; tests that stop it must start it again."""
    if not os.access(SSHD, os.X_OK):
        sshd_unavailable(f"{SSHD} not found: install Debian's openssh-server for the SFTP storage tests")
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    except OSError as error:
        sshd_unavailable(f"cannot create {PRIVSEP_DIR}, which sshd needs: {error}")
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def running_ssh_server(ssh_server):
    """The session's sshd, started again after the test if the test stopped it."""
    if ssh_server.process is None:
        ssh_server.start()
    yield ssh_server
    if ssh_server.process is None:
        ssh_server.start()


class SftpBackend:
    name = "sftp"

    def __init__(self, server, root):
        self.server = server
        self.root = root

    @property
    def url(self):
        return self.server.url(self.root)

    def keys(self):
        """Every file under the storage root as the server wrote it, relative to the root."""
        return {path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if path.is_file()}

    def read(self, key):
        return (self.root / key).read_bytes()

    def stop_server(self):
        self.server.stop()

    def start_server(self):
        self.server.start()


# --- Both ---------------------------------------------------------------------------------------------------------
def install_backend(request, settings, monkeypatch, tmp_path, *, own_server):
    from project.settings import storage_from_url

    if request.param == "s3":
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["aws_secret_access_key"])
        chosen = S3Backend(request.getfixturevalue("own_s3_server" if own_server else "s3_server"))
    else:
        root = tmp_path / "sftp-root"
        root.mkdir()
        chosen = SftpBackend(request.getfixturevalue("running_ssh_server"), root)
    # Django's setting_changed handler drops the cached storages and default_storage (test_backends checks it).
    settings.STORAGES = {**settings.STORAGES, "default": storage_from_url(chosen.url)}
    return chosen


def close_default_storage():
    from django.core.files.storage import storages

    close = getattr(storages["default"], "close", None)  # SFTP: end this test's session on the server
    if close is not None:
        close()


@pytest.fixture(params=["s3", "sftp"])
def backend(request, settings, monkeypatch, tmp_path):
    """Each storage backend in turn, against its real server, installed as the default storage for the test."""
    yield install_backend(request, settings, monkeypatch, tmp_path, own_server=False)
    close_default_storage()


@pytest.fixture(params=["s3", "sftp"])
def stoppable_backend(request, settings, monkeypatch, tmp_path):
    """Like `backend`, on a server the test may stop and start again (`stop_server()`, `start_server()`)."""
    yield install_backend(request, settings, monkeypatch, tmp_path, own_server=True)
    close_default_storage()
