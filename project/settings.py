"""Threadline settings.

Every environment variable is read here, once, at the top. With no environment at all the project runs on embedded
defaults (SQLite, local-memory cache, the Django-Q2 ORM broker, local files under var/, console mail); each real
service is switched on by one variable. `.env.example` lists them all.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from botocore.config import Config


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name, default):
    value = os.environ.get(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY_FROM_ENV = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
# A deployment supplies its own secret key; a development run has none. HTTPS hardening follows unless told otherwise.
HTTPS = env_bool("HTTPS", default=bool(SECRET_KEY_FROM_ENV) and not DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "core.api.csrf_failure"  # JSON under /api/, Django's page elsewhere
DATABASE_URL = env_str("DATABASE_URL")
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
DB_POOL_MAX = env_int("DB_POOL_MAX", 8)
REDIS_URL = env_str("REDIS_URL")
Q_BROKER = env_str("Q_BROKER", "redis" if REDIS_URL else "orm")
Q_WORKERS = env_int("Q_WORKERS", 2)
# Task workers' niceness, so that page requests on a shared host come first (0: leave it). 19, the lowest: at 10 the
# workers still took cores from queued page requests under `python -m bench load`.
Q_WORKER_NICE = env_int("Q_WORKER_NICE", 19)
STORAGE_URL = env_str("STORAGE_URL")
EMAIL_URL = env_str("EMAIL_URL")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Threadline <orders@threadline.localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Printed with every order's payment reference (orders/payments.py).
BANK_ACCOUNT_HOLDER = env_str("BANK_ACCOUNT_HOLDER", "Threadline Ltd")
BANK_IBAN = env_str("BANK_IBAN", "GB33 BUKB 2020 1555 5555 55")
BANK_BIC = env_str("BANK_BIC", "BUKBGB22")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
SLOW_REQUEST_MS = env_int("SLOW_REQUEST_MS", 500)
# /metrics for `Authorization: Bearer <METRICS_TOKEN>` (empty: staff sessions only). prometheus_client reads
# PROMETHEUS_MULTIPROC_DIR itself; set, it must be an empty folder when gunicorn starts (see the Makefile's run).
METRICS_TOKEN = env_str("METRICS_TOKEN")
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
# Proxies in front that each append to X-Forwarded-For (nginx: 1). 0: the header is ignored, REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

BREAKER_FAILURES = env_int("BREAKER_FAILURES", 5)  # consecutive failed calls that open a service's breaker
BREAKER_RESET_S = env_int("BREAKER_RESET_S", 30)  # s open before one probe call is let through
# Fernet key for shop credentials and tokens at rest; unset: derived from SECRET_KEY with HKDF.
MARKETPLACE_KEY = env_str("MARKETPLACE_KEY")
# URL prefixes of marketplaces users may connect; empty: any public https URL (never one inside our network).
MARKETPLACE_URLS = env_list("MARKETPLACE_URLS", [])

SECRET_KEY = SECRET_KEY_FROM_ENV or "dev-only-key-set-SECRET_KEY-in-production-0123456789"

# --- Applications -----------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "core",
    "ops",
    "axes",
    "accounts",
    "designs",
    "orders",
    "mockups",
    "marketplace",
]

MIDDLEWARE = [
    "ops.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked log-in into accounts.lockout's answer
]

if DEBUG:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(1, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1"]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------------
if DATABASE_URL:
    _default_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    _default_db.setdefault("OPTIONS", {})
    # Django's native psycopg pool: a connection per request comes from here, not from a new TCP handshake.
    _default_db["OPTIONS"].update(
        {
            "connect_timeout": 5,
            # No parallel query plans: every page query is an index range, where starting workers costs more
            # (~10 ms for the near-duplicate probes, measured) than it saves, and on a small host the workers
            # take the cores that other requests need.
            "options": "-c max_parallel_workers_per_gather=0",
            "pool": {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 5, "max_idle": 300},
        }
    )
    DATABASES = {"default": _default_db}
    if DATABASE_REPLICA_URL:
        DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0, conn_health_checks=True)
        DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX}
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
        DATABASE_ROUTERS = ["core.routers.ReportingReplicaRouter"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL lets web processes read while a worker writes; IMMEDIATE transactions plus a busy timeout make
                # writers queue instead of failing with "database is locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
                    " PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # Without timeouts a hung Redis hangs every request; with IGNORE_EXCEPTIONS an outage means cache
                # misses (slower pages), not errors.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
            "KEY_PREFIX": "tl",
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "project.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "threadline"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Redis is a cache every process shares: what one process caches or forgets, all see. The per-process fallback
# is not, so what relies on that (gallery versions held in the cache) is off without Redis.
SHARED_CACHE = bool(REDIS_URL)

# --- Task queue -------------------------------------------------------------------------------------------------
Q_CLUSTER = {
    "name": "threadline",
    "workers": Q_WORKERS,
    "timeout": 300,  # s: a 50 MB print file takes ~3 s; anything near this is stuck
    "retry": 360,  # s: must exceed timeout, or a slow task runs twice at once
    "max_attempts": 3,  # the default (0) retries a failing task forever
    "ack_failures": True,
    "save_limit": 0,  # no pruning by the monitor, which reloads every kept result per task: prune_task_results does it
    "recycle": 200,  # tasks per worker before a fresh process: bounds memory growth from image work
    "catch_up": False,
    "label": "Task queue",
    "orm": "default",
    # s between polls of an empty ORM queue: at 0.5 a new upload waited up to 0.5 s for a worker to see it; an idle poll
    # reads a table that holds only the queued tasks
    "poll": 0.1,
}
if Q_BROKER == "redis" and REDIS_URL:
    del Q_CLUSTER["orm"], Q_CLUSTER["poll"]
    _sep = "&" if "?" in REDIS_URL else "?"
    # The broker blocks on BLPOP for 1 s, so its read timeout must be longer than that.
    Q_CLUSTER["redis"] = f"{REDIS_URL}{_sep}socket_timeout=5&socket_connect_timeout=2&health_check_interval=30"

# --- Files ------------------------------------------------------------------------------------------------------


def storage_from_url(url):
    """Translate STORAGE_URL into a STORAGES["default"] entry (local folder when empty)."""
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(VAR_DIR / "media"), "allow_overwrite": True},
        }
    parts = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "s3":
        options = {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": query.get("endpoint"),
            "region_name": query.get("region"),
            "default_acl": None,
            "file_overwrite": True,  # keys are content-addressed: same key, same bytes
            "querystring_auth": True,
            "max_memory_size": 8 * 1024 * 1024,
            "client_config": Config(
                connect_timeout=3, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=16,  # concurrent uploads of one batch share these connections
            ),
        }
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    if parts.scheme == "sftp":
        params = {"username": unquote(parts.username or ""), "port": parts.port or 22,
                  "timeout": 10, "banner_timeout": 10, "auth_timeout": 10}  # s: connect, SSH greeting, log-in
        if parts.password:
            params["password"] = unquote(parts.password)
        if query.get("key"):
            params["key_filename"] = query["key"]
        options = {
            "host": parts.hostname,
            "root_path": parts.path or "/",
            "params": params,
            "known_host_file": query.get("known_hosts"),
            "interactive": False,
        }
        return {"BACKEND": "core.patches.sftp_storage.ContentAddressedSFTPStorage", "OPTIONS": options}
    raise ValueError(f"STORAGE_URL scheme {parts.scheme!r} is not supported (use s3:// or sftp://)")


STORAGES = {
    "default": storage_from_url(STORAGE_URL),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_MAX_AGE = 31536000  # hashed names never change content

FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # bytes: larger uploads spool to a temp file, not RAM
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "designs.uploads.SizeLimitedUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 200  # per request; past UPLOAD_MAX_FILES files are refused one by one, by name

# --- Mail -------------------------------------------------------------------------------------------------------
if EMAIL_URL:
    _mail = urlparse(EMAIL_URL)
    _mail_query = {key: values[-1] for key, values in parse_qs(_mail.query).items()}
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail_query.get("tls", "0") in {"1", "true", "yes"}
    EMAIL_USE_SSL = _mail.scheme == "smtps" or _mail_query.get("ssl", "0") in {"1", "true", "yes"}
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "core.mail.ConsoleAndFileBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Auth -------------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Users load from the database on each request: a cached row would carry the password hash into the cache.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked log-in before any password is checked
    "django.contrib.auth.backends.ModelBackend",
]

# Log-in lockout (django-axes, accounts/lockout.py): 10 failures for one user name from one address lock that pair
# for 5 minutes from the last failure. In the database, so every web process counts the same failures, and staff
# see and lift lockouts in the admin (Axes > Access attempts: delete the row).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=5)
# Name and address together: one user's lockout keeps no one else out from behind the same proxy address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.username_key"  # NFKC and case-folded, so look-alikes share a count
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"  # TRUSTED_PROXY_COUNT decides whether X-Forwarded-For counts
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # 429, Retry-After, the site's page
AXES_RESET_ON_SUCCESS = True  # a log-in with the right password clears that name and address's failures
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # tries while locked do not move Retry-After
AXES_DISABLE_ACCESS_LOG = True  # no row per successful log-in, kept forever: the failures are what matter here

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# English only: the translation machinery's active-language lookups cost ~40% of a customer page's CPU for nothing.
USE_I18N = False
USE_TZ = True

# --- Security ---------------------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if DEBUG:
    # The debug toolbar injects inline scripts and styles.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"].append("'unsafe-inline'")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"].append("'unsafe-inline'")

# --- Logging ----------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
        "django.db.backends": {"level": "INFO"},  # never log every SQL statement, even at DEBUG
        "axes.apps": {"level": "WARNING"},  # not its version banner in every command's output
    },
}

# --- Threadline -------------------------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 60 * 1024 * 1024)  # bytes per file: print files run 5-50 MB
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 60_000_000)  # below Pillow's 89 Mpx bomb threshold
UPLOAD_MAX_FILES = 100  # per request and per batch
# bytes per request body, refused by project.asgi before it is read: one print file at its limit and the form around it
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", UPLOAD_MAX_BYTES + 4 * 1024 * 1024)
# Bits of 64: resize, JPEG re-encode and small crops stay within 6 (measured).
DUPLICATE_MAX_DISTANCE = env_int("DUPLICATE_MAX_DISTANCE", 6)
SWEEP_STALE_AFTER_S = 180  # a design or mail untouched this long in flight was left by a dead worker
# (requests, seconds) per user, on both upload endpoints. The upload page sends one file per request, so a 100-file
# batch must fit in one window without a pause; scripts sending more wait out the 429's Retry-After.
UPLOAD_REQUESTS_LIMIT = (240, 60)
# (attempts, seconds) at placing an order, per user and per recipient address: each order mails the address, and a
# customer places a few a day. The address limit holds across accounts (sign-up does not verify an address).
ORDER_REQUESTS_LIMIT = (10, 600)
ORDER_MAILS_LIMIT = (30, 86400)

# --- Outside services -------------------------------------------------------------------------------------------
# Every outside HTTP call goes through project/resilience.py with these: timeouts in seconds, attempts per call
# (backoff doubles from `backoff`, with jitter), and a circuit breaker shared through the cache.
OUTSIDE_SERVICES = {
    "marketplace": {
        "connect_timeout": 3.05,  # s: just over the 3 s TCP SYN retransmit, so one lost SYN is not a failure
        "read_timeout": 10,  # s between bytes: a listing is created in well under a second when the API is healthy
        "max_attempts": 3,
        "backoff": 0.5,
        "backoff_cap": 8,
        "max_retry_after": 30,  # s: a longer Retry-After reschedules the listing instead of holding a worker
        "failure_threshold": BREAKER_FAILURES,
        "reset_timeout": BREAKER_RESET_S,
        # Shops name their own API address: every connection is checked to be public (DNS rebinding), except to
        # the marketplaces listed in MARKETPLACE_URLS.
        "public_only": True,
        "trusted_urls_setting": "MARKETPLACE_URLS",
    },
}
MARKETPLACE_TOKEN_REFRESH_S = 300  # refresh an access token with less than this left
