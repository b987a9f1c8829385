"""The version of a customer's library: what depends on nothing but the library (a gallery grid, a page of the
design list, a design's look-alikes) is cached with the version it was built from, and used while it is current.

The version is a counter in Redis (a cache every process shares), moved by every write to the owner's designs and
again at its commit (`changed`): a cached grid then costs no query. The counter starts at the time in ns, so one
that Redis lost (restart, eviction) starts above every earlier value. What can make a grid stale: a write made
around the services (a raw QuerySet.update()), or a counter move lost while Redis was unreachable; both last the
cache timeout at most. Without Redis each process has its own cache and cannot see the others' moves: nothing is
cached then.
"""

import re
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

PAGE_NUMBER_RE = re.compile(r"^[1-9][0-9]{0,5}$")  # the page numbers a cached page may be kept under


def _key(owner_id):
    return f"designs:library:{owner_id}"


def _shared_version(owner_id, key):
    """(the Redis counter of this library, what the cache holds under `key`), in one round trip; the counter is
    started if missing. (None, None) without Redis or while it is unreachable."""
    if not settings.SHARED_CACHE:
        return None, None
    library_key = _key(owner_id)
    found = cache.get_many([library_key, key])
    version = found.get(library_key)
    if version is None:  # a new counter: nothing cached can be of its version yet
        cache.add(library_key, time.time_ns(), timeout=None)
        return cache.get(library_key), None
    return version, found.get(key)


def cached(owner_id, name, build, timeout=60):
    """build(), cached with the version of the owner's library it was built from and used while that version is
    current: with Redis only (without, build() runs every time)."""
    key = f"designs:{name}:{owner_id}"
    version, stored = _shared_version(owner_id, key)
    if version is None:
        return build()
    if stored is not None and stored[0] == version:
        return stored[1]
    value = build()
    cache.set(key, (version, value), timeout)
    return value


def changed(*owner_ids):
    """Move the version of these libraries now and again when the current transaction commits: a page rendered in
    between, from the data as it was before the commit, is then not used either."""
    if not settings.SHARED_CACHE:
        return

    def move():
        for owner_id in set(owner_ids):
            try:
                cache.incr(_key(owner_id))
            except ValueError:  # no counter yet: the next page view starts one above every earlier value
                pass

    move()
    transaction.on_commit(move, robust=True)


def design_changed(sender, instance, **kwargs):
    """post_save / post_delete of a Design (admin edits and deletions, cascades)."""
    changed(instance.owner_id)
