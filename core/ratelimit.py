"""Rate limits counted in the shared cache (upload requests per user; order placements per user and per recipient
address), and the client address they may count by.

A sliding window, estimated from two fixed ones (as Cloudflare counts): the events of the current clock-aligned
window plus those of the previous one, weighted by how much of it still lies within the last `window_s` seconds.
Fixed windows alone let up to twice the limit through around a boundary (the limit at the end of one window, the
limit again at the start of the next); the estimate does not, for one more cache round trip. The counts are the
same in every web process, since the cache is Redis in production. When the cache is down nothing is enforced: a
Redis outage degrades the site, it must not lock everyone out. (Failed log-ins are counted by django-axes, in the
database: accounts/lockout.py.)
"""

import hashlib
import ipaddress
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

    def _keys(self, identity, now):
        """The cache keys of the current and the previous window, and the fraction of the current one elapsed."""
        index, into = divmod(now, self.window_s)
        # Identities may hold user input: hashed, they make safe cache keys of fixed length.
        digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        prefix = f"ratelimit:{self.name}:{digest}"
        return f"{prefix}:{int(index)}", f"{prefix}:{int(index) - 1}", into / self.window_s

    def _wait(self, previous, current, elapsed):
        """Seconds until one more event fits under the limit, if none is added meanwhile (0: one fits now)."""
        room, window = self.limit - 1, self.window_s  # the estimate must fall to this for one more to fit
        if previous * (1 - elapsed) + current <= room:
            return 0
        if current <= room:  # within this window, as the previous one's share shrinks
            seconds = window * (1 - elapsed - (room - current) / previous)
        else:  # in the next window, as this one's share shrinks
            seconds = window * (1 - elapsed) + window * (1 - room / current)
        return max(1, math.ceil(seconds))

    def wait_s(self, identity, *, now=None):
        """Seconds until `identity` may try again (0: it may now). Does not count an event."""
        current_key, previous_key, elapsed = self._keys(identity, clock() if now is None else now)
        counts = cache.get_many([current_key, previous_key])
        return self._wait(counts.get(previous_key) or 0, counts.get(current_key) or 0, elapsed)

    def hit(self, identity, *, now=None):
        """Count one event; returns the seconds to wait if this one is over the limit, else 0."""
        current_key, previous_key, elapsed = self._keys(identity, clock() if now is None else now)
        timeout = 2 * self.window_s + 1  # the count serves as the previous window's during the next one
        if cache.add(current_key, 1, timeout):
            current = 1
        else:
            try:
                current = cache.incr(current_key)
            except ValueError:  # the key expired between add and incr
                cache.add(current_key, 1, timeout)
                current = 1
        # With Redis down django-redis answers None (IGNORE_EXCEPTIONS): not enforced then.
        current, previous = current or 0, cache.get(previous_key) or 0
        if previous * (1 - elapsed) + current <= self.limit:
            return 0
        return self._wait(previous, current, elapsed)

    def reset(self, identity, *, now=None):
        """Forget the recent events of `identity` (tests, staff lifting a limit)."""
        cache.delete_many(self._keys(identity, clock() if now is None else now)[:2])


UPLOAD_REQUESTS = RateLimit("upload", setting="UPLOAD_REQUESTS_LIMIT")
ORDER_REQUESTS = RateLimit("order", setting="ORDER_REQUESTS_LIMIT")  # per user
ORDER_MAILS = RateLimit("order-mail", setting="ORDER_MAILS_LIMIT")  # per recipient address, across accounts


def _ip(value):
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    return str(getattr(address, "ipv4_mapped", None) or address)


def client_address(request):
    """The address a request came from ("" if unknown): REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies stand in
    front, each adding the address it was reached from to X-Forwarded-For. Then it is the entry the outermost of them
    added: what lies left of it is the client's own word."""
    remote = _ip(request.META.get("REMOTE_ADDR", ""))
    if not settings.TRUSTED_PROXY_COUNT:
        return remote
    forwarded = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not forwarded:
        return remote
    # Fewer entries than proxies: the request skipped the outer ones, and the first entry is still a proxy's.
    return _ip(forwarded[-min(settings.TRUSTED_PROXY_COUNT, len(forwarded))]) or remote


def upload_identity(user):
    return f"user:{user.pk}"


def order_identity(user):
    return f"user:{user.pk}"


def mail_identity(address):
    """A recipient address as a count: the same mailbox however its letters are cased."""
    return f"mail:{address.strip().casefold()}"
