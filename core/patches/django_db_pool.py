"""A forked child drops the database connections and pools it inherited, so it opens its own.

With psycopg's pool, a django-q2 worker forked from a parent holding pooled connections shared the parent's sockets
("lost synchronization with server", rows delivered to the wrong process).
"""
# START: PATCHES Django 5.2.19: the PostgreSQL backend's class-level DatabaseWrapper._connection_pools, which Django
# offers no public way to reset in a forked child. Upstream: Django ticket 31637 (reset connections after fork; open).
# Re-read on every Django upgrade: core.patches.check_patches fails at start-up when the name is gone.

from django.db import connections

VERSIONS = {"Django": "5.2.19"}  # what this module was written against

# Kept referenced, never closed: closing (or garbage-collecting) one in the child would send the server a terminate
# message on the parent's socket.
_inherited = []


def forget_inherited_connections():
    """In a forked child, drop every database connection and pool (os.register_at_fork's after_in_child)."""
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None
        pools = getattr(type(wrapper), "_connection_pools", None)
        if pools:
            _inherited.append(dict(pools))
            pools.clear()


def missing_names():
    """The names this module relies on that Django's PostgreSQL backend no longer has."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    return [] if hasattr(DatabaseWrapper, "_connection_pools") else [
        "django.db.backends.postgresql.base.DatabaseWrapper._connection_pools"]
# END: PATCHES Django
