"""Simulated Threadline users for `python -m bench load` (run by it; not meant to be started by hand).

Two modes, chosen by the User classes named on the locust command line:
- `CustomerUser StaffUser`: customers log in once, then browse, order and upload with 1-3 s of think time; staff page
  the admin order list. The run is measured from the moment every user has finished logging in, for
  LOAD_DURATION seconds, then this file stops the runner itself (the locust `-t` is only a safety bound).
- `MaxUser`: no think time, one page over and over with the cookie headers in LOAD_COOKIES (the fallback for the
  maximum-throughput runs when wrk is not installed).

Every user is a FastHttpUser (geventhttpclient): the load tool shares the CPUs with the server here, and it costs a
fraction of the CPU per request of requests-based HttpUser. A connection is reused while the server keeps it open
(uvicorn keeps it open between requests), and a failed request is never retried. Every
request is recorded (name, start, duration, status, error, server time) and written to LOAD_RESULTS as JSON when
locust quits; the bench computes its table from that, so percentiles are exact and the log-in storm can be kept
apart.

Environment: LOAD_ACCOUNTS (JSON written by the bench), LOAD_RESULTS, LOAD_DURATION, LOAD_LOGIN_WAIT,
LOAD_SETTLE, LOAD_STAFF_USERS, LOAD_MAX_PATH, LOAD_COOKIES.
"""

import io
import itertools
import json
import os
import random
import re
import time
import uuid

import gevent
from locust import FastHttpUser, between, constant, events, task
from locust.exception import StopUser

DURATION = float(os.environ.get("LOAD_DURATION", "60"))
LOGIN_WAIT = float(os.environ.get("LOAD_LOGIN_WAIT", "45"))  # s at most for every user to be logged in
SETTLE = float(os.environ.get("LOAD_SETTLE", "5"))  # s between the last log-in and the window
RESULTS = os.environ.get("LOAD_RESULTS", "")
ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"]).read()) if os.environ.get("LOAD_ACCOUNTS") else {}

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ORDER_LINK = re.compile(r'href="/orders/([0-9a-f-]{36})/"')

_records = []  # [name, method, start (epoch s), ms, status, error or None, server ms or None]
SERVER_TOTAL = re.compile(r"(?:^|,)\s*total;dur=([0-9.]+)")  # the app's own time, from its Server-Timing header
_state = {"started": 0, "window_start": None, "window_end": None, "ramp_s": None, "started_at_window": None}
_accounts = itertools.cycle(ACCOUNTS.get("customers") or [None])


@events.request.add_listener
def _record(request_type, name, response_time, response, exception, start_time=None, **_):
    status = getattr(response, "status_code", 0) or 0
    error = None
    if exception is not None:
        error = f"{type(exception).__name__}: {exception}"
        if getattr(response, "error", None) is not None:  # the connection error behind a status 0
            error += f" ({response.error!r})"
    server = SERVER_TOTAL.search((getattr(response, "headers", None) or {}).get("Server-Timing", ""))
    _records.append([name, request_type, start_time or time.time() - response_time / 1000, round(response_time, 3),
                     status, error and error[:300], float(server.group(1)) if server else None])


def _dump():
    if not RESULTS:
        return
    with open(RESULTS + ".tmp", "w") as out:
        json.dump({**_state, "records": _records}, out)
    os.replace(RESULTS + ".tmp", RESULTS)


@events.test_start.add_listener
def _control(environment, **_):
    """Open the measured window SETTLE s after every user has logged in (the log-in storm leaves the server a
    queue, which took ~0.5 s to drain); close it and stop the run DURATION s later."""
    mode_max = os.environ.get("LOAD_MODE") == "max"

    def run():
        expected = environment.parsed_options.num_users if environment.parsed_options else 0
        began = time.time()
        while not mode_max and _state["started"] < expected and time.time() < began + LOGIN_WAIT:
            gevent.sleep(0.2)
        _state["ramp_s"], _state["started_at_window"] = time.time() - began, _state["started"]
        if not mode_max:
            gevent.sleep(SETTLE)
        _state["window_start"] = time.time()
        gevent.sleep(DURATION)
        _state["window_end"] = time.time()
        _dump()
        environment.runner.quit()

    gevent.spawn(run)


@events.quitting.add_listener
def _on_quit(environment, **_):
    if _state["window_end"] is None:  # stopped early (-t bound or a signal): measure up to now
        _state["window_end"] = time.time()
    _dump()


def small_png(rng):
    """A 200x200 PNG of a few coloured shapes and a random stripe: a few KB, never the same bytes twice."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 200), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(3, 7)):
        x, y = rng.randrange(180), rng.randrange(180)
        box = (x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 120))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    stamp = uuid.uuid4().bytes  # 128 unique bits as a stripe of pixels along the bottom edge
    for i, byte in enumerate(stamp):
        image.putpixel((i, 199), (byte, 255 - byte, i))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class SessionUser(FastHttpUser):
    """Logs in once through the real log-in page; every later request must answer with the expected status."""

    abstract = True
    wait_time = between(1, 3)
    account = None

    def on_start(self):
        self.logged_in = False
        try:
            self.prepare()
        finally:
            _state["started"] += 1

    def prepare(self):
        self.login()

    def login(self):
        if not self.account:
            raise StopUser()
        with self.client.get("/accounts/login/", name="GET /accounts/login/", allow_redirects=False,
                             catch_response=True) as response:
            match = CSRF_FIELD.search(response.text or "")
            if response.status_code != 200 or not match:
                found = "found" if match else "missing"
                response.failure(f"login form: status {response.status_code}, csrf field {found}")
                return False
        data = {"username": self.account["username"], "password": self.account["password"],
                "csrfmiddlewaretoken": match.group(1), "next": ""}
        with self.client.post("/accounts/login/", data=data, name="POST /accounts/login/", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"log-in refused: status {response.status_code}")
                return False
        self.logged_in = True
        return True

    def get(self, url, name, expect=200):
        """GET without following redirects: a lost session shows up as a 302 failure, not as a 200 login page."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}")
                return None
            return response

    def csrf_headers(self):
        token = next((cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), "")
        return {"X-CSRFToken": token}


class CustomerUser(SessionUser):
    weight = 9

    def prepare(self):
        self.account = next(_accounts)
        self.rng = random.Random()
        self.designs = []  # [(id, status)]
        self.orders = []
        self.products = []
        self.design_pages = 1
        if not self.login():
            return
        response = self.get("/api/products", "GET /api/products")
        if response is not None:
            self.products = response.json()
        self.design_page(1)
        self.order_list()

    def ensure_login(self):
        return self.logged_in or self.login()

    def design_page(self, page):
        response = self.get(f"/api/designs?page={page}", "GET /api/designs?page=N")
        if response is None:
            return
        body = response.json()
        known = {design_id for design_id, _ in self.designs}
        self.designs += [(row["id"], row["status"]) for row in body["results"] if row["id"] not in known]
        if body.get("next"):
            self.design_pages = max(self.design_pages, page + 1)

    def order_list(self):
        response = self.get("/orders/", "GET /orders/")
        if response is not None:
            found = ORDER_LINK.findall(response.text)
            self.orders = list(dict.fromkeys(self.orders + found))

    @task(4)
    def gallery(self):
        if self.ensure_login():
            self.get("/designs/", "GET /designs/ (gallery)")

    @task(3)
    def gallery_api(self):
        if self.ensure_login():
            self.design_page(self.rng.randint(1, self.design_pages))

    @task(3)
    def design(self):
        if self.ensure_login() and self.designs:
            design_id, _ = self.rng.choice(self.designs)
            self.get(f"/designs/{design_id}/", "GET /designs/<id>/")

    @task(2)
    def orders_page(self):
        if self.ensure_login():
            self.order_list()

    @task(2)
    def order(self):
        if self.ensure_login() and self.orders:
            self.get(f"/orders/{self.rng.choice(self.orders)}/", "GET /orders/<id>/")

    @task(1)
    def place_order(self):
        usable = [design_id for design_id, status in self.designs if status != "failed"]
        if not (self.ensure_login() and usable and self.products):
            return
        items = []
        for _ in range(self.rng.randint(1, 3)):
            product = self.rng.choice(self.products)
            items.append({"product": product["id"], "design": self.rng.choice(usable),
                          "size": self.rng.choice(product["sizes"]), "color": self.rng.choice(product["colors"]),
                          "quantity": self.rng.choice((1, 2, 5, 10, 24))})
        body = {"email": self.account["email"], "name": f"Load test {self.account['username']}", "items": items}
        with self.client.post("/api/orders", json=body, headers=self.csrf_headers(), name="POST /api/orders",
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            self.orders.insert(0, response.json()["id"])

    @task(1)
    def upload(self):
        if not self.ensure_login():
            return
        files = [("files", (f"loadtest-{uuid.uuid4().hex[:12]}.png", small_png(self.rng), "image/png"))
                 for _ in range(self.rng.randint(2, 3))]
        with self.client.post("/api/uploads", files=files, headers=self.csrf_headers(), name="POST /api/uploads",
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            body = response.json()
            if body.get("rejected"):
                response.failure(f"files rejected: {body['rejected']}")
        self.designs += [(item["design_id"], item["status"]) for item in body["accepted"]]
        gevent.sleep(self.rng.uniform(0.5, 1.5))  # the upload page polls a moment later
        self.get(body["status_url"], "GET /api/uploads/<id>")


class StaffUser(SessionUser):
    """Production staff: the admin order list, first page, filtered by status, searched by an e-mail prefix."""

    fixed_count = int(os.environ.get("LOAD_STAFF_USERS", "12"))

    def prepare(self):
        self.account = ACCOUNTS.get("staff")
        self.rng = random.Random()
        self.login()

    @task(2)
    def first_page(self):
        if self.logged_in or self.login():
            self.get("/admin/orders/order/", "GET /admin/orders/order/")

    @task(2)
    def status_filter(self):
        if self.logged_in or self.login():
            status = self.rng.choice(ACCOUNTS.get("statuses") or ["in_production"])
            self.get(f"/admin/orders/order/?status__exact={status}", "GET /admin/orders/order/?status__exact=S")

    @task(2)
    def email_search(self):
        if self.logged_in or self.login():
            prefix = self.rng.choice(ACCOUNTS.get("email_prefixes") or ["customer"])
            self.get(f"/admin/orders/order/?q={prefix}", "GET /admin/orders/order/?q=<email prefix>")


class MaxUser(FastHttpUser):
    """No think time: one page as fast as the server answers (fallback for the maximum-throughput runs)."""

    wait_time = constant(0)
    _cookies = itertools.cycle([c for c in os.environ.get("LOAD_COOKIES", "").split(",") if c] or [""])

    def on_start(self):
        cookie = next(self._cookies)
        self.headers = {"Cookie": cookie} if cookie else {}
        _state["started"] += 1

    @task
    def page(self):
        path = os.environ.get("LOAD_MAX_PATH", "/")
        with self.client.get(path, name=f"max {path}", headers=self.headers, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
