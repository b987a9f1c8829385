from django.db import migrations

from core.migration_ops import RunSQLOnPostgres

# The admin list's columns (orders/admin.py LIST_COLUMNS), now with the payment status it shows.
LIST_COLUMNS = "created_at, id, number, customer_id, email, name, status, payment_status, item_count, total, updated_at"
OLD_COLUMNS = "created_at, id, number, customer_id, email, name, status, item_count, total, updated_at"


def _swap(columns):
    """Build the new index beside the old one, then swap names: the search is never without an index."""
    return [
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_email_prefix_list_new "
        f"ON orders_order (UPPER(email::text) text_pattern_ops) INCLUDE ({columns})",
        "DROP INDEX CONCURRENTLY IF EXISTS order_email_prefix_list",
        "ALTER INDEX order_email_prefix_list_new RENAME TO order_email_prefix_list",
    ]


class Migration(migrations.Migration):
    """The e-mail prefix index keeps covering the admin list (see 0005) now that it shows the payment status."""

    atomic = False
    dependencies = [("orders", "0008_payment_status_index")]

    operations = [RunSQLOnPostgres(_swap(LIST_COLUMNS), _swap(OLD_COLUMNS))]
