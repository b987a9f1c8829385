from django.db import migrations

from core.migration_ops import RunSQLOnPostgres

# Every column of the order itself, which is what the admin list selects.
LIST_COLUMNS = "created_at, id, number, customer_id, email, name, status, item_count, total, updated_at"


class Migration(migrations.Migration):
    """The e-mail prefix index carries the admin list's columns, so that a search reads the index alone.

    A prefix that matches ~1,000 orders found them by the index, then visited ~770 table pages to read them:
    5.5 of the query's 9 ms (10^5 orders, EXPLAIN ANALYZE). Reading the index alone took 2.1 ms. Replaces the
    plain index of 0002; built concurrently (no write lock on a big table).
    """

    atomic = False
    dependencies = [("orders", "0004_list_indexes_with_tiebreak")]

    operations = [
        RunSQLOnPostgres(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_email_prefix_list "
            f"ON orders_order (UPPER(email::text) text_pattern_ops) INCLUDE ({LIST_COLUMNS})",
            "DROP INDEX CONCURRENTLY IF EXISTS order_email_prefix_list",
        ),
        RunSQLOnPostgres(
            "DROP INDEX CONCURRENTLY IF EXISTS order_email_prefix",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_email_prefix "
            "ON orders_order (UPPER(email::text) text_pattern_ops)",
        ),
    ]
