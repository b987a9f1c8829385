"""Database helpers that know about processes and backends."""

from django.db import connection, connections

# Connections and pools inherited from the parent process. They are kept referenced, never closed: closing (or
# garbage-collecting) one in the child would send the server a terminate message on the parent's socket.
_inherited = []


def forget_inherited_connections():
    """In a forked child, drop every database connection and pool so the child opens its own.

    Measured trap: with psycopg's pool, a django-q2 worker forked from a parent holding pooled connections shared the
    parent's sockets ("lost synchronization with server", rows delivered to the wrong process).
    """
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None
        pools = getattr(type(wrapper), "_connection_pools", None)
        if pools:
            _inherited.append(dict(pools))
            pools.clear()


def is_postgresql(using="default"):
    return connections[using].vendor == "postgresql"


def lock_rows(queryset):
    """`select_for_update(skip_locked=True)` where the database has row locks; SQLite serialises writers anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset
