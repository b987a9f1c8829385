"""SFTP storage for STORAGE_URL=sftp://...: django-storages' SFTPStorage made safe to run in production.

Host keys are checked (django-storages trusts whoever answers first), each request times out, a dropped connection
is opened again, one connection per thread (paramiko's client deadlocks when threads share it), and keys are written
in place (they name their content).
"""
# START: PATCHES django-storages 1.14.6 (SFTPStorage._connect, _mkdir, _open, _ssh, _sftp, _remote_path) and
# paramiko 5.1.0 (SFTPClient._read_all, _write_all). Upstream: django-storages issue 118 (unknown host keys are
# added without a check) and paramiko issues 718 and 1836 (SFTPClient is not thread-safe). Re-read this module on
# every upgrade of either: core.patches.check_patches fails at start-up when a name it overrides is gone.

import os
import stat
import threading

import paramiko
from django.core.files.base import File
from storages.backends.sftpstorage import SFTPStorage

VERSIONS = {"django-storages": "1.14.6", "paramiko": "5.1.0"}  # what this module was written against
SFTP_REQUEST_TIMEOUT_S = 30  # one SFTP request (a 32 KB chunk, a stat): a server that takes longer has stopped


class _SFTPSession:
    """One thread's SSH connection and SFTP session, closed when the thread that used it is gone."""

    ssh = None
    sftp = None

    def __del__(self):
        if self.ssh is not None:
            self.ssh.close()


class RefuseUnknownHost(paramiko.MissingHostKeyPolicy):
    """Refuses a server whose host key is not in the known-hosts file, saying how to add it."""

    def __init__(self, known_hosts):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        host, _, port = hostname.removeprefix("[").partition("]:")
        raise paramiko.SSHException(
            f"SFTP server {hostname} is not in {self.known_hosts}, so it could be anyone: check its {key.get_name()} "
            f"host key and add it (ssh-keyscan -p {port or 22} {host} >> {self.known_hosts}), or name another file "
            "with ?known_hosts= in STORAGE_URL")


def _closing_on_timeout(method):
    def wrapper(self, data):
        try:
            return method(self, data)
        except TimeoutError:
            self.sock.close()
            raise

    return wrapper


class TimedSFTPClient(paramiko.SFTPClient):
    """An SFTP session whose channel has a timeout. A request that timed out closes the session: the answer may still
    come, and the next request would read it from the middle of a packet. The storage opens a new one instead."""

    _read_all = _closing_on_timeout(paramiko.SFTPClient._read_all)
    _write_all = _closing_on_timeout(paramiko.SFTPClient._write_all)


class ContentAddressedSFTPStorage(SFTPStorage):
    """SFTP storage that writes a key in place: keys name their content, so an existing key holds the same bytes.

    One SSH connection per thread, as S3 has one connection per thread: paramiko's SFTP client deadlocks when two
    threads use it at once (paramiko issues 718 and 1836), and gunicorn runs several request threads per process,
    besides the health check's own thread. A connection the server has dropped is opened again on the next call.
    """

    def __init__(self, **settings):
        self._sessions = threading.local()  # before super().__init__(), which sets _ssh and _sftp
        super().__init__(**settings)

    def _session(self):
        session = getattr(self._sessions, "current", None)
        if session is None:
            session = self._sessions.current = _SFTPSession()
        return session

    # django-storages keeps these on the instance, which every thread of the process shares.
    _ssh = property(lambda self: self._session().ssh, lambda self, client: setattr(self._session(), "ssh", client))
    _sftp = property(lambda self: self._session().sftp, lambda self, client: setattr(self._session(), "sftp", client))

    def get_available_name(self, name, max_length=None):
        return name

    def _connect(self):
        """django-storages' connect with two changes. A server whose host key is unknown is refused: django-storages
        adds unknown keys, trusting whoever answers first. And each SFTP request gives up after
        SFTP_REQUEST_TIMEOUT_S: a server that stopped answering held the worker that waited for it for good."""
        known_hosts = self.known_host_file or os.path.expanduser(os.path.join("~", ".ssh", "known_hosts"))
        self._ssh = paramiko.SSHClient()
        if os.path.exists(known_hosts):
            self._ssh.load_host_keys(known_hosts)
        self._ssh.set_missing_host_key_policy(RefuseUnknownHost(known_hosts))
        self._ssh.connect(self.host, **self.params)
        self._sftp = TimedSFTPClient.from_transport(self._ssh.get_transport())
        self._sftp.get_channel().settimeout(SFTP_REQUEST_TIMEOUT_S)

    @property
    def sftp(self):
        # django-storages reconnects only while its client still has a transport: one failed connect (server down)
        # left a client without one, and every later call raised AttributeError, even once the server was back.
        transport = self._ssh.get_transport() if self._ssh is not None else None
        if self._sftp is None or transport is None or not transport.is_active() or self._sftp.sock.closed:
            self.close()
            self._sftp = None
            self._connect()
        return self._sftp

    def _mkdir(self, path):
        """Create `path` and its parents, where another thread or worker may be creating the same folder right now.

        django-storages checks, then creates: of two writers racing into a new `thumbs/ab/`, one got OSError
        "Failure" (OpenSSH's answer to mkdir on an existing folder) and its file was not stored.
        """
        try:
            super()._mkdir(path)
        except OSError:
            try:
                if stat.S_ISDIR(self.sftp.stat(path).st_mode):
                    return
            except OSError:
                pass
            raise

    def _open(self, name, mode="rb"):
        """Open the remote file now: a missing key raises FileNotFoundError here, where views turn it into a 404.

        django-storages' SFTPStorageFile opens lazily on the first read, so a missing file failed in the middle of
        a streamed response, and its seek/tell before that read described an empty buffer: FileResponse sent
        `Content-Length: 0` for every file.
        """
        if any(flag in mode for flag in "wa+"):
            return super()._open(name, mode)
        return File(self.sftp.open(self._remote_path(name), "rb"), name=name)


def missing_names():
    """The names this module overrides that django-storages or paramiko no longer has."""
    wanted = [(SFTPStorage, name) for name in ("_connect", "_mkdir", "_open", "_remote_path", "close", "sftp")]
    wanted += [(paramiko.SFTPClient, name) for name in ("_read_all", "_write_all", "from_transport", "get_channel")]
    return [f"{owner.__module__}.{owner.__qualname__}.{name}" for owner, name in wanted if not hasattr(owner, name)]
# END: PATCHES django-storages and paramiko
