"""Per-contact metrics: commerce's definition of revenue, as-of cut, engagement, costs."""

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.commerce.models import Product, RefundLine
from peyvand.commerce.queries import purchase_summary
from peyvand.contacts.timeline import append_event
from peyvand.insights import actions
from peyvand.insights.models import CustomerMetrics, InsightSettings
from tests.insights.conftest import at, contact, order, refund

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 6, 30)


def metrics(c) -> CustomerMetrics:
    return CustomerMetrics.objects.get(contact=c)


def test_revenue_orders_and_dates_follow_commerce(system):
    sara = contact()
    a = order(sara.pk, dt.date(2024, 1, 10), 1_000_000)
    order(sara.pk, dt.date(2024, 1, 10), 500_000, hour=18)  # same day: one purchase
    order(sara.pk, dt.date(2024, 3, 1), 300_000)
    order(sara.pk, dt.date(2024, 3, 2), 900_000, status="cancelled")
    order(sara.pk, dt.date(2024, 3, 3), 900_000, status="failed")
    order(sara.pk, dt.date(2024, 3, 4), 900_000, deleted=True)
    refund(a, 200_000, dt.date(2024, 2, 1))
    nobody = contact()
    actions.refresh_all(system, DAY)

    m = metrics(sara)
    summary = purchase_summary(sara.pk)
    assert m.order_count == summary["orders"] == 3
    assert m.net_revenue == summary["net_revenue"] == 1_600_000
    assert m.refunded == 200_000 and m.currency == "IRR"
    assert m.avg_order_value == round(1_600_000 / 3)
    assert m.first_order_at == summary["first_order_at"]
    assert m.last_order_at == summary["last_order_at"]
    assert m.purchase_days == 2 and m.frequency == 1
    assert m.recency_days == (DAY - dt.date(2024, 3, 1)).days
    assert m.tenure_days == (DAY - dt.date(2024, 1, 10)).days
    assert m.as_of == DAY
    empty = metrics(nobody)
    assert (empty.order_count, empty.net_revenue, empty.r_score, empty.rfm_segment) == \
        (0, 0, 0, "")
    assert empty.recency_days is None and empty.ladder_stage == "suspect"


def test_as_of_ignores_later_orders_refunds_and_events(system):
    ali = contact()
    first = order(ali.pk, dt.date(2024, 1, 5), 400_000)
    order(ali.pk, dt.date(2024, 5, 1), 700_000)
    refund(first, 100_000, dt.date(2024, 4, 20))
    append_event(ali.pk, "site.visit", at=at(dt.date(2024, 4, 25)))

    actions.refresh_all(system, "2024-03-31")
    m = metrics(ali)
    assert (m.order_count, m.net_revenue, m.refunded) == (1, 400_000, 0)
    assert m.engagement_score == 0 and m.as_of == dt.date(2024, 3, 31)

    actions.refresh_all(system, "1403/02/12")  # Jalali: 2024-05-01, the day of the 2nd order
    m = metrics(ali)
    assert (m.order_count, m.net_revenue, m.refunded) == (2, 1_000_000, 100_000)
    assert m.recency_days == 0 and m.engagement_score > 0


def test_future_as_of_is_refused(system):
    from peyvand.base.normalise import InvalidValue

    with pytest.raises(InvalidValue):
        actions.refresh_all(system, timezone.localdate() + dt.timedelta(days=1))


def test_main_currency_is_the_one_most_orders_are_in(system):
    c = contact()
    order(c.pk, dt.date(2024, 1, 1), 5000, currency="USD")
    order(c.pk, dt.date(2024, 2, 1), 300_000)
    order(c.pk, dt.date(2024, 3, 1), 200_000)
    actions.refresh_all(system, DAY)
    m = metrics(c)
    assert m.currency == "IRR" and m.net_revenue == 500_000 == purchase_summary(c.pk)[
        "net_revenue"]
    assert m.order_count == 3 and m.purchase_days == 3
    assert m.first_order_at == at(dt.date(2024, 1, 1))  # earliest in any currency
    assert m.last_order_at == at(dt.date(2024, 3, 1))


def test_engagement_is_zero_without_events_and_recency_weighted_with_them(system):
    quiet, keen, old = contact(), contact(), contact()
    append_event(keen.pk, "message.opened", at=at(DAY))
    append_event(keen.pk, "message.clicked", at=at(DAY))
    append_event(old.pk, "message.opened", at=at(DAY - dt.timedelta(days=30)))
    append_event(old.pk, "note.added", at=at(DAY))  # not an engagement kind
    actions.refresh_all(system, DAY)
    assert metrics(quiet).engagement_score == 0
    assert metrics(keen).engagement_score == pytest.approx(3.0)  # open 1 + click 2, today
    assert metrics(old).engagement_score == pytest.approx(0.5)  # one half-life ago
    assert metrics(keen).ladder_stage == "prospect"


def test_contribution_counts_product_cost_returns_tickets_and_orders(system):
    s = InsightSettings.objects.get_or_create(pk=1)[0]
    s.cost_per_order, s.cost_per_return, s.cost_per_ticket = 10_000, 50_000, 30_000
    s.save()
    mug = Product.objects.create(sku="MUG", name_en="Mug", price=100_000, cost=60_000)
    c = contact()
    o = order(c.pk, dt.date(2024, 2, 1), 200_000, lines=[(mug, 2)])
    r = refund(o, 100_000, dt.date(2024, 2, 10))
    RefundLine.objects.create(refund=r, sku="MUG", quantity=1, amount=100_000)
    append_event(c.pk, "ticket.opened", at=at(dt.date(2024, 2, 11)))
    costly = contact()
    append_event(costly.pk, "ticket.opened", at=at(dt.date(2024, 2, 11)))
    actions.refresh_all(system, DAY)
    m = metrics(c)
    assert (m.returns, m.tickets, m.product_cost) == (1, 1, 120_000)
    assert m.contribution == 200_000 - 100_000 - 120_000 - 10_000 - 50_000 - 30_000
    assert m.value_tier == "below_zero"
    assert metrics(costly).value_tier == "below_zero"  # a ticket and no order


def test_full_refresh_is_set_based(system, django_assert_max_num_queries):
    """The number of queries does not grow with contacts or orders."""
    from tests.insights.conftest import bulk_orders

    def grow(n: int) -> None:
        people = [contact() for _ in range(n)]
        bulk_orders([(p.pk, dt.date(2024, 1, 1) + dt.timedelta(days=i % 90), 10_000 + i)
                     for i, p in enumerate(people * 3)])

    grow(5)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        actions.refresh_all(system, DAY)
    grow(60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        actions.refresh_all(system, DAY)
    assert CustomerMetrics.objects.count() == 65


@pytest.mark.parametrize("dense", [True, False])
def test_main_category_and_product_cost_from_the_lines_of_sales(system, monkeypatch, dense):
    from peyvand.insights import metrics as metrics_module

    if not dense:  # the merging tally a shop with many categories gets
        monkeypatch.setattr(metrics_module._Tally, "DENSE", 0)
    cup = Product.objects.create(sku="CUP", category="kitchen", price=10, cost=4)
    pan = Product.objects.create(sku="PAN", category="kitchen", price=10, cost=None)
    book = Product.objects.create(sku="BOOK", category="books", price=10, cost=3)
    loose = Product.objects.create(sku="LOOSE", category="", price=10, cost=1)
    tie, named, late = contact(), contact(), contact()
    order(tie.pk, dt.date(2024, 1, 1), lines=[(cup, 2), (book, 1)])
    order(tie.pk, dt.date(2024, 1, 2), lines=[(pan, 1), (book, 5)])  # 2 lines each: by name
    order(named.pk, dt.date(2024, 1, 1), lines=[(loose, 1), (loose, 1), (cup, 1)])
    order(named.pk, dt.date(2024, 1, 3), lines=[(book, 9)] * 3, status="cancelled")
    order(late.pk, dt.date(2024, 1, 1), lines=[(loose, 1)])
    order(late.pk, dt.date(2024, 7, 1), lines=[(book, 1)])  # after the as-of day
    actions.refresh_all(system, DAY)
    assert (metrics(tie).main_category, metrics(tie).product_cost) == ("books", 2 * 4 + 6 * 3)
    assert (metrics(named).main_category, metrics(named).product_cost) == ("kitchen", 2 + 4)
    assert (metrics(late).main_category, metrics(late).product_cost) == ("", 1)
