"""Order and design statistics for the staff dashboard and /api/stats: a handful of small queries, cached briefly."""

from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.access import staff_may
from core.routers import reporting_reads
from core.tasks import broker
from designs.models import Design
from orders.models import DailyOrderStats, Order

CACHE_KEY = "orders:dashboard"
CACHE_SECONDS = 60  # writes invalidate it at once; this only bounds staleness of the day boundaries
CHART_DAYS = 30
# What the dashboard (admin front page) and /api/stats show: counts and revenue of orders, counts of designs.
DASHBOARD_PERMISSIONS = ("orders.view_order", "designs.view_design")

UPSERT_SQL = (
    "INSERT INTO {table} (day, status, orders, revenue) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (day, status) DO UPDATE SET orders = {table}.orders + excluded.orders, "
    "revenue = {table}.revenue + excluded.revenue"
)


def stats_record(*, day, status, orders, revenue):
    """Add to a day's counters in one statement (an upsert: no read, no race), then drop the cached dashboard."""
    table = DailyOrderStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL.format(table=table), [day, str(status), orders, Decimal(revenue)])
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def stats_rebuild():
    """Recompute the daily counters from the orders table (after bulk loads); one INSERT ... SELECT."""
    table = DailyOrderStats._meta.db_table
    day = "DATE(created_at)" if connection.vendor == "sqlite" else "(created_at AT TIME ZONE 'UTC')::date"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} (day, status, orders, revenue) "
            f"SELECT {day}, status, COUNT(*), SUM(total) FROM {Order._meta.db_table} GROUP BY 1, 2"
        )
    cache.delete(CACHE_KEY)


def may_see_dashboard(user):
    return staff_may(user, *DASHBOARD_PERMISSIONS)


def dashboard(*, now=None):
    """Everything the dashboard shows, from the cache when fresh."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    result = compute_dashboard(now=now)
    cache.set(CACHE_KEY, result, CACHE_SECONDS)
    return result


def compute_dashboard(*, now=None):
    now = now or timezone.now()
    today = now.date()
    no_revenue = Q(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])  # money not kept
    with reporting_reads():
        # One conditional aggregation over the daily counters: every number on the dashboard in a single query.
        totals = DailyOrderStats.objects.aggregate(
            total=Sum("orders"),
            today=Sum("orders", filter=Q(day=today)),
            last_7_days=Sum("orders", filter=Q(day__gt=today - timedelta(days=7))),
            last_30_days=Sum("orders", filter=Q(day__gt=today - timedelta(days=30))),
            revenue_total=Sum("revenue", filter=~no_revenue),
            revenue_30_days=Sum("revenue", filter=~no_revenue & Q(day__gt=today - timedelta(days=30))),
            **{f"status_{status.value}": Sum("orders", filter=Q(status=status)) for status in Order.Status},
        )
        per_day = dict(
            DailyOrderStats.objects.filter(day__gt=today - timedelta(days=CHART_DAYS))
            .values_list("day").annotate(count=Sum("orders")).values_list("day", "count")
        )
        # Designs that reached a final status in the window: index ranges on (status, updated_at), never a count
        # over the whole library.
        designs = dict(
            Design.objects.filter(status__in=Design.FINAL_STATUSES, updated_at__gte=now - timedelta(days=CHART_DAYS))
            .values_list("status").annotate(count=Count("status")).values_list("status", "count")  # index-only
        )
    by_status = {status.value: totals.pop(f"status_{status.value}") or 0 for status in Order.Status}
    return {
        "orders": {key: value or 0 for key, value in totals.items() if not key.startswith("revenue")},
        "revenue": {"total": _money(totals["revenue_total"]), "last_30_days": _money(totals["revenue_30_days"])},
        "orders_by_status": by_status,
        "orders_per_day": [
            {"day": (today - timedelta(days=offset)).isoformat(),
             "orders": per_day.get(today - timedelta(days=offset), 0)}
            for offset in range(CHART_DAYS - 1, -1, -1)
        ],
        "designs_last_30_days": {status.value: designs.get(status.value, 0) for status in Design.FINAL_STATUSES},
        "queue_depth": _queue_depth(),
        "computed_at": now.isoformat(),
    }


def _money(amount):
    return str(Decimal(amount or 0).quantize(Decimal("0.01")))


def _queue_depth():
    try:
        return broker().queue_size()
    except Exception:  # the dashboard must render with the broker down; /healthz names it
        return None
