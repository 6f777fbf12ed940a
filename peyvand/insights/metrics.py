"""Per-contact purchase figures as columns of numpy arrays ("a frame"), read set-based.

Every figure comes from a fixed handful of queries over commerce's own definition of a sale
(commerce.queries.revenue_orders: not cancelled, failed, draft or deleted), cut at the end
of the `as_of` day in the shop's time zone, so a past date ignores later orders, refunds and
events. Orders, their refunds and their lines are each read once as columns
(insights.columns: binary COPY on PostgreSQL) and grouped and joined in numpy; the database
does no sort or join over millions of rows. The same code serves the full refresh (all
contacts) and the incremental one (a few contacts).

Over ~400 lines on purpose: one computation. The readers of orders, refunds, lines and
events fill one frame and share its column layout and the numpy helpers (_finder, _place,
_run_starts); split apart, one pipeline would be read across files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from peyvand.commerce.models import Product
from peyvand.commerce.queries import order_lines, refunds_until, revenue_orders
from peyvand.contacts.models import Contact, TimelineEvent
from peyvand.insights import columns

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
               events: bool = True, baskets: dict[str, Any] | None = None) -> Frame:
    """Every contact (or those given) with what they bought until the end of `as_of`.

    `lines` and `events` off leave out product cost, categories, engagement and tickets
    (the RFM figures alone, as the benchmark compares them). `baskets` ({"since": moment})
    receives the cross-sell baskets from the same read of the lines (see _load_lines).
    """
    with analytics():
        return _load_frame(as_of, contact_ids, calibration_end, half_life_days, timings, lines,
                           events, baskets)


def _load_frame(as_of, contact_ids, calibration_end, half_life_days, timings, lines,
                events, baskets) -> Frame:
    import time

    clock = time.perf_counter()
    step = {"t": clock}

    def lap(name: str) -> None:
        if timings is not None:
            now = time.perf_counter()
            timings[name] = round(now - step["t"], 3)
            step["t"] = now

    contacts = Contact.objects.order_by()
    if contact_ids is not None:
        contacts = contacts.filter(pk__in=contact_ids)
    ids, erased = columns.read(contacts.values_list(
        "pk", Case(When(erased_at__isnull=False, then=Value(1)), default=Value(0))),
        ["int", "int"])
    by_id = np.argsort(ids)
    frame: Frame = {"id": ids[by_id], "erased": erased[by_id].astype(bool)}
    lap("contacts")

    orders = orders_until(as_of, contact_ids)
    # Every contact: the orders and lines are read by ranges of their tables' pages.
    scan = contact_ids is None
    sales = _load_orders(frame, orders, calibration_end, scan)
    lap("orders")
    _load_refunds(frame, sales, as_of, contact_ids)
    lap("money")
    if lines:
        _load_lines(frame, sales, contact_ids, baskets)
        lap("lines")
    if events:
        _load_events(frame, as_of, contact_ids, half_life_days)
        lap("events")
    return frame


def local_days(moments: np.ndarray) -> np.ndarray:
    """The shop's calendar day (as an ordinal) of each moment (microseconds since 1970).

    The time zone's UTC offset changes a few times a year at most: its changes over the
    span of the moments are found by stepping a day at a time (bisecting each change to the
    second), and every moment takes the offset in force, which spares the database a time
    zone conversion per order.
    """
    if not len(moments):
        return np.zeros(0, dtype=np.int64)
    tz = timezone.get_current_timezone()

    def offset(second: int) -> int:
        delta = dt.datetime.fromtimestamp(second, tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    seconds = moments // 1_000_000
    lo, hi = int(seconds.min()), int(seconds.max())
    starts, offsets = [lo], [offset(lo)]
    for step in range(lo, hi, 86_400):
        end = min(step + 86_400, hi)
        if offset(end) != offsets[-1]:
            before, after = step, end  # the change is in (before, after]
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (middle, after) if offset(middle) == offsets[-1] \
                    else (before, middle)
            starts.append(after)
            offsets.append(offset(after))
    where = np.searchsorted(np.array(starts), seconds, side="right") - 1
    return (seconds + np.array(offsets)[where]) // 86_400 + _EPOCH_ORDINAL


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _finder(keys: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """For unique `keys` (in any order): a function giving the index of each value in
    `keys`, -1 where it is not one. Ids from a sequence are looked up in a table (one read
    per value), others by binary search."""
    if not len(keys):
        return lambda values: np.full(len(values), -1, dtype=np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo < 4 * len(keys) + 1_000_000:
        table = np.full(hi - lo + 1, -1, dtype=np.int32 if len(keys) < 2**31 else np.int64)
        table[keys - lo] = np.arange(len(keys))

        def from_table(values: np.ndarray) -> np.ndarray:
            out = np.full(len(values), -1, dtype=np.int64)
            inside = (values >= lo) & (values <= hi)
            out[inside] = table[values[inside] - lo]
            return out
        return from_table
    order = np.argsort(keys)
    ordered = keys[order]

    def by_search(values: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
        return np.where(ordered[at] == values, order[at], -1)
    return by_search


def _concat(parts: dict[str, list[np.ndarray]], dtypes: dict[str, Any]) -> Frame:
    """Blocks into whole columns, one column at a time (its blocks freed as it is built)."""
    out = {}
    for name, dtype in dtypes.items():
        out[name] = np.concatenate(parts.pop(name)) if parts.get(name) else \
            np.zeros(0, dtype=dtype)
    return out


@dataclass
class Sales:
    """The orders read, for the reads joined to them (refunds, lines): `find` gives each
    order id's index in the arrays, -1 for an order that is not a sale until then."""

    find: Callable[[np.ndarray], np.ndarray]
    pos: np.ndarray  # the buyer's row in the frame
    placed: np.ndarray  # microseconds since 1970, UTC
    currency: np.ndarray  # index into `currencies`
    currencies: list[str]


def _read_orders(frame: Frame, orders: QuerySet, scan: bool) -> tuple[Frame, list[str]]:
    """Each order's id, buyer (row in the frame), total, moment, shop day and currency
    (index into the sorted list returned), read a block at a time into compact arrays."""
    find_contact = _finder(frame["id"])
    parts: dict[str, list[np.ndarray]] = {}
    seen: dict[str, int] = {}
    for oid, cid, total, placed, cur in columns.blocks(
            orders.order_by().values_list("id", "contact_id", "total", "placed_at",
                                          "currency"),
            ["int", "int", "int", "moment", "text"], scan=scan):
        day = local_days(placed)
        pos = find_contact(cid)
        # A buyer added after the contacts were read waits for the next refresh.
        known = pos >= 0
        names, codes = columns.labels(cur[known])
        remap = np.array([seen.setdefault(name, len(seen)) for name in names],
                         dtype=np.int16)
        for name, values in (("id", oid[known]), ("pos", pos[known].astype(np.int32)),
                             ("total", total[known]), ("placed", placed[known]),
                             ("day", day[known].astype(np.int32)),
                             ("currency", remap[codes] if len(codes) else codes)):
            parts.setdefault(name, []).append(values)
    cols = _concat(parts, {"id": np.int64, "pos": np.int32, "total": np.int64,
                           "placed": np.int64, "day": np.int32, "currency": np.int16})
    # Codes in the order of the sorted labels, so that ties break the same way every run.
    currencies = sorted(seen)
    recode = np.zeros(max(len(seen), 1), dtype=np.int16)
    for name, code in seen.items():
        recode[code] = currencies.index(name)
    cols["currency"] = recode[cols["currency"]]
    return cols, currencies


def _load_orders(frame: Frame, orders: QuerySet, calibration_end: dt.date | None,
                 scan: bool) -> Sales:
    """Counts, days and money from one read of the orders, grouped by (contact, currency)
    in numpy.

    Net revenue is in each contact's main currency (the one most of their orders are in),
    as commerce.queries.purchase_summary reckons it. Purchase days are counted per currency
    and added up: a day with orders in two currencies counts twice, which is rare. The
    grouping, the shop's days, the distinct days and the sums are a sort and a few passes
    over arrays here, where SQL's COUNT(DISTINCT) sorts every order on disk.
    """
    n = len(frame["id"])
    o, currencies = _read_orders(frame, orders, scan)
    sales = Sales(_finder(o.pop("id")), o["pos"], o["placed"], o["currency"], currencies)
    pos, cur, day, total, placed = o["pos"], o["currency"], o["day"], o["total"], o["placed"]
    del o

    # Sort by (contact, currency, day): groups are runs, a purchase day is a run within.
    k = max(len(currencies), 1)
    group = pos.astype(np.int64) * k + cur
    first = int(day.min()) if len(day) else 0
    span = int(day.max()) - first + 1 if len(day) else 1
    key = group * span + (day - first)
    order = np.argsort(key)
    key, group, day, total, placed = (key[order], group[order], day[order], total[order],
                                      placed[order])
    del order, pos, cur
    starts = _run_starts(group)
    new_day = _changes(key)
    del key
    gpos, gcur = group[starts] // k, group[starts] % k
    del group
    count = np.diff(np.r_[starts, len(day)])
    gtotal = np.add.reduceat(total, starts)

    def summed(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, gpos, values)
        return out

    frame["order_count"] = summed(count)
    frame["purchase_days"] = summed(np.add.reduceat(new_day.astype(np.int64), starts))
    # Main currency: most orders, then the larger total (as purchase_summary).
    pick = np.lexsort((-gtotal, -count, gpos))
    main = pick[_changes(gpos[pick])]
    frame["currency"] = np.full(n, "", dtype=object)
    frame["currency"][gpos[main]] = np.array(currencies, dtype=object)[gcur[main]]
    frame["main_currency"] = _place(n, gpos[main], gcur[main], np.int64)
    frame["main_orders"] = _place(n, gpos[main], count[main], np.int64)
    frame["gross"] = _place(n, gpos[main], gtotal[main], np.int64)
    # Gamma-Gamma reads repeat purchases only: the main currency's purchase days and what
    # its first day took, so the rest is the repeat spend (Fader & Hardie 2013).
    day_starts = np.flatnonzero(new_day)
    day_totals = np.add.reduceat(total, day_starts) if len(day_starts) else np.zeros(0)
    first_day_run = (np.cumsum(new_day) - 1)[starts]
    gdays = np.add.reduceat(new_day.astype(np.int64), starts) if len(starts) else \
        np.zeros(0, dtype=np.int64)
    frame["main_days"] = _place(n, gpos[main], gdays[main], np.int64)
    frame["first_spend"] = _place(n, gpos[main], day_totals[first_day_run][main], np.int64)
    # Earliest and latest over every currency: a contact's orders are one run of the
    # sorted arrays (its currencies side by side), so the extremes reduce over that run.
    cstarts = _run_starts(gpos)
    cpos, runs = gpos[cstarts], starts[cstarts]
    frame["first_at"] = _place(n, cpos, np.minimum.reduceat(placed, runs), np.int64)
    frame["last_at"] = _place(n, cpos, np.maximum.reduceat(placed, runs), np.int64)
    frame["first_day"] = _place(n, cpos, np.minimum.reduceat(day, runs), np.int64)
    frame["last_day"] = _place(n, cpos, np.maximum.reduceat(day, runs), np.int64)
    if calibration_end is not None:
        # Orders from the first moment after the calibration end are held out; a day is
        # wholly on one side of that moment.
        held = placed >= columns.micros(cutoff(calibration_end))
        frame["cal_days"] = frame["purchase_days"] - summed(
            np.add.reduceat((new_day & held).astype(np.int64), starts))
        frame["cal_last_day"] = _place(n, cpos, np.maximum.reduceat(np.where(held, 0, day),
                                                                    runs), np.int64)
    return sales


def _changes(values: np.ndarray) -> np.ndarray:
    """True where a run of equal values starts."""
    out = np.ones(len(values), dtype=bool)
    out[1:] = values[1:] != values[:-1]
    return out


def _run_starts(values: np.ndarray) -> np.ndarray:
    return np.flatnonzero(_changes(values))


def _place(n: int, pos: np.ndarray, values: Any, dtype) -> np.ndarray:
    out = np.zeros(n, dtype=dtype)
    if len(pos):
        out[pos] = values
    return out


def _load_refunds(frame: Frame, sales: Sales, as_of: dt.date,
                  contact_ids: Sequence[int] | None) -> None:
    """Refunds until `as_of` on the orders read, in the main currency, and returns (a
    return is a refund that names lines given back)."""
    n = len(frame["id"])
    gross = frame.pop("gross")
    refunds = refunds_until(cutoff(as_of), contact_ids)
    order_id, amount, has_lines = columns.read(
        refunds.values_list("order_id", "amount", "names_lines"), ["int", "int", "int"])
    at = sales.find(order_id)  # refunds of orders that are not sales until then drop out
    mine = at >= 0
    at, amount, has_lines = at[mine], amount[mine], has_lines[mine]
    pos = sales.pos[at]
    same = sales.currency[at] == frame.pop("main_currency")[pos]
    refunded = np.zeros(n, dtype=np.int64)
    np.add.at(refunded, pos[same], amount[same])
    frame["refunded"] = refunded
    frame["net_revenue"] = gross - refunded
    # Refunds are not tied to a purchase day: each day keeps its share of the net.
    repeat_gross = gross - frame.pop("first_spend")
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["repeat_net"] = np.where(gross > 0, repeat_gross * (frame["net_revenue"] / gross),
                                       0.0)
    returns = np.zeros(n, dtype=np.int64)
    np.add.at(returns, pos, has_lines)
    frame["returns"] = returns


def _load_lines(frame: Frame, sales: Sales, contact_ids: Sequence[int] | None,
                baskets: dict[str, Any] | None) -> None:
    """Product cost (where the product's cost is known) and the category bought most, from
    one read of the order lines joined to the orders and products in numpy.

    With `baskets` ({"since": moment}), also the (order, product) pairs of the orders placed
    since then, for cross-sell: the same read serves both.
    """
    ids = frame["id"]
    n = len(ids)
    products = list(Product.objects.order_by("pk").values_list("pk", "category", "cost"))
    categories = sorted({c or "" for _, c, _ in products})
    code_of = {c: i for i, c in enumerate(categories)}
    # Index -1 (a line without a product) finds the last entry: no category, no cost.
    cat = np.array([code_of[c or ""] for _, c, _ in products] + [len(categories)],
                   dtype=np.int64)
    cost = np.array([c or 0 for _, _, c in products] + [0], dtype=np.int64)
    has_cost = np.array([c is not None for _, _, c in products] + [False])
    # Empty categories (and lines without a product) come last whatever their count.
    empty = np.array([c == "" for c in categories] + [True])
    find_product = _finder(np.array([p for p, _, _ in products], dtype=np.int64))
    since = columns.micros(baskets["since"]) if baskets is not None else None
    cost_total = np.zeros(n, dtype=np.int64)
    width = len(categories) + 1
    tally = _Tally(n * width)  # lines per (contact, category), as key contact·width + category
    basket_parts: dict[str, list[np.ndarray]] = {}
    for order_id, product_id, quantity in columns.blocks(
            order_lines(contact_ids).values_list(
                "order_id", Coalesce("product_id", Value(0), output_field=BigIntegerField()),
                "quantity"),
            ["int", "int", "int"], scan=contact_ids is None):
        at = sales.find(order_id)
        mine = at >= 0  # lines of orders that are not sales until then drop out
        at, order_id, product_id, quantity = at[mine], order_id[mine], product_id[mine], \
            quantity[mine]
        pos = sales.pos[at].astype(np.int64)
        p = find_product(product_id)  # -1: no product
        priced = has_cost[p]
        np.add.at(cost_total, pos[priced], quantity[priced] * cost[p[priced]])
        tally.add(pos * width + cat[p])
        if since is not None:
            window = (p >= 0) & (sales.placed[at] >= since)
            basket_parts.setdefault("order_id", []).append(order_id[window])
            basket_parts.setdefault("product_id", []).append(product_id[window])
    frame["product_cost"] = cost_total
    frame["main_category"] = np.full(n, "", dtype=object)
    if baskets is not None:
        baskets.update(_concat(basket_parts, {"order_id": np.int64, "product_id": np.int64}))
    keys, counts = tally.result()
    pos, code = keys // width, keys % width
    # Per contact: a named category first, then the most lines, then the first by name.
    best = np.lexsort((code, -counts, empty[code], pos))
    best = best[_changes(pos[best])]
    names = np.array(categories + [""], dtype=object)
    frame["main_category"][pos[best]] = names[code[best]]


class _Tally:
    """Counts of keys in range(size) fed a block at a time. A plain array of counts while
    that is small (a few categories); otherwise each block's distinct keys, merged now and
    then, so memory follows the number of distinct keys, not of keys fed."""

    DENSE = 1 << 25  # 128 MB of int32 counts

    def __init__(self, size: int) -> None:
        self.dense = np.zeros(size, dtype=np.int32) if size <= self.DENSE else None
        self.keys = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, keys: np.ndarray) -> None:
        if self.dense is not None:
            # Counts of the array's own type: numpy's fast path (a scalar 1 is 30× slower).
            np.add.at(self.dense, keys, np.ones(len(keys), dtype=self.dense.dtype))
            return
        uniq, counts = np.unique(keys, return_counts=True)
        self.pending.append((uniq, counts))
        self.size += len(uniq)
        if self.size > max(4_000_000, 2 * len(self.keys)):
            self._merge()

    def _merge(self) -> None:
        keys = np.concatenate([self.keys] + [k for k, _ in self.pending])
        counts = np.concatenate([self.counts] + [c for _, c in self.pending])
        self.pending, self.size = [], 0
        self.keys, where = np.unique(keys, return_inverse=True)
        self.counts = np.zeros(len(self.keys), dtype=np.int64)
        np.add.at(self.counts, where, counts)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, counts), keys ascending, counts > 0."""
        if self.dense is not None:
            keys = np.flatnonzero(self.dense)
            return keys, self.dense[keys].astype(np.int64)
        if self.pending:
            self._merge()
        return self.keys, self.counts


def _load_events(frame: Frame, as_of: dt.date, contact_ids: Sequence[int] | None,
                 half_life_days: float) -> None:
    """Engagement (recency-weighted opens, clicks, visits) and support tickets."""
    n = len(frame["id"])
    find_contact = _finder(frame["id"])
    end = cutoff(as_of)
    events = TimelineEvent.objects.filter(at__lt=end)
    if contact_ids is not None:
        events = events.filter(contact_id__in=contact_ids)
    start = end - dt.timedelta(days=half_life_days * HALF_LIVES_READ)
    kinds = list(ENGAGEMENT_WEIGHTS)
    cid, code, moment = columns.read(
        events.filter(kind__in=kinds, at__gte=start).order_by().values_list(
            "contact_id", Case(*(When(kind=k, then=Value(i)) for i, k in enumerate(kinds))),
            "at"), ["int", "int", "moment"])
    day = local_days(moment)
    weight = np.array(list(ENGAGEMENT_WEIGHTS.values()), dtype=float)[code]
    pos = find_contact(cid)
    known = pos >= 0
    age = np.maximum(as_of.toordinal() - day[known], 0)
    engagement = np.zeros(n)
    np.add.at(engagement, pos[known], weight[known] * 0.5 ** (age / half_life_days))
    frame["engagement"] = engagement
    cid, count = columns.read(events.filter(kind__in=TICKET_KINDS).order_by()
                              .values("contact_id").annotate(n=Count("id"))
                              .values_list("contact_id", "n"), ["int", "int"])
    pos = find_contact(cid)
    frame["tickets"] = _place(n, pos[pos >= 0], count[pos >= 0], np.int64)


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
