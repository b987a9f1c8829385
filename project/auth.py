"""Who is logged in, without a query per request: the user's row comes from the shared cache.

Django's ModelBackend loads the user from the database on every request of a logged-in user. Under load that query
(a pool check-out, the query, the round trips) cost more than everything else an authenticated page with no other
query does (bench/load: an empty logged-in page answered 800-960 req/s with it, 1580-1830 without, 2 cores).

The cached row is forgotten whenever the user is saved or deleted (a password change, a log-in, an admin edit), and
again when that transaction commits. A change made with QuerySet.update(), which sends no signal, shows within
USER_CACHE_SECONDS unless forget_cached_users() follows it; so does one made while Redis was unreachable. Only a
shared cache (Redis) is used: with a per-process cache a change in one process could not be forgotten by the others.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

BACKEND = "project.auth.CachedModelBackend"


def _key(user_id):
    return f"auth:user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        if not settings.USER_CACHE_SECONDS:
            return super().get_user(user_id)
        key = _key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)  # None for an inactive user: never cached
            if user is not None:
                cache.set(key, user, settings.USER_CACHE_SECONDS)
        return user


def forget_cached_users(user_ids):
    """After a QuerySet.update() of users (no signal is sent): drop their cached rows now."""
    if settings.USER_CACHE_SECONDS:
        cache.delete_many([_key(user_id) for user_id in user_ids])


def forget_cached_user(sender, instance, **kwargs):
    """post_save / post_delete of the user model: drop the cached row now and at commit (a request in between may
    have cached the row as it was before this transaction)."""
    if not settings.USER_CACHE_SECONDS:
        return
    key = _key(instance.pk)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key), robust=True)
