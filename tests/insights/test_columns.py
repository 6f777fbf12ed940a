"""Query results as numpy columns and rows written from them (binary COPY on PostgreSQL, the
cursor and executemany elsewhere): every kind, NULLs, texts of any length, page ranges."""

import datetime as dt
import zoneinfo

import numpy as np
import pytest
from django.db import connection
from django.db.models.functions import TruncDate
from django.utils import timezone

from peyvand.commerce.models import Order, Product, RefundLine
from peyvand.commerce.queries import refunds_until
from peyvand.insights import columns, metrics
from peyvand.insights.models import CustomerMetrics
from tests.insights.conftest import at, bulk_orders, contact, order, refund

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="binary COPY is PostgreSQL's")


def by_first(cols: list[np.ndarray]) -> list[list]:
    """Rows sorted by the first column (a read promises no order)."""
    order_ = np.argsort(cols[0], kind="stable")
    return [c[order_].tolist() for c in cols]


def test_every_kind_reads_as_python_would():
    people = [contact() for _ in range(3)]
    late = timezone.make_aware(dt.datetime(2024, 3, 20, 23, 59, 59, 999_999))
    orders = [order(people[0].pk, dt.date(2024, 1, 31), 5, currency="USD"),
              order(people[1].pk, dt.date(2024, 2, 1), 7_000_000_000_000),
              order(people[2].pk, dt.date(2024, 3, 1), 0, currency="EU")]
    Order.objects.filter(pk=orders[2].pk).update(placed_at=late)
    qs = Order.objects.order_by().values_list("pk", "contact_id", "total", "placed_at",
                                              TruncDate("placed_at"), "currency")
    pk, cid, total, placed, day, cur = by_first(columns.read(
        qs, ["int", "int", "int", "moment", "date", "text"]))
    expected = sorted(qs)
    assert pk == [o[0] for o in expected] and cid == [o[1] for o in expected]
    assert total == [5, 7_000_000_000_000, 0]
    assert [columns.as_datetimes(np.array([p]))[0] for p in placed] == [o[3] for o in expected]
    assert placed[2] == columns.micros(late)  # microseconds survive
    # The shop's day (Asia/Tehran): 23:59 local is still that day.
    assert [dt.date.fromordinal(d) for d in day] == [o[4] for o in expected]
    assert cur == [b"USD", b"IRR", b"EU"]
    names, codes = columns.labels(np.array(cur))
    assert names == ["EU", "IRR", "USD"] and codes.tolist() == [2, 1, 0]


def test_nulls_texts_of_any_length_and_booleans():
    Product.objects.create(sku="A", category="ظروف آشپزخانه", cost=10)
    Product.objects.create(sku="B", category="", cost=None)
    Product.objects.create(sku="C", category="x" * 100, cost=-3)
    pk, category, cost = by_first(columns.read(
        Product.objects.order_by().values_list("pk", "category", "cost"),
        ["int", "text", "int"]))
    assert [c.decode() for c in category] == ["ظروف آشپزخانه", "", "x" * 100]
    assert cost == [10, 0, -3]  # NULL reads as 0
    o = order(contact().pk, dt.date(2024, 1, 1))
    plain = refund(o, 100, dt.date(2024, 1, 2))
    returned = refund(o, 200, dt.date(2024, 1, 3))
    RefundLine.objects.create(refund=returned, sku="A", quantity=1, amount=200)
    ids, amount, names_lines = by_first(columns.read(
        refunds_until(at(dt.date(2024, 2, 1))).values_list("pk", "amount", "names_lines"),
        ["int", "int", "int"]))
    assert ids == [plain.pk, returned.pk] and amount == [100, 200]
    assert names_lines == [0, 1]


def test_an_empty_result_is_empty_columns():
    got = columns.read(Order.objects.filter(pk__lt=0).values_list("pk", "currency"),
                       ["int", "text"])
    assert [len(c) for c in got] == [0, 0]
    assert columns.read(Order.objects.order_by().values_list("pk", "currency"),
                        ["int", "text"], scan=True)[0].tolist() == []


def test_a_table_is_scanned_by_page_ranges_each_row_once(monkeypatch):
    monkeypatch.setattr(columns, "SCAN_PAGES", 1)  # a block for every page
    people = [contact() for _ in range(40)]
    bulk_orders([(p.pk, dt.date(2024, 1, 1) + dt.timedelta(days=i % 300), 1000 + i)
                 for i, p in enumerate(people * 10)])
    qs = metrics.orders_until(dt.date(2024, 12, 31)).order_by().values_list(
        "pk", "total", "deleted_at")
    blocks = list(columns.blocks(qs, ["int", "int", "moment"], scan=True))
    if connection.vendor == "postgresql":
        assert len(blocks) > 1
    pk = np.concatenate([b[0] for b in blocks])
    assert sorted(pk.tolist()) == sorted(Order.objects.values_list("pk", flat=True))
    assert np.concatenate([b[2] for b in blocks]).tolist() == [0] * 400


def test_finder_looks_up_dense_and_sparse_keys():
    for keys in (np.array([7, 3, 5, 4]), np.array([10**12, 5, 10**9])):
        find = metrics._finder(keys)
        probe = np.concatenate([keys, [-1, 6, 10**13]])
        assert find(probe).tolist() == list(range(len(keys))) + [-1, -1, -1]
    assert metrics._finder(np.zeros(0, dtype=np.int64))(np.array([1])).tolist() == [-1]


def test_labels_beyond_a_few_distinct_values():
    values = np.array([f"c{i % 40:02d}".encode() for i in range(200)])
    names, codes = columns.labels(values)
    assert names == [f"c{i:02d}" for i in range(40)]
    assert [names[c] for c in codes] == [v.decode() for v in values]


@postgres_only
def test_binary_copy_writes_nulls_texts_dates_and_moments():
    people = [contact(), contact()]
    now = timezone.now()
    first = timezone.make_aware(dt.datetime(2023, 5, 6, 7, 8, 9, 123_456))
    given = [
        ("contact_id", np.array([p.pk for p in people]), None),
        ("as_of", np.full(2, dt.date(2024, 6, 30).toordinal()), None),
        ("currency", np.array(["IRR", ""], dtype=object), None),
        ("first_order_at", np.array([columns.micros(first), 0]), np.array([True, False])),
        ("p_alive", np.array([0.25, np.nan]), np.array([True, False])),
        ("net_revenue", np.array([-(2**40), 2**62]), None),
        ("r_score", np.array([5, 0]), None),
        ("main_category", np.array(["لوازم خانگی", "tab\there"], dtype=object), None),
        ("next_due_date", np.array([dt.date(2024, 7, 9).toordinal(), 0]),
         np.array([True, False])),
        ("updated_at", np.full(2, columns.micros(now)), None),
    ]
    named = {name for name, _, _ in given}
    rest = [(f.column, np.array(["", ""], dtype=object) if f.get_internal_type() == "CharField"
             else np.zeros(2), None)
            for f in CustomerMetrics._meta.concrete_fields if f.column not in named]
    columns.copy_into(CustomerMetrics, given + rest)
    a, b = (CustomerMetrics.objects.get(contact=p) for p in people)
    assert (a.currency, a.first_order_at, a.p_alive, a.net_revenue, a.r_score) == \
        ("IRR", first, 0.25, -(2**40), 5)
    assert (a.main_category, a.next_due_date, a.as_of) == \
        ("لوازم خانگی", dt.date(2024, 7, 9), dt.date(2024, 6, 30))
    assert (b.currency, b.first_order_at, b.p_alive, b.next_due_date) == ("", None, None, None)
    assert (b.net_revenue, b.main_category) == (2**62, "tab\there")
    assert abs((a.updated_at - now).total_seconds()) < 1e-3
    assert a.ladder_stage == "" and a.order_count == 0 and a.engagement_score == 0.0


@pytest.mark.parametrize("zone", ["Asia/Tehran", "Europe/Berlin", "America/St_Johns",
                                  "Australia/Lord_Howe", "UTC"])
def test_local_days_follow_the_time_zone_through_its_changes(zone):
    tz = zoneinfo.ZoneInfo(zone)
    rng = np.random.default_rng(3)
    start = int(dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp())
    seconds = rng.integers(start, start + 4 * 365 * 86_400, 20_000)
    # Around every change of offset in the span, to the second.
    hours = np.arange(start, start + 4 * 365 * 86_400, 3600)
    offsets = np.array([dt.datetime.fromtimestamp(int(h), tz).utcoffset().total_seconds()
                        for h in hours])
    for h in hours[1:][offsets[1:] != offsets[:-1]]:
        seconds = np.r_[seconds, np.arange(h - 3600, h + 1)]
    micros = seconds * 1_000_000 + rng.integers(0, 1_000_000, len(seconds))
    with timezone.override(tz):
        got = metrics.local_days(micros)
    expected = [dt.datetime.fromtimestamp(s, tz).date().toordinal()
                for s in seconds.tolist()]
    assert got.tolist() == expected
