"""Segments read each customer's kept recent sales (commerce.RecentSales) for the kept
windows, and the orders for whoever changed since the build: the same answer as summing
the orders every time."""

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.audiences.queries import matching
from peyvand.commerce.actions import move_commerce_rows, refresh_recent_sales
from peyvand.commerce.models import Order, RecentSales, RecentSalesBuild
from peyvand.contacts.models import Contact

pytestmark = pytest.mark.django_db

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _order(contact, placed_at, total, status="completed"):
    order = Order.objects.create(source="x", external_id=str(Order.objects.count() + 1),
                                 contact=contact,
                                 placed_at=placed_at, currency="IRR", total=total,
                                 status=status)
    # As if written long before the build: only what changes later is "changed since".
    Order.objects.filter(pk=order.pk).update(updated_at=LONG_AGO)
    return order


def _spent(op, value, days, now):
    rule = {"field": "orders.total_spent", "op": op, "value": value, "in_last": {"days": days}}
    return set(matching(rule, now=now).values_list("first_name", flat=True))


def _both(op, value, days, now):
    """The answer through the kept rows, and by summing the orders (no build)."""
    kept = _spent(op, value, days, now)
    build = list(RecentSalesBuild.objects.all())
    RecentSalesBuild.objects.all().delete()
    summed = _spent(op, value, days, now)
    RecentSalesBuild.objects.bulk_create(build)
    return kept, summed


@pytest.fixture
def shop():
    now = timezone.now()
    people = {name: Contact.objects.create(first_name=name) for name in "ABCDE"}
    _order(people["A"], now - dt.timedelta(days=10), 5000)
    _order(people["A"], now - dt.timedelta(days=200), 4000)
    _order(people["B"], now - dt.timedelta(days=100), 3000)
    _order(people["B"], now - dt.timedelta(days=20), 900, status="cancelled")
    # C's only sale leaves the year's window one day after the build.
    _order(people["C"], now - dt.timedelta(days=365, hours=12), 8000)
    _order(people["D"], now - dt.timedelta(days=400), 9000)
    return now, people


def test_the_kept_rows_answer_as_the_orders_do_and_are_read(shop):
    now, people = shop
    build = refresh_recent_sales(now=now - dt.timedelta(days=1))
    assert build.customers == 3  # A, B, C had sales in the year before the build
    assert RecentSales.objects.get(contact=people["A"]).spent_365 == 9000
    assert RecentSales.objects.get(contact=people["A"]).spent_30 == 5000
    assert RecentSales.objects.get(contact=people["B"]).orders_365 == 1  # cancelled: no sale
    rule = {"field": "orders.total_spent", "op": "gt", "value": 100, "in_last": {"days": 365}}
    assert "commerce_recentsales" in str(matching(rule, now=now).query)
    assert "commerce_recentsales" not in str(matching(
        {**rule, "in_last": {"days": 60}}, now=now).query)
    for op, value in [("gt", 100), ("gte", 9000), ("lt", 4000), ("eq", 0), ("ne", 3000),
                      ("between", [1000, 6000])]:
        for days in (30, 90, 180, 365):
            kept, summed = _both(op, value, days, now)
            assert kept == summed, (op, value, days)
    assert _both("gt", 100, 365, now)[0] == {"A", "B"}  # C's sale has left the window
    assert _both("eq", 0, 365, now)[0] == {"C", "D", "E"}
    orders = {"field": "orders.count", "op": "gte", "value": 1, "in_last": {"days": 30}}
    assert set(matching(orders, now=now).values_list("first_name", flat=True)) == {"A"}


def test_orders_changed_since_the_build_are_summed_again(shop):
    now, people = shop
    refresh_recent_sales(now=now - dt.timedelta(days=1))
    a_recent = Order.objects.get(contact=people["A"], total=5000)
    a_recent.status = "cancelled"
    a_recent.save()  # updated_at moves on: A is read from the orders
    _order(people["E"], now - dt.timedelta(hours=2), 7000)  # placed after the window's end
    Order.objects.filter(contact=people["E"]).update(updated_at=LONG_AGO)
    late = _order(people["D"], now - dt.timedelta(days=3), 2500)
    Order.objects.filter(pk=late.pk).update(updated_at=timezone.now())  # a late import
    for op, value in [("gt", 100), ("gte", 4000), ("lt", 4000), ("eq", 0)]:
        for days in (30, 365):
            kept, summed = _both(op, value, days, now)
            assert kept == summed, (op, value, days)
    assert _both("gt", 100, 30, now)[0] == {"D", "E"}
    assert _both("gte", 4000, 365, now)[0] == {"A", "E"}


def test_a_merge_moves_the_kept_sales_with_the_orders(shop):
    now, people = shop
    refresh_recent_sales(now=now - dt.timedelta(days=1))
    move_commerce_rows(people["E"].pk, people["A"].pk)
    Contact.objects.filter(pk=people["A"].pk).update(first_name="A (merged)")
    kept, summed = _both("gt", 8000, 365, now)
    assert kept == summed == {"E"}


def test_a_build_later_than_the_rules_moment_is_not_used(shop):
    now, people = shop
    refresh_recent_sales(now=now)
    earlier = now - dt.timedelta(days=2)
    rule = {"field": "orders.total_spent", "op": "gt", "value": 100, "in_last": {"days": 365}}
    assert "commerce_recentsales" not in str(matching(rule, now=earlier).query)
    assert _spent("gt", 100, 365, earlier) == {"A", "B", "C"}


def test_a_new_build_replaces_the_last(shop):
    now, people = shop
    refresh_recent_sales(now=now - dt.timedelta(days=1))
    refresh_recent_sales(now=now + dt.timedelta(days=1))
    assert RecentSalesBuild.objects.count() == 1
    assert set(RecentSales.objects.values_list("contact__first_name", flat=True)) == {"A", "B"}
