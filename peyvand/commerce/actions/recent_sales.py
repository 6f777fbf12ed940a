"""Keeping each customer's recent sales (models.RecentSales), rebuilt from the orders.

One INSERT … SELECT over the last year's sales, grouped per customer, in one transaction
with the build row, so a reader sees the old rows or the new ones, never half. Run once a
day (tasks.py); between builds readers correct for what changed (queries.changed_since), so a
late build costs readers speed, never exactness.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from peyvand.commerce.models import (
    NOT_REVENUE,
    RECENT_WINDOWS,
    Order,
    RecentSales,
    RecentSalesBuild,
)


def refresh_recent_sales(now: dt.datetime | None = None) -> RecentSalesBuild:
    """Rebuild RecentSales for the windows ending at `now` (default: this moment)."""
    taken_at = timezone.now()
    end = now or taken_at
    columns = ", ".join(f"spent_{d}, orders_{d}" for d in RECENT_WINDOWS)
    sums = ", ".join(
        f"SUM(CASE WHEN placed_at >= %(from_{d})s THEN total ELSE 0 END), "
        f"SUM(CASE WHEN placed_at >= %(from_{d})s THEN 1 ELSE 0 END)" for d in RECENT_WINDOWS)
    statuses = ", ".join(f"'{s}'" for s in NOT_REVENUE)  # choices' values, not user input
    params = {f"from_{d}": end - dt.timedelta(days=d) for d in RECENT_WINDOWS}
    params["end"] = end
    table, orders = RecentSales._meta.db_table, Order._meta.db_table
    with transaction.atomic():
        RecentSales.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (contact_id, {columns}) "
                f"SELECT contact_id, {sums} FROM {orders} "
                f"WHERE deleted_at IS NULL AND status NOT IN ({statuses}) "
                f"AND placed_at >= %(from_{max(RECENT_WINDOWS)})s AND placed_at < %(end)s "
                f"GROUP BY contact_id", params)
            customers = max(cursor.rowcount, 0)
        RecentSalesBuild.objects.all().delete()
        build = RecentSalesBuild.objects.create(window_end=end, taken_at=taken_at,
                                                customers=customers)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # counts plan on the rebuilt table's size at once
            cursor.execute(f"ANALYZE {table}")
    return build
