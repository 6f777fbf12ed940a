"""Value tiers (most valuable, most growable, below zero, the rest), the revenue pyramid and
month-over-month movement between tiers."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from peyvand.commerce.money import RIAL, format_money
from peyvand.insights.models import CustomerMetrics, InsightSettings, Tier, TierSnapshot

# Pyramid bands: the top 1% of customers by net revenue, the next 4%, and so on.
BANDS = [(0, 1), (1, 5), (5, 10), (10, 20), (20, 50), (50, 100)]


def contribution(frame: dict, s: InsightSettings) -> np.ndarray:
    """Net revenue less product cost (where known) and the cost to serve: orders, returns
    and support tickets at the configured prices."""
    return (frame["net_revenue"] - frame["product_cost"]
            - s.cost_per_order * frame["order_count"]
            - s.cost_per_return * frame["returns"]
            - s.cost_per_ticket * frame["tickets"])


def learn(frame: dict, s: InsightSettings) -> dict:
    """The thresholds a tier is decided by, kept so one contact can be placed later."""
    buyer = frame["order_count"] > 0
    value = frame["contribution"][buyer]
    positive = np.sort(value[value > 0])[::-1]
    top = None
    if len(value):
        k = math.ceil(len(value) * s.top_percent / 100)
        if k and len(positive):
            top = int(positive[min(k, len(positive)) - 1])
    predicted = frame["predicted_value"][buyer]
    floor = float(np.median(predicted)) if len(predicted) else 0.0
    return {"top_threshold": top, "growable_floor": floor}


def assign(frame: dict, learned: dict, s: InsightSettings) -> np.ndarray:
    value = frame["contribution"]
    buyer = frame["order_count"] > 0
    predicted = frame["predicted_value"]
    tiers = np.full(len(value), "", dtype=object)
    tiers[buyer] = Tier.REST
    top = learned.get("top_threshold")
    valuable = buyer & (value > 0) & (value >= top) if top is not None \
        else np.zeros(len(value), dtype=bool)
    tiers[valuable] = Tier.MOST_VALUABLE
    growable = (buyer & ~valuable & (predicted > 0)
                & (predicted >= s.growable_ratio * np.maximum(value, 0))
                & (predicted > learned.get("growable_floor", 0.0)))
    tiers[growable] = Tier.MOST_GROWABLE
    # Anyone who costs more than they bring, customer or not (tickets cost too).
    tiers[value < 0] = Tier.BELOW_ZERO
    return tiers


def rules(s: InsightSettings) -> list[dict]:
    """Each tier's rule, as people read it (the dashboard and the API show these)."""
    return [
        {"tier": Tier.MOST_VALUABLE, "label": str(Tier.MOST_VALUABLE.label),
         "rule": _("The top %(percent)s%% of customers by net contribution.")
         % {"percent": s.top_percent}},
        {"tier": Tier.MOST_GROWABLE, "label": str(Tier.MOST_GROWABLE.label),
         "rule": _("Outside the top: predicted value over the next %(weeks)s weeks is at least "
                   "%(ratio)s× their contribution so far and above the median customer’s.")
         % {"weeks": s.horizon_weeks, "ratio": f"{s.growable_ratio:g}"}},
        {"tier": Tier.BELOW_ZERO, "label": str(Tier.BELOW_ZERO.label),
         "rule": _("Net contribution below zero: net revenue minus product cost, "
                   "%(order)s per order, %(ret)s per return and %(ticket)s per ticket.")
         % {"order": format_money(s.cost_per_order, RIAL),
            "ret": format_money(s.cost_per_return, RIAL),
            "ticket": format_money(s.cost_per_ticket, RIAL)}},
        {"tier": Tier.REST, "label": str(Tier.REST.label),
         "rule": _("Every other customer.")},
    ]


def pyramid(net: np.ndarray) -> dict:
    """Share of net revenue held by each band of customers, best first."""
    values = np.sort(np.maximum(np.asarray(net, dtype=float), 0))[::-1]
    n = len(values)
    total = float(values.sum())
    bands = []
    cumulative = np.r_[0.0, np.cumsum(values)]
    for lo, hi in BANDS:
        a, b = math.floor(n * lo / 100), math.floor(n * hi / 100)
        revenue = float(cumulative[b] - cumulative[a])
        bands.append({"from": lo, "to": hi, "customers": int(b - a), "revenue": revenue,
                      "share": revenue / total if total else 0.0})
    top20 = float(cumulative[math.floor(n * 0.2)]) / total if total else 0.0
    return {"customers": n, "revenue": total, "top20_share": top20, "bands": bands}


def histogram(values: np.ndarray, per_decade: int = 2) -> dict:
    """Customers by value on a log scale (half-decade bins), zero and below counted apart."""
    values = np.asarray(values, dtype=float)
    positive = values[values > 0]
    out = {"zero_or_less": int((values <= 0).sum()), "bins": []}
    if not len(positive):
        return out
    lo = math.floor(math.log10(positive.min()) * per_decade) / per_decade
    hi = math.ceil(math.log10(positive.max()) * per_decade + 1e-9) / per_decade
    if hi <= lo:
        hi = lo + 1 / per_decade
    edges = np.arange(lo, hi + 1e-9, 1 / per_decade)
    counts, _ = np.histogram(np.log10(positive), bins=edges)
    out["bins"] = [{"from": float(10 ** a), "to": float(10 ** b), "customers": int(c)}
                   for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    return out


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


# Months of snapshots kept; older ones are dropped as new ones are written.
KEEP_MONTHS = 25


def snapshot(month: dt.date) -> None:
    """This month's tiers from CustomerMetrics, set-based (replaces an earlier run's)."""
    oldest = month
    for _step in range(KEEP_MONTHS - 1):
        oldest = previous_month(oldest)
    TierSnapshot.objects.filter(Q(month=month) | Q(month__lt=oldest)).delete()
    snap, metrics = TierSnapshot._meta.db_table, CustomerMetrics._meta.db_table
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(snap)} (month, contact_id, tier) "
            f"SELECT %s, contact_id, value_tier FROM {q(metrics)} WHERE value_tier <> ''",
            [month])


def movement(month: dt.date) -> dict:
    """How many customers moved from each tier last month to each tier this month;
    "" stands for not a customer (yet, or any more)."""
    prev = previous_month(month)
    snap = connection.ops.quote_name(TierSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(p.tier, ''), c.tier, COUNT(*) FROM {snap} c "
            f"LEFT JOIN {snap} p ON p.contact_id = c.contact_id AND p.month = %s "
            f"WHERE c.month = %s GROUP BY COALESCE(p.tier, ''), c.tier", [prev, month])
        rows = cursor.fetchall()
        cursor.execute(
            f"SELECT p.tier, COUNT(*) FROM {snap} p WHERE p.month = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {snap} c WHERE c.contact_id = p.contact_id AND c.month = %s) "
            f"GROUP BY p.tier", [prev, month])
        gone = cursor.fetchall()
    has_previous = TierSnapshot.objects.filter(month=prev).exists()
    moves = [{"from": a, "to": b, "customers": int(c)} for a, b, c in rows]
    moves += [{"from": a, "to": "", "customers": int(c)} for a, c in gone]
    return {"month": month.isoformat(), "previous": prev.isoformat(),
            "has_previous": has_previous, "moves": moves}
