"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against pytest-django's live server."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import design_image, encode, upload_file

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach Google services and floods the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # per action and per expect: generous for a loaded 2-CPU machine, still fails in seconds
SCREENSHOTS = os.environ.get("THREADLINE_SCREENSHOTS")  # a folder: save pages at desktop and mobile sizes there

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for all browser tests.

    Package-scoped (this folder is a package) rather than session-scoped: Playwright's sync API keeps an asyncio
    loop running in the main thread while it is alive, so it is stopped as soon as the last browser test is done
    instead of leaking that loop into the rest of the suite.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package `chromium`; CI installs it)")
    # Django refuses ORM calls from a thread with a running event loop (SynchronousOnlyOperation), and the sync
    # Playwright loop is "running" in the test thread between calls. The tests only touch the ORM synchronously
    # between browser steps, never from inside that loop, so the check is switched off while Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh browser context (its own cookies) on the live server.

    A script error, or anything the Content-Security-Policy blocks, on any page fails the test.
    """
    contexts, problems = [], []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
        page.on("console", lambda message: problems.append(f"blocked on {page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text else None)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def log_in():
    """Log in through the real login form."""

    def log_in(page, username, password):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        # Hidden behind the menu on a phone, so counted rather than required to be visible.
        expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_have_count(1)
        return page

    return log_in


@pytest.fixture
def screenshot():
    """Save the page at desktop and mobile sizes under $THREADLINE_SCREENSHOTS (nothing when it is unset)."""

    def take(page, name):
        if not SCREENSHOTS:
            return
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page.set_viewport_size(viewport)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(original)

    return take


@pytest.fixture
def task_workers(qcluster):
    """A real `manage.py qcluster` with two workers on the test database, stopped gracefully afterwards.

    SIGTERM goes to the cluster's main process only: it then stops its workers itself in about a second. Signalling
    the whole process group (what the shared fixture's stop does) leaves it hanging until the 20 s kill.
    """
    cluster = qcluster(workers=2)
    yield cluster
    if cluster.process.poll() is None:
        cluster.process.send_signal(signal.SIGTERM)
        try:
            cluster.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass  # the shared fixture kills what is left


def artwork_png(seed, size=(800, 600)):
    """PNG bytes of a distinct design; the same seed at another size is a resized copy of it."""
    image = design_image(seed=seed)
    return encode(image if image.size == size else image.resize(size))


@pytest.fixture
def add_designs(monkeypatch):
    """Upload files for `owner` through the service and process them in this process, before the test browses.

    Returns {file name: Design}. Call it again for files that must find the earlier ones as near duplicates.
    """
    from django_q.conf import Conf

    from designs.models import Design
    from designs.services import design_batch_upload

    def add(owner, files):
        with monkeypatch.context() as patch:
            patch.setattr(Conf, "SYNC", True)  # only here: the live server shares this process
            result = design_batch_upload(owner=owner, files=[upload_file(name, data) for name, data in files])
        return {item.name: Design.objects.get(pk=item.design.pk) for item in result.accepted}

    return add


@pytest.fixture
def products():
    from decimal import Decimal

    from orders.models import Product

    return {
        "tee": Product.objects.create(name="Classic tee", sizes="S,M,L", colors="white,black", price=Decimal("12.50")),
        "hoodie": Product.objects.create(name="Hoodie", sizes="S,M,L", colors="white,black", price=Decimal("35.00")),
    }
