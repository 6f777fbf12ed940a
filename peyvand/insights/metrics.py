"""Per-contact purchase figures as columns of numpy arrays ("a frame"), read set-based.

Every figure comes from a handful of grouped SQL queries over commerce's own definition of a
sale (commerce.queries.revenue_orders: not cancelled, failed, draft or deleted), cut at the
end of the `as_of` day in the shop's time zone, so a past date ignores later orders,
refunds and events. The same code serves the full refresh (all contacts) and the
incremental one (a few contacts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from peyvand.commerce.queries import revenue_orders
from peyvand.contacts.models import Contact, TimelineEvent

# Timeline kinds that show interest, and how much each counts (a click more than an open).
ENGAGEMENT_WEIGHTS = {"message.opened": 1.0, "message.clicked": 2.0, "site.visit": 1.0}
# Kinds that cost the shop time: each is one support ticket.
TICKET_KINDS = ("ticket.opened",)
# Events older than this many half-lives weigh under 0.4% and are not read.
HALF_LIVES_READ = 8

Frame = dict[str, np.ndarray]


def cutoff(day: dt.date) -> dt.datetime:
    """The first moment after `day` in the shop's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def _ordinals(values: Iterable[Any]) -> np.ndarray:
    return np.fromiter((v.toordinal() if v is not None else 0 for v in values), dtype=np.int64)


_EMPTY = {"int": np.int64, "ordinal": np.int64, "object": object, "str": object}


def _convert(values: tuple, kind: str) -> np.ndarray:
    if kind == "int":
        return np.fromiter((v or 0 for v in values), dtype=np.int64, count=len(values))
    if kind == "ordinal":
        return _ordinals(values)
    if kind == "str":
        return np.array([v or "" for v in values], dtype=object)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _read(rows: Iterable[tuple], kinds: Sequence[str], batch: int = 50_000) -> list[np.ndarray]:
    """Rows into one numpy array per column, a batch at a time: a million grouped rows never
    sit in memory as a million tuples."""
    parts: list[list[np.ndarray]] = [[] for _ in kinds]
    pending: list[tuple] = []

    def flush() -> None:
        for i, column in enumerate(zip(*pending, strict=True)):
            parts[i].append(_convert(column, kinds[i]))
        pending.clear()

    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return [np.concatenate(p) if p else np.zeros(0, dtype=_EMPTY[k])
            for p, k in zip(parts, kinds, strict=True)]


def _query(qs: QuerySet, fields: dict[str, str]) -> dict[str, np.ndarray]:
    """{field: kind} of a grouped queryset, read in batches (a server-side cursor on
    PostgreSQL)."""
    rows = qs.values_list(*fields).iterator(chunk_size=10_000)
    return dict(zip(fields, _read(rows, list(fields.values())), strict=True))


def orders_until(as_of: dt.date, contact_ids: Sequence[int] | None = None) -> QuerySet:
    qs = revenue_orders().filter(placed_at__lt=cutoff(as_of))
    if contact_ids is not None:
        qs = qs.filter(contact_id__in=contact_ids)
    return qs


# PostgreSQL settings for the refresh's few big grouped reads: sorts and hashes stay in memory
# more often, and no JIT compilation (about a second a query, for queries that run once).
ANALYTICS_SETTINGS = {"work_mem": "64MB", "jit": "off"}


@contextmanager
def analytics() -> Iterator[None]:
    """A transaction whose PostgreSQL session is tuned for the big grouped reads."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for name, value in ANALYTICS_SETTINGS.items():
                    cursor.execute(f"SET LOCAL {name} = %s", [value])
        yield


def load_frame(as_of: dt.date, *, contact_ids: Sequence[int] | None = None,
               calibration_end: dt.date | None = None, half_life_days: float = 30.0,
               timings: dict | None = None, lines: bool = True,
               events: bool = True) -> Frame:
    """Every contact (or those given) with what they bought until the end of `as_of`.

    `lines` and `events` off leave out product cost, categories, engagement and tickets
    (the RFM figures alone, as the benchmark compares them).
    """
    with analytics():
        return _load_frame(as_of, contact_ids, calibration_end, half_life_days, timings, lines,
                           events)


def _load_frame(as_of, contact_ids, calibration_end, half_life_days, timings, lines,
                events) -> Frame:
    import time

    clock = time.perf_counter()
    step = {"t": clock}

    def lap(name: str) -> None:
        if timings is not None:
            now = time.perf_counter()
            timings[name] = round(now - step["t"], 3)
            step["t"] = now

    contacts = Contact.objects.order_by("pk")
    if contact_ids is not None:
        contacts = contacts.filter(pk__in=contact_ids)
    ids = np.fromiter(contacts.values_list("pk", flat=True), dtype=np.int64)
    erased = np.isin(ids, np.fromiter(contacts.filter(erased_at__isnull=False)
                                      .values_list("pk", flat=True), dtype=np.int64))
    frame: Frame = {"id": ids, "erased": erased}
    lap("contacts")

    orders = orders_until(as_of, contact_ids)
    _load_orders(frame, orders, calibration_end)
    lap("orders")
    _load_refunds(frame, orders, as_of)
    lap("money")
    if lines:
        _load_lines(frame, orders)
        lap("lines")
    if events:
        _load_events(frame, as_of, contact_ids, half_life_days)
        lap("events")
    return frame


def _place(n: int, pos: np.ndarray, values: Iterable[Any], dtype) -> np.ndarray:
    out = np.zeros(n, dtype=dtype)
    if len(pos):
        out[pos] = np.asarray(values if isinstance(values, np.ndarray) else list(values),
                              dtype=dtype)
    return out


def _place_objects(n: int, pos: np.ndarray, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    if len(pos):
        out[pos] = np.asarray(list(values), dtype=object)
    return out


def _load_orders(frame: Frame, orders: QuerySet, calibration_end: dt.date | None) -> None:
    """Counts, days and money in one pass over the orders, grouped by (contact, currency).

    Net revenue is in each contact's main currency (the one most of their orders are in),
    as commerce.queries.purchase_summary reckons it. Purchase days are counted per currency
    and added up: a day with orders in two currencies counts twice, which is rare and saves
    a second pass over every order.
    """
    ids = frame["id"]
    n = len(ids)
    day = TruncDate("placed_at")
    # The shop's day of the first and last order: converted once per group, not per order
    # (the date of the earliest moment is the earliest date).
    agg: dict[str, Any] = {
        "n": Count("id"), "total": Sum("total"), "days": Count(day, distinct=True),
        "first_at": Min("placed_at"), "last_at": Max("placed_at"),
        "first_day": TruncDate(Min("placed_at")), "last_day": TruncDate(Max("placed_at")),
    }
    if calibration_end is not None:
        # Days after the calibration end are few: count those, the rest are before it.
        held = Q(placed_at__gte=cutoff(calibration_end))
        agg.update(held_days=Count(day, distinct=True, filter=held),
                   cal_last_day=TruncDate(Max("placed_at", filter=~held)))
    kinds = {"contact_id": "int", "currency": "str", "n": "int", "total": "int", "days": "int",
             "first_at": "object", "last_at": "object", "first_day": "ordinal",
             "last_day": "ordinal", "held_days": "int", "cal_last_day": "ordinal"}
    cols = _query(orders.order_by().values("contact_id", "currency").annotate(**agg),
                  {k: v for k, v in kinds.items() if k in agg or k in ("contact_id",
                                                                       "currency")})
    pos = np.searchsorted(ids, cols["contact_id"])
    count, total = cols["n"], cols["total"]

    def summed(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, pos, values)
        return out

    frame["order_count"] = summed(count)
    frame["purchase_days"] = summed(cols["days"])
    first_day, last_day = cols["first_day"], cols["last_day"]
    # Main currency: most orders, then the larger total (as purchase_summary).
    order = np.lexsort((-total, -count, pos))
    main = order[np.r_[True, pos[order][1:] != pos[order][:-1]]] if len(order) else order
    frame["currency"] = np.full(n, "", dtype=object)
    frame["currency"][pos[main]] = cols["currency"][main]
    frame["main_orders"] = _place(n, pos[main], count[main], np.int64)
    frame["gross"] = _place(n, pos[main], total[main], np.int64)
    # Earliest and latest over every currency: groups sorted by moment, first one wins.
    for name, moments, days, latest in (("first", cols["first_at"], first_day, False),
                                        ("last", cols["last_at"], last_day, True)):
        key = days if not latest else -days
        pick = np.lexsort((key, pos))
        pick = pick[np.r_[True, pos[pick][1:] != pos[pick][:-1]]] if len(pick) else pick
        frame[f"{name}_at"] = _place_objects(n, pos[pick], moments[pick])
        frame[f"{name}_day"] = _place(n, pos[pick], days[pick], np.int64)
    if calibration_end is not None:
        frame["cal_days"] = frame["purchase_days"] - summed(cols["held_days"])
        cal_last = np.zeros(n, dtype=np.int64)
        np.maximum.at(cal_last, pos, cols["cal_last_day"])
        frame["cal_last_day"] = cal_last


def _load_refunds(frame: Frame, orders: QuerySet, as_of: dt.date) -> None:
    """Refunds until `as_of` on those orders, in the main currency, and returns."""
    ids = frame["id"]
    n = len(ids)
    gross = frame.pop("gross")
    # Joined from the orders side: one join, and commerce's filter applies as written.
    end = cutoff(as_of)
    r = _query(orders.filter(refunds__at__lt=end).order_by().values("contact_id", "currency")
               .annotate(s=Sum("refunds__amount")),
               {"contact_id": "int", "currency": "str", "s": "int"})
    refunded = np.zeros(n, dtype=np.int64)
    rpos = np.searchsorted(ids, r["contact_id"])
    same = r["currency"] == frame["currency"][rpos]
    np.add.at(refunded, rpos[same], r["s"][same])
    frame["refunded"] = refunded
    frame["net_revenue"] = gross - refunded
    # A return is a refund that names lines given back.
    returned = (orders.filter(refunds__at__lt=end, refunds__lines__isnull=False).order_by()
                .values("contact_id").annotate(n=Count("refunds", distinct=True)))
    rr = _query(returned, {"contact_id": "int", "n": "int"})
    frame["returns"] = _place(n, np.searchsorted(ids, rr["contact_id"]), rr["n"], np.int64)


def _load_lines(frame: Frame, orders: QuerySet) -> None:
    """Product cost (where the product's cost is known) and the category bought most.

    Grouped by (contact, category) with the ORM, then reduced in SQL to one row per contact
    (window functions, which PostgreSQL and SQLite both have), so a million customers do
    not send eight million rows back.
    """
    ids = frame["id"]
    n = len(ids)
    frame["product_cost"] = np.zeros(n, dtype=np.int64)
    frame["main_category"] = np.full(n, "", dtype=object)
    cost = ExpressionWrapper(F("lines__quantity") * F("lines__product__cost"),
                             output_field=BigIntegerField())
    grouped = (orders.filter(lines__isnull=False).order_by()
               .values(c=F("contact_id"), cat=F("lines__product__category"))
               .annotate(n_lines=Count("lines"), cost=Sum(cost)))
    sql, params = grouped.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c, cat, total FROM (SELECT c, cat, SUM(cost) OVER (PARTITION BY c) AS "
            "total, ROW_NUMBER() OVER (PARTITION BY c ORDER BY CASE WHEN COALESCE(cat, '') = "
            "'' THEN 1 ELSE 0 END, n_lines DESC, cat) AS rn FROM (" + sql + ") g) t "
            "WHERE rn = 1", params)
        rows = (row for block in iter(lambda: cursor.fetchmany(10_000), []) for row in block)
        cid, cat, total = _read(rows, ["int", "str", "int"])
    pos = np.searchsorted(ids, cid)
    frame["product_cost"][pos] = total
    frame["main_category"][pos] = cat


def _load_events(frame: Frame, as_of: dt.date, contact_ids: Sequence[int] | None,
                 half_life_days: float) -> None:
    """Engagement (recency-weighted opens, clicks, visits) and support tickets."""
    ids = frame["id"]
    n = len(ids)
    end = cutoff(as_of)
    events = TimelineEvent.objects.filter(at__lt=end)
    if contact_ids is not None:
        events = events.filter(contact_id__in=contact_ids)
    start = end - dt.timedelta(days=half_life_days * HALF_LIVES_READ)
    e = _query(events.filter(kind__in=list(ENGAGEMENT_WEIGHTS), at__gte=start).order_by()
               .annotate(day=TruncDate("at")).values("contact_id", "kind", "day")
               .annotate(n=Count("id")),
               {"contact_id": "int", "kind": "str", "day": "ordinal", "n": "int"})
    engagement = np.zeros(n)
    pos = np.searchsorted(ids, e["contact_id"])
    age = as_of.toordinal() - e["day"]
    weight = np.array([ENGAGEMENT_WEIGHTS[k] for k in e["kind"]], dtype=float) * e["n"]
    np.add.at(engagement, pos, weight * 0.5 ** (np.maximum(age, 0) / half_life_days))
    frame["engagement"] = engagement
    t = _query(events.filter(kind__in=TICKET_KINDS).order_by().values("contact_id")
               .annotate(n=Count("id")), {"contact_id": "int", "n": "int"})
    frame["tickets"] = _place(n, np.searchsorted(ids, t["contact_id"]), t["n"], np.int64)


# --- writing ------------------------------------------------------------------------------------

def bulk_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows at once: COPY on PostgreSQL, executemany elsewhere."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    name = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", batch)
                batch = []
        if batch:
            cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", batch)
