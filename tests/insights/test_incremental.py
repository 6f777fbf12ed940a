"""Metrics follow orders as they arrive: refresh_contact, the merge hook, the daily task."""

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.commerce.actions import do_upsert_order
from peyvand.contacts.actions import do_merge_contacts
from peyvand.insights import actions, tasks
from peyvand.insights.models import CustomerMetrics, RefreshRun
from tests.insights.conftest import bulk_orders, contact, order

pytestmark = pytest.mark.django_db


def shop(n: int = 40):
    today = timezone.localdate()
    people = [contact() for _ in range(n)]
    rows = []
    for i, p in enumerate(people):
        for k in range(1 + i % 4):
            rows.append((p.pk, today - dt.timedelta(days=20 + 37 * k + i), 100_000 * (1 + i)))
    bulk_orders(rows)
    return people


def test_refresh_contact_moves_one_row_with_the_stored_population(system):
    people = shop()
    actions.refresh_all(system)
    run = RefreshRun.objects.get()
    quiet = people[36]  # one order, 56 days ago
    before = CustomerMetrics.objects.get(contact=quiet)
    other_before = CustomerMetrics.objects.get(contact=people[5]).updated_at
    assert before.order_count == 1 and before.r_score < 5

    result = do_upsert_order(system, {"external_id": "new-1", "contact_id": quiet.pk,
                                      "currency": "IRR", "total": 5_000_000,
                                      "placed_at": timezone.now().isoformat()})
    assert actions.refresh_contact(quiet.pk) is True
    after = CustomerMetrics.objects.get(contact=quiet)
    assert after.order_count == 2 and after.recency_days == 0
    assert after.net_revenue == before.net_revenue + result.order.total
    assert after.r_score == 5 and after.m_score >= before.m_score
    assert after.ladder_stage == "client"
    # Nobody else was recomputed, and no new full refresh ran.
    assert CustomerMetrics.objects.get(contact=people[5]).updated_at == other_before
    assert RefreshRun.objects.get() == run


def test_before_any_full_refresh_nothing_is_written(system):
    c = contact()
    order(c.pk, timezone.localdate(), 100_000)
    assert actions.refresh_contact(c.pk) is False
    assert not CustomerMetrics.objects.exists() and not RefreshRun.objects.exists()


def test_orders_arriving_through_commerce_refresh_their_buyer(system,
                                                             django_capture_on_commit_callbacks):
    from peyvand.commerce import actions as commerce

    assert actions.on_order_changed in commerce.ORDER_CHANGED_HOOKS
    people = shop(10)
    actions.refresh_all(system)
    buyer = people[4]
    before = CustomerMetrics.objects.get(contact=buyer).order_count
    with django_capture_on_commit_callbacks(execute=True):
        do_upsert_order(system, {"external_id": "hooked-1", "contact_id": buyer.pk,
                                 "currency": "IRR", "total": 250_000})
    assert CustomerMetrics.objects.get(contact=buyer).order_count == before + 1


def test_merge_recomputes_the_survivor(system, django_capture_on_commit_callbacks):
    people = shop(10)
    actions.refresh_all(system)
    a, b = people[2], people[3]
    orders_a = CustomerMetrics.objects.get(contact=a).order_count
    orders_b = CustomerMetrics.objects.get(contact=b).order_count
    with django_capture_on_commit_callbacks(execute=True):
        do_merge_contacts(system, a, [b])
    assert not CustomerMetrics.objects.filter(contact_id=b.pk).exists()
    assert CustomerMetrics.objects.get(contact=a).order_count == orders_a + orders_b


def test_daily_task_is_scheduled_and_refreshes(system):
    shop(5)
    periodic = tasks.daily_refresh_task.task_class()
    assert periodic.validate_datetime(dt.datetime(2024, 5, 1, 3, 30)) is True
    assert periodic.validate_datetime(dt.datetime(2024, 5, 1, 4, 30)) is False
    tasks.daily_refresh_task.call_local()
    run = RefreshRun.objects.get()
    assert run.as_of == timezone.localdate() and run.actor_label == "insights"
    assert run.contacts == 5 and run.customers == 5
