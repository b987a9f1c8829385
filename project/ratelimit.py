"""Rate limits counted in the shared cache: failed log-ins per username and address, upload requests per user.

Fixed windows aligned to the clock (as django-ratelimit counts): cheap (one cache round trip) and the same in every
web process, since the cache is Redis in production. The price is that up to twice the limit can get through
around a window boundary, and then nothing until the next window. When the cache is down nothing is enforced: a
Redis outage degrades the site, it must not lock everyone out.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

clock = time.time  # seconds; tests replace it to stand at a chosen moment


class RateLimit:
    """At most `limit` events per `window_s` seconds per identity; both read from the setting named `setting`."""

    def __init__(self, name, *, setting):
        self.name = name
        self.setting = setting

    @property
    def limit(self):
        return getattr(settings, self.setting)[0]

    @property
    def window_s(self):
        return getattr(settings, self.setting)[1]

    def _window(self, identity, now):
        start = int(now // self.window_s) * self.window_s
        # Identities hold user input (usernames): hashed, they make safe cache keys of fixed length.
        digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"ratelimit:{self.name}:{digest}:{start}", start + self.window_s - now

    def wait_s(self, identity, *, now=None):
        """Seconds until `identity` may try again (0: it may now). Does not count an event."""
        key, remaining = self._window(identity, clock() if now is None else now)
        count = cache.get(key) or 0
        return math.ceil(remaining) if count >= self.limit else 0

    def hit(self, identity, *, now=None):
        """Count one event; returns the seconds to wait if this one is over the limit, else 0."""
        key, remaining = self._window(identity, clock() if now is None else now)
        timeout = math.ceil(remaining) + 1
        if cache.add(key, 1, timeout):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the window's key expired between add and incr
                cache.add(key, 1, timeout)
                count = 1
        # With Redis down django-redis answers None (IGNORE_EXCEPTIONS): not enforced then.
        return math.ceil(remaining) if (count or 0) > self.limit else 0

    def reset(self, identity, *, now=None):
        """Forget the current window's events of `identity` (staff unlocking an account, tests)."""
        cache.delete(self._window(identity, clock() if now is None else now)[0])


LOGIN_FAILURES = RateLimit("login", setting="LOGIN_FAILURES_LIMIT")
UPLOAD_REQUESTS = RateLimit("upload", setting="UPLOAD_REQUESTS_LIMIT")


def client_address(request):
    """The address a request came from. Behind a proxy this is the proxy's: the limits then count per username."""
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def login_identity(username, request):
    """What failed log-ins are counted by: the username as typed (case-folded) and the address it came from."""
    return f"{(username or '').strip().casefold()}|{client_address(request)}"


def upload_identity(user):
    return f"user:{user.pk}"
