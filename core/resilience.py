"""The one way to call an outside HTTP service: timeouts always, retries for transient failures only, and a circuit
breaker whose state lives in the Django cache.

With Redis as the cache every web process and worker on every host sees the same breaker, so a dead dependency is
found out once and then fails fast everywhere instead of tying up each worker for a timeout per call. With the
local-memory cache the breaker is per process, which is all the embedded default needs. If Redis itself is down the
cache answers nothing (IGNORE_EXCEPTIONS) and the breaker reads as closed: calls still have their timeouts.

Why not pybreaker: it does ship a Redis state storage (CircuitRedisStorage), but that talks to a redis client of its
own rather than the Django cache, so the embedded default (no Redis) would need a second set-up and a Redis outage
would raise instead of degrading; and its half-open state lets through every caller that reads it. Here the state is
three cache keys changed only with atomic operations (`add`, `incr`), and half-open admits a single probe across
all processes (a lease taken with `add`).
"""

import email.utils
import ipaddress
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import tenacity
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
FAILURE_MEMORY_S = 600  # consecutive failures further apart than this do not add up to an open breaker
OPEN_KEY_GRACE_S = 3600  # an open breaker's key outlives its reset timeout so the half-open probe still happens
POOL_CONNECTIONS = 16  # kept-alive connections per service and process: one per worker thread is plenty
ERROR_TEXT_CHARS = 300


class OutsideServiceError(Exception):
    """A call to an outside service did not give an answer we can use."""

    def __init__(self, message, *, service, status=None, response=None, retry_after=None):
        super().__init__(message)
        self.service = service
        self.status = status
        self.response = response
        self.retry_after = retry_after  # seconds the service asked us to wait, if it said


class TransientError(OutsideServiceError):
    """Timeout, connection failure, 5xx or 429: worth trying again later; raised once in-call retries ran out."""


class RequestRejected(OutsideServiceError):
    """A 4xx other than 429: the service understood and refused. Retrying the same request cannot help."""


class AddressRefused(RequestRejected):
    """The service's name resolved to a private address (see PublicAddressAdapter): no connection was made."""


class ServiceUnavailable(OutsideServiceError):
    """The breaker is open: no call was made. `retry_at` (epoch seconds) is when it lets a probe through."""

    def __init__(self, message, *, service, retry_at):
        super().__init__(message, service=service)
        self.retry_at = retry_at


class PrivateAddress(requests.RequestException):
    """A call that must reach the public internet was about to connect inside a private network: nothing was sent."""


def is_public_address(address):
    """True for a globally routable unicast address: not loopback, private, link-local (the cloud metadata
    address), shared (CG-NAT), multicast or reserved; an IPv4-mapped IPv6 address counts as its IPv4 one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_global and not ip.is_multicast


def public_addresses(host, port):
    """The addresses `host` resolves to, if every one is public; else PrivateAddress (socket.gaierror: none)."""
    addresses = list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise PrivateAddress(f"{host} resolves to an address inside a private network")
    return addresses


class PublicAddressAdapter(HTTPAdapter):
    """Connects to public addresses only, checked at every connection: the name is resolved here, each address
    checked, and the connection made to the checked address (Host header, TLS SNI and certificate check keep the
    name). A check made once, when a URL is saved, is worth nothing against a name that resolves elsewhere later
    (DNS rebinding; issue 16, finding 9). URLs under a prefix `trusted_urls()` lists are left alone.

    requests-hardened's IPFilterAdapter uses the same hook but takes no pool settings or allow-list.
    """

    def __init__(self, *, trusted_urls=tuple, **kwargs):
        self.trusted_urls = trusted_urls
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if any(request.url == prefix.rstrip("/") or request.url.startswith(prefix.rstrip("/") + "/")
               for prefix in self.trusted_urls()):
            return host_params, pool_kwargs
        host, scheme = host_params["host"], host_params["scheme"]
        try:
            address = public_addresses(host, host_params["port"] or (443 if scheme == "https" else 80))[0]
        except (socket.gaierror, UnicodeError) as error:
            raise requests.ConnectionError(f"cannot resolve {host}: {error}", request=request) from None
        request.headers["Host"] = urlsplit(request.url).netloc.rpartition("@")[2]
        if scheme == "https":
            pool_kwargs["server_hostname"] = host  # SNI
            pool_kwargs["assert_hostname"] = host  # the certificate must name the host, not the address
        host_params["host"] = address
        return host_params, pool_kwargs


@dataclass(frozen=True)
class Admission:
    """What the breaker knew when it let a call through, so recording the outcome costs at most one round trip."""

    probe: bool
    failures: int


class CircuitBreaker:
    """Closed -> open after `failure_threshold` consecutive failures; open -> half-open after `reset_timeout` s;
    half-open lets one probe through: success closes, failure opens again. State lives in the Django cache."""

    def __init__(self, name, *, failure_threshold, reset_timeout, probe_lease, clock=time.time):
        self.name = name
        self.enabled = bool(failure_threshold)
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.probe_lease = probe_lease  # s: a probe whose process died frees the half-open slot after this
        self.clock = clock  # wall clock, not monotonic: the timestamps are compared across processes and hosts
        self.keys = breaker_keys(name)

    def state(self):
        return breaker_state(self.name)

    def admit(self):
        """Let a call through, or raise ServiceUnavailable without calling."""
        if not self.enabled:
            return Admission(probe=False, failures=0)
        values = cache.get_many([self.keys.open_until, self.keys.failures]) or {}  # {} too when Redis is down
        open_until, failures = values.get(self.keys.open_until), values.get(self.keys.failures) or 0
        if open_until is None:
            return Admission(probe=False, failures=failures)
        now = self.clock()
        if now < open_until:
            raise ServiceUnavailable(f"{self.name} is unavailable (circuit open)", service=self.name,
                                     retry_at=open_until)
        if not cache.add(self.keys.probe, os.getpid(), timeout=self.probe_lease):
            raise ServiceUnavailable(f"{self.name} is unavailable (circuit half-open, a probe is in flight)",
                                     service=self.name, retry_at=now + self.probe_lease)
        return Admission(probe=True, failures=failures)

    def succeeded(self, admission):
        if admission.probe:
            logger.warning("circuit %s closed: the probe succeeded", self.name)
        if admission.probe or admission.failures:
            cache.delete_many(list(self.keys))

    def failed(self, admission):
        if not self.enabled:
            return
        now = self.clock()
        if admission.probe:
            cache.set(self.keys.open_until, now + self.reset_timeout, timeout=self.reset_timeout + OPEN_KEY_GRACE_S)
            cache.delete(self.keys.probe)
            logger.warning("circuit %s open again for %s s: the probe failed", self.name, self.reset_timeout)
            return
        cache.add(self.keys.failures, 0, timeout=FAILURE_MEMORY_S)
        try:
            failures = cache.incr(self.keys.failures)
        except ValueError:  # the key expired between add and incr
            failures = 1
        if failures and failures >= self.failure_threshold and cache.add(
            self.keys.open_until, now + self.reset_timeout, timeout=self.reset_timeout + OPEN_KEY_GRACE_S
        ):
            logger.warning("circuit %s open for %s s after %d consecutive failures", self.name, self.reset_timeout,
                           failures)

    def reset(self):
        """Forget all state: closed, no failures counted."""
        cache.delete_many(list(self.keys))


@dataclass(frozen=True)
class BreakerKeys:
    open_until: str
    failures: str
    probe: str

    def __iter__(self):
        return iter((self.open_until, self.failures, self.probe))


def breaker_keys(name):
    return BreakerKeys(f"breaker:{name}:open_until", f"breaker:{name}:failures", f"breaker:{name}:probe")


def breaker_state(name, *, now=None):
    """"closed", "open" or "half-open" for the named service, as every process sharing the cache sees it."""
    open_until = cache.get(breaker_keys(name).open_until)
    return _state_from(open_until, time.time() if now is None else now)


def breaker_states():
    """{service: state} for every service configured in OUTSIDE_SERVICES, in one cache round trip (for /metrics)."""
    names = sorted(settings.OUTSIDE_SERVICES)
    values = cache.get_many([breaker_keys(name).open_until for name in names]) or {}
    now = time.time()
    return {name: _state_from(values.get(breaker_keys(name).open_until), now) for name in names}


def _state_from(open_until, now):
    if open_until is None:
        return CLOSED
    return OPEN if now < open_until else HALF_OPEN


def retry_after_seconds(value, *, now=None):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class OutsideService:
    """An outside HTTP service: one kept-alive session per process, timeouts on every call, bounded retries with
    exponential backoff and jitter (Retry-After honoured), and the shared circuit breaker."""

    def __init__(self, name, *, connect_timeout, read_timeout, max_attempts=3, backoff=0.5, backoff_cap=8.0,
                 max_retry_after=30.0, failure_threshold=5, reset_timeout=30.0, public_only=False,
                 trusted_urls_setting=None):
        self.name = name
        # public_only: connect to public addresses only (PublicAddressAdapter), except under the URL prefixes
        # listed in the setting named trusted_urls_setting.
        self.public_only = public_only
        self.trusted_urls_setting = trusted_urls_setting
        self.timeout = (connect_timeout, read_timeout)  # requests: (connect, read); never None, never one number
        self.max_attempts = max_attempts
        self.backoff = backoff  # s before the first retry, doubled for each further one, plus up to as much jitter
        self.backoff_cap = backoff_cap
        # A longer Retry-After is not slept through inside a worker: the caller gets a TransientError saying how long,
        # and reschedules.
        self.max_retry_after = max_retry_after
        self.breaker = CircuitBreaker(name, failure_threshold=failure_threshold, reset_timeout=reset_timeout,
                                      probe_lease=connect_timeout + read_timeout + 1)
        self._wait_backoff = tenacity.wait_exponential_jitter(multiplier=backoff, max=backoff_cap, jitter=backoff)
        self.sleep = time.sleep

    def request(self, method, url, *, max_attempts=None, **kwargs):
        """Make the call and return the response (2xx or 3xx; redirects are not followed).

        `max_attempts` lowers the service's budget for one call, e.g. 1 in a web request where a person waits.

        Raises ServiceUnavailable (breaker open, nothing sent), RequestRejected (4xx other than 429, never retried)
        or TransientError (timeouts, connection errors, 5xx, 429, once `max_attempts` calls have failed).
        """
        if "timeout" in kwargs:
            raise TypeError(f"timeouts are set per service ({self.name}), not per call")
        kwargs.setdefault("allow_redirects", False)  # a redirect could point anywhere, including inside our network
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(min(max_attempts or self.max_attempts, self.max_attempts)),
            retry=tenacity.retry_if_exception(self._worth_retrying),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return retrying(self._attempt, method, url, **kwargs)

    def _attempt(self, method, url, **kwargs):
        admission = self.breaker.admit()
        try:
            response = self.session().request(method, url, timeout=self.timeout, **kwargs)
        except PrivateAddress as error:
            if admission.probe:  # not the service's fault, but a half-open probe slot is never kept
                self.breaker.failed(admission)
            raise AddressRefused(f"{self.name}: {error}", service=self.name) from error
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            self.breaker.failed(admission)
            raise TransientError(f"{self.name}: {type(error).__name__}: {error}"[:ERROR_TEXT_CHARS],
                                 service=self.name) from error
        except BaseException:
            # Not the service's fault (a bad URL, a bug): do not count it, but never keep a half-open probe slot.
            if admission.probe:
                self.breaker.failed(admission)
            raise
        status = response.status_code
        if status == 429 or status >= 500:
            self.breaker.failed(admission)
            raise TransientError(f"{self.name} answered {status}: {response.text[:200]}", service=self.name,
                                 status=status, response=response,
                                 retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        self.breaker.succeeded(admission)  # a 4xx is an answer: the service is up
        if status >= 400:
            raise RequestRejected(f"{self.name} answered {status}: {response.text[:200]}", service=self.name,
                                  status=status, response=response)
        return response

    def session(self):
        if not self.public_only:
            return session_for(self.name)
        setting = self.trusted_urls_setting
        return session_for(self.name, adapter_class=PublicAddressAdapter,
                           trusted_urls=lambda: getattr(settings, setting, ()) if setting else ())

    def _worth_retrying(self, error):
        if not isinstance(error, TransientError):
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def _wait(self, retry_state):
        error = retry_state.outcome.exception()
        if error.retry_after is not None:
            # What the service asked for, plus a little jitter so a crowd told the same second does not return at once.
            return error.retry_after + random.uniform(0, self.backoff)
        return self._wait_backoff(retry_state)

    def _log_retry(self, retry_state):
        logger.info("%s: attempt %d failed (%s), retrying in %.2f s", self.name, retry_state.attempt_number,
                    retry_state.outcome.exception(), retry_state.upcoming_sleep)


_sessions = {}
_sessions_lock = threading.Lock()


def session_for(name, *, adapter_class=HTTPAdapter, **adapter_kwargs):
    """This process's kept-alive session for a service; a forked worker makes its own, never sharing sockets."""
    key = (os.getpid(), name, adapter_class)
    session = _sessions.get(key)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = requests.Session()
                adapter = adapter_class(pool_connections=1, pool_maxsize=POOL_CONNECTIONS, max_retries=0,
                                        **adapter_kwargs)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _sessions[key] = session
    return session


_services = {}
_services_lock = threading.Lock()


def service(name):
    """The OutsideService configured as settings.OUTSIDE_SERVICES[name] (built once per process)."""
    found = _services.get(name)
    if found is None:
        with _services_lock:
            found = _services.get(name)
            if found is None:
                found = _services[name] = OutsideService(name, **settings.OUTSIDE_SERVICES[name])
    return found


@receiver(setting_changed)
def _forget_services(*, setting, **kwargs):
    if setting == "OUTSIDE_SERVICES":
        _services.clear()
