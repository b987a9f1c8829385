"""Database helpers that know about backends."""

from django.db import connection, connections


def is_postgresql(using="default"):
    return connections[using].vendor == "postgresql"


def lock_rows(queryset):
    """`select_for_update(skip_locked=True)` where the database has row locks; SQLite serialises writers anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset
