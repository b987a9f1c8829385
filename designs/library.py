"""The version of a customer's library: the gallery caches whole pages with the version they show.

With Redis (a cache every process shares), the version is a counter there, moved by every write to the owner's
designs and again at its commit (`changed`): a gallery page view then needs no query at all. Under bench/load an
authenticated page with one query answered 590-760 req/s, one with none 1580-1830 (2 cores): the query was the cost.
The counter starts at the time in ns, so one that Redis lost (restart, eviction) starts above every earlier value.
What can make a page stale: a write made around the services (a raw QuerySet.update()), or a counter move lost while
Redis was unreachable. Both last GALLERY_PAGE_CACHE_S at most.

Without Redis, each process has its own cache and cannot see the others' moves, so the gallery reads its version from
the database instead: (count, latest updated_at) of the library, which every write moves.
"""

import re
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

PAGE_NUMBER_RE = re.compile(r"^[1-9][0-9]{0,5}$")  # the page numbers a cached page may be kept under


def _key(owner_id):
    return f"designs:library:{owner_id}"


def shared_version(owner_id, key=None):
    """(the Redis counter of this library, what the cache holds under `key`), in one round trip; the counter is
    started if missing. (None, None) without Redis or while it is unreachable."""
    if not settings.SHARED_CACHE:
        return None, None
    library_key = _key(owner_id)
    found = cache.get_many([library_key, key] if key else [library_key])
    version = found.get(library_key)
    if version is None:  # a new counter: nothing cached can be of its version yet
        cache.add(library_key, time.time_ns(), timeout=None)
        return cache.get(library_key), None
    return version, found.get(key)


def cached(owner_id, name, build, timeout=60):
    """build(), cached with the version of the owner's library it was built from and used while that version is
    current: with Redis only (without, build() runs every time). For what depends on nothing but the library: a page
    of the design list, a design's look-alikes."""
    key = f"designs:{name}:{owner_id}"
    version, stored = shared_version(owner_id, key)
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
