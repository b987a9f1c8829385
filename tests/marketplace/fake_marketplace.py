"""A marketplace API on loopback, a real HTTP server in a thread, that a test (or the bench) steers.

Endpoints: POST /oauth/token (client credentials), POST /v1/listings (honours Idempotency-Key: the same key gives
the same listing and 200 instead of 201), GET /v1/listings/<id>. Faults are rules the test adds: answer slowly,
fail with 5xx, rate-limit with 429 + Retry-After, reject with a 4xx and a JSON message; `recover()` drops them.
Every request is recorded (method, path, arrival time, headers) before any fault applies.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from requests.structures import CaseInsensitiveDict


@dataclass
class Call:
    method: str
    path: str
    at: float  # time.monotonic() on arrival
    headers: dict
    client_port: int  # the same port on two calls: the client reused its connection


@dataclass
class Rule:
    path: str  # prefix the request path must start with
    status: int | None  # None: answer normally (after the delay)
    delay: float = 0.0
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    times: int | None = None  # None: until recover()


class FakeMarketplace:
    def __init__(self, *, clients=None, token_lifetime_s=3600):
        self.clients = dict(clients or {"key-123": "secret-456"})  # client_id -> client_secret
        self.token_lifetime_s = token_lifetime_s
        self.calls = []
        self.listings = {}  # id -> listing
        self.by_key = {}  # Idempotency-Key -> listing id
        self.tokens = {}  # token -> expiry (time.time())
        self.rules = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- steering -----------------------------------------------------------------------------------------------
    def fail(self, status=503, *, times=None, delay=0.0, path="/v1/", retry_after=None, message="Service unavailable"):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._add(Rule(path, status, delay, {"error": {"code": "unavailable", "message": message}}, headers, times))

    def rate_limit(self, *, retry_after=1, times=1, path="/v1/"):
        self._add(Rule(path, 429, 0.0, {"error": {"code": "rate_limited", "message": "Slow down."}},
                       {"Retry-After": str(retry_after)}, times))

    def reject(self, status=400, message="Rejected", *, times=None, path="/v1/"):
        self._add(Rule(path, status, 0.0, {"error": {"code": "invalid_request", "message": message}}, {}, times))

    def slow(self, delay, *, times=None, path="/v1/"):
        self._add(Rule(path, None, delay, {}, {}, times))

    def recover(self):
        with self.lock:
            self.rules.clear()

    def _add(self, rule):
        with self.lock:
            self.rules.append(rule)

    def count(self, path_prefix="", method=None):
        with self.lock:
            return sum(1 for call in self.calls
                       if call.path.startswith(path_prefix) and (method is None or call.method == method))

    def listing_calls(self):
        with self.lock:
            return [call for call in self.calls if call.method == "POST" and call.path == "/v1/listings"]

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    # --- answering ----------------------------------------------------------------------------------------------
    def _match(self, path):
        with self.lock:
            for rule in self.rules:
                if path.startswith(rule.path):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule
        return None

    def answer(self, method, path, headers, body):
        rule = self._match(path)
        if rule is not None:
            if rule.delay:
                time.sleep(rule.delay)
            if rule.status is not None:
                return rule.status, rule.body, rule.headers
        if method == "POST" and path == "/oauth/token":
            return self._token(headers, body)
        if not self._authorized(headers):
            return 401, {"error": {"code": "unauthorized", "message": "Access token missing or expired."}}, {}
        if method == "POST" and path == "/v1/listings":
            return self._create_listing(headers, body)
        if method == "GET" and path.startswith("/v1/listings/"):
            listing = self.listings.get(path.rsplit("/", 1)[-1])
            if listing is None:
                return 404, {"error": {"code": "not_found", "message": "No such listing."}}, {}
            return 200, listing, {}
        return 404, {"error": {"code": "not_found", "message": f"No route for {method} {path}."}}, {}

    def _token(self, headers, body):
        form = _form_or_json(headers, body)
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Use client_credentials."}, {}
        if self.clients.get(form.get("client_id")) != form.get("client_secret") or not form.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "Unknown API key or wrong secret."}, {}
        token = f"tok_{uuid.uuid4().hex}"
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime_s
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_s}, {}

    def _authorized(self, headers):
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        with self.lock:
            return scheme == "Bearer" and self.tokens.get(token, 0) > time.time()

    def _create_listing(self, headers, body):
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": {"code": "invalid_json", "message": "Body is not JSON."}}, {}
        if not payload.get("title"):
            return 422, {"error": {"code": "invalid_request", "message": "A listing needs a title."}}, {}
        key = headers.get("Idempotency-Key")
        with self.lock:  # one listing per key, even for two requests racing with the same key
            if key and key in self.by_key:
                return 200, self.listings[self.by_key[key]], {}
            listing = {"id": f"lst_{uuid.uuid4().hex[:12]}", "title": payload["title"], "sku": payload.get("sku"),
                       "image_url": payload.get("image_url"), "state": "active"}
            self.listings[listing["id"]] = listing
            if key:
                self.by_key[key] = listing["id"]
        return 201, listing, {}


def _form_or_json(headers, body):
    if headers.get("Content-Type", "").startswith("application/json"):
        try:
            return json.loads(body or b"{}")
        except ValueError:
            return {}
    return {key: values[-1] for key, values in parse_qs(body.decode()).items()}


def _handler(marketplace):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do: the client's session reuses connections

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = CaseInsensitiveDict(self.headers.items())
            with marketplace.lock:
                marketplace.calls.append(Call(self.command, self.path, time.monotonic(), headers,
                                              self.client_address[1]))
            status, payload, extra = marketplace.answer(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (read timeout) before we answered

        do_GET = do_POST = _serve

        def log_message(self, format, *args):
            pass

    return Handler
