"""Test settings: production settings with test-only relaxations, each with its reason."""

import os
import tempfile
import uuid

# Everything a run writes (databases, media, mail, demo logins) goes to a folder of its own, never the developer's
# var/; worker processes started by the tests inherit it through the environment. conftest removes it afterwards.
if "THREADLINE_TEST_VAR" not in os.environ:
    os.environ["THREADLINE_TEST_VAR"] = tempfile.mkdtemp(prefix="threadline-test-")
os.environ["VAR_DIR"] = os.environ["THREADLINE_TEST_VAR"]

from project.settings import *  # noqa: E402, F403
from project.settings import CACHES, DATABASES, Q_CLUSTER, VAR_DIR  # noqa: E402

# Tests talk plain HTTP to a live server.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Hashing passwords slowly is the point in production and pure waste in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Many tests upload as users whose ids repeat from test to test (rolled-back SQLite rows), within the same minute of
# one local-memory cache; tests/faults/test_access.py puts the production limit back to test it.
UPLOAD_REQUESTS_LIMIT = (100_000, 60)
ORDER_REQUESTS_LIMIT = ORDER_MAILS_LIMIT = (100_000, 60)  # the same for orders; tests/orders/test_api.py sets them
# Static files straight from static/ (no collectstatic before a test run), for the browser tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# One name per test session, inherited by the worker processes the tests start (they read this module too), so a
# test cluster never takes tasks from, or gives them to, anything else on the same Redis.
TEST_RUN_ID = os.environ.setdefault("THREADLINE_TEST_RUN", uuid.uuid4().hex[:10])
Q_CLUSTER = {**Q_CLUSTER, "name": f"threadline-test-{TEST_RUN_ID}", "sync": False}
if "KEY_PREFIX" in CACHES["default"]:
    CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"tl-test-{TEST_RUN_ID}"}}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: worker processes started by the tests must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{TEST_RUN_ID}.sqlite3")}
else:
    # One test database per run, so two runs against one server never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{TEST_RUN_ID}"}
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):  # noqa: F405
    # Per test session, shared with the worker processes the tests start; conftest removes it afterwards.
    STORAGES["default"] = {  # noqa: F405
        **STORAGES["default"],  # noqa: F405
        "OPTIONS": {**STORAGES["default"]["OPTIONS"], "location": str(VAR_DIR / f"test-media-{TEST_RUN_ID}")},  # noqa: F405
    }

if os.environ.get("THREADLINE_WORKER_OF_TESTS"):
    # A worker process started by a test: point it at the test database that test is using.
    _test_db = DATABASES["default"].get("TEST", {}).get("NAME") or f"test_{DATABASES['default']['NAME']}"
    DATABASES["default"] = {**DATABASES["default"], "NAME": _test_db}
