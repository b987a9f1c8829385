"""The web server as `make run` and production start it, against slow and oversized request bodies (16, finding 8).

One gunicorn process (`gunicorn project.asgi -w 1`, gunicorn.conf.py's worker class) on a free loopback port, alone
as under `make run` and behind the real nginx with deploy/nginx.conf as in production: while clients trickle request
bodies, other requests are answered; a declared body over the limit is refused before it is sent, a chunked one as
soon as it passes the limit.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO, design_image, encode, wait_for

pytestmark = pytest.mark.slow

LIMIT = 1024 * 1024  # REQUEST_MAX_BYTES of the server under test: 1 MB keeps the chunked test cheap
NGINX = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
SLOW_CLIENTS = 4
TRICKLE_PAUSE_S = 0.5  # between bytes of a slow body; it would take minutes to finish
ANSWER_WITHIN_S = 30  # generous: an idle process answers in milliseconds
PASSWORD = "alice-password-1"

# Service variables the server of the embedded defaults must not inherit from the test run's environment.
SERVICE_VARIABLES = {"DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "Q_BROKER", "STORAGE_URL", "EMAIL_URL",
                     "SECRET_KEY", "DEBUG", "THREADLINE_WORKER_OF_TESTS", "PROMETHEUS_MULTIPROC_DIR"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_session():
    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy from the environment
    return session


def server_env(var_dir):
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="project.settings", VAR_DIR=str(var_dir), REQUEST_MAX_BYTES=str(LIMIT),
               PYTHONUNBUFFERED="1")
    return env


def start_gunicorn(env, log_path, port):
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.asgi", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--graceful-timeout", "5"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return server


def wait_until_answering(url, server, log_path):
    def answers():
        assert server.poll() is None, log_path.read_text()
        try:
            return http_session().get(url + "/accounts/login/", timeout=10).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=60, interval=0.2, message=f"the server at {url}")


def stop(server):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """(port, log path) of one running server process on the embedded defaults, in a folder of its own."""
    var_dir = tmp_path_factory.mktemp("web")
    env = server_env(var_dir)
    for command in (["migrate"], ["collectstatic"]):
        subprocess.run([sys.executable, "manage.py", *command, "--noinput", "-v0"], cwd=REPO, env=env, check=True,
                       timeout=180)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", "from django.contrib.auth import get_user_model; "
                    f"get_user_model().objects.create_user('alice', 'alice@example.com', '{PASSWORD}')"],
                   cwd=REPO, env=env, check=True, timeout=60)
    port, log_path = free_port(), var_dir / "gunicorn.log"
    server = start_gunicorn(env, log_path, port)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", server, log_path)
        yield port, log_path
    finally:
        stop(server)
    output = log_path.read_text()
    assert "Traceback" not in output and "[ERROR]" not in output, output[-4000:]  # a clean stop too


def nginx_config(folder, listen_port, app_port):
    """A main configuration of temporary paths around deploy/nginx.conf, pointed at the test's ports."""
    site = (REPO / "deploy" / "nginx.conf").read_text()
    assert "server 127.0.0.1:8000;" in site and "listen 80;" in site
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    temp_paths = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in
                           ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = folder / "nginx.conf"
    config.write_text(f"""
worker_processes 1;
user root;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp_paths}
{site}
}}
""")
    return config


@pytest.fixture(scope="module")
def proxied(web, tmp_path_factory):
    """(port, log path) of nginx with deploy/nginx.conf in front of the `web` server."""
    if not NGINX:
        pytest.skip("needs nginx (Debian's nginx-light; .ci/run installs it)")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = nginx_config(folder, port, web[0])
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    log_path = Path(folder / "error.log")
    try:
        def answers():
            assert nginx.poll() is None, log_path.read_text() if log_path.exists() else "nginx exited"
            try:
                return http_session().get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(answers, timeout=30, interval=0.2, message="nginx")
        yield port, log_path
    finally:
        stop(nginx)


@pytest.fixture(params=["web", "proxied"])
def server(request):
    """The port of the server alone (`make run`), then behind nginx (production)."""
    return request.getfixturevalue(request.param)[0]


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN_S)


def read_response(sock):
    """(status, headers, body) of one response on `sock`, which the server closes after it."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def head(method, path, headers):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Trickle(threading.Thread):
    """A client sending a log-in form one byte at a time, as slowly as a stalled phone connection."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.body = b"username=alice&password=" + b"x" * 400
        self.sock = connect(port)
        self.sock.sendall(head("POST", "/accounts/login/", {
            "Content-Type": "application/x-www-form-urlencoded", "Content-Length": len(self.body)}))
        self.stopped = threading.Event()
        self.sent = 0

    def run(self):
        for byte in self.body[:-1]:  # never the last one: the request stays unfinished until the test ends
            if self.stopped.wait(TRICKLE_PAUSE_S):
                return
            try:
                self.sock.send(bytes([byte]))
            except OSError:
                return
            self.sent += 1

    def close(self):
        self.stopped.set()
        self.join(timeout=5)
        self.sock.close()


def test_requests_are_answered_while_slow_clients_trickle_their_bodies(server):
    port = server
    slow = [Trickle(port) for _ in range(SLOW_CLIENTS)]
    try:
        for client in slow:
            client.start()
        wait_for(lambda: all(client.sent >= 2 for client in slow), timeout=ANSWER_WITHIN_S, interval=0.1,
                 message="the slow clients to start sending")
        for _ in range(3):
            response = http_session().get(f"http://127.0.0.1:{port}/accounts/login/", timeout=ANSWER_WITHIN_S)
            assert response.status_code == 200
        assert all(client.is_alive() for client in slow)  # still trickling: not one was answered or dropped
    finally:
        for client in slow:
            client.close()


@pytest.mark.parametrize(("path", "is_api"), [("/api/uploads", True), ("/designs/upload/", False)])
def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server, path, is_api):
    port = server
    with connect(port) as sock:
        sock.sendall(head("POST", path, {"Content-Type": "multipart/form-data; boundary=b",
                                         "Content-Length": 200 * 1024 * 1024}))
        status, headers, body = read_response(sock)  # not one byte of the body sent
    assert status == 413
    if is_api:
        assert headers["content-type"] == "application/json"
        assert list(json.loads(body)) == ["error"]
        assert json.loads(body)["error"].startswith("The request body is over")
    else:
        assert b"Request Entity Too Large" in body or b"Request too large" in body  # nginx's page, or the app's


def test_a_chunked_body_is_cut_off_at_the_limit(web):
    port, _ = web
    chunk = b"x" * 65536
    with connect(port) as sock:
        sock.sendall(head("POST", "/api/uploads", {"Content-Type": "multipart/form-data; boundary=b",
                                                   "Transfer-Encoding": "chunked"}))
        for _ in range(LIMIT // len(chunk)):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"1\r\nx\r\n")  # one byte past the limit, and no more: a byte the server never read would
        # turn its close into a reset, losing the answer
        # The body is not finished (no last chunk): an answer now can only be the refusal.
        status, headers, body = read_response(sock)
    assert status == 413
    assert json.loads(body)["error"].startswith("The request body is over")


def test_a_body_within_the_limit_reaches_the_app(web):
    port, _ = web
    session = http_session()
    url = f"http://127.0.0.1:{port}/accounts/login/"
    session.get(url, timeout=ANSWER_WITHIN_S)
    response = session.post(url, data={"username": "nobody", "password": "x" * 1000,
                                       "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": url}, timeout=ANSWER_WITHIN_S)
    assert response.status_code == 200 and b"Please enter a correct" in response.content


def test_an_upload_through_the_server_comes_back_byte_for_byte(web):
    """The whole path under the ASGI handler: log-in form, CSRF, multipart upload, streamed download."""
    port, log_path = web
    url = f"http://127.0.0.1:{port}"
    session = http_session()
    session.get(url + "/accounts/login/", timeout=ANSWER_WITHIN_S)
    response = session.post(url + "/accounts/login/", data={
        "username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": url + "/accounts/login/"}, allow_redirects=False, timeout=ANSWER_WITHIN_S)
    assert response.status_code == 302, response.text[:500]
    artwork = encode(design_image(7, size=(400, 300)), "PNG")
    response = session.post(url + "/api/uploads", files={"files": ("art.png", artwork, "image/png")},
                            headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": url + "/"},
                            timeout=ANSWER_WITHIN_S)
    assert response.status_code == 202, response.text[:500]
    design_id = response.json()["accepted"][0]["design_id"]
    download = session.get(f"{url}/designs/{design_id}/original", timeout=ANSWER_WITHIN_S)
    assert download.status_code == 200
    assert download.content == artwork
    # Streamed, not gathered into memory first (Django's ASGI handler warns when it gathers).
    assert "must consume synchronous iterators" not in log_path.read_text()


def test_each_connection_is_closed_after_its_response(web):
    """A kept-alive connection would hold its client's next request on this process, busy or not."""
    port, _ = web
    with connect(port) as sock:
        sock.settimeout(5)  # a connection kept alive would leave read_response waiting for the end
        sock.sendall(head("GET", "/accounts/login/", {}))
        status, headers, body = read_response(sock)
    assert status == 200 and headers["connection"] == "close"
    assert b"</html>" in body
