"""A replayed or out-of-order delivery never rolls an order back: each version carries the
time the shop last changed the order (WooCommerce date_modified), and one older than the
version applied changes nothing."""

from __future__ import annotations

import pytest

from peyvand.commerce.models import Order, WebhookDelivery
from peyvand.contacts.models import TimelineEvent

from .conftest import post_json, woo_order

pytestmark = pytest.mark.django_db

T1, T2, T3 = "2024-05-01T10:00:00", "2024-05-02T09:00:00", "2024-05-03T08:00:00"


def version(modified: str, **changes):
    return woo_order(date_modified_gmt=modified, date_modified=modified, **changes)


def state():
    order = Order.objects.get()
    return (order.status, order.total, order.deleted_at is not None,
            list(order.refunds.values_list("external_id", "amount")),
            list(order.lines.values_list("sku", "quantity")))


def test_an_older_version_arriving_late_changes_nothing(hook):
    hook(version(T2, status="completed", total="1300000.00"), "order.updated")
    newest = state()
    events = TimelineEvent.objects.count()
    response = hook(version(T1), "order.created")  # sent first, delivered last
    assert response.status_code == 200
    assert state() == newest and newest[0] == "completed"
    assert TimelineEvent.objects.count() == events
    late = WebhookDelivery.objects.order_by("pk").last()
    assert late.status == "processed" and "older version" in late.outcome
    assert Order.objects.get().source_modified_at.isoformat().startswith("2024-05-02T09:00")


def test_newer_versions_apply_in_order(hook):
    hook(version(T1), "order.created")
    hook(version(T2, status="completed"), "order.updated")
    assert state()[0] == "completed"
    hook(version(T3, status="refunded", refunds=[{"id": 5, "total": "-10.00"}]),
         "order.updated")
    assert state()[0] == "refunded" and state()[3] == [("5", 100)]


def test_a_replay_of_the_same_version_changes_nothing(hook):
    hook(version(T2, status="completed"), "order.updated", delivery_id="a")
    before, events = state(), TimelineEvent.objects.count()
    hook(version(T2, status="completed"), "order.updated", delivery_id="b")
    assert state() == before and TimelineEvent.objects.count() == events


def test_an_old_version_does_not_take_refunds_or_lines_back(hook):
    hook(version(T2, refunds=[{"id": 801, "total": "-100000.00"}],
                 line_items=[{"id": 1, "name": "ماگ", "product_id": 93, "quantity": 3,
                              "subtotal": "750000.00", "total": "750000.00", "sku": "MUG-1",
                              "price": 250000}]), "order.updated")
    newest = state()
    hook(version(T1), "order.updated")
    assert state() == newest and newest[3] == [("801", 1_000_000)]


def test_an_old_version_does_not_undelete(hook):
    hook(version(T2, status="trash"), "order.updated")
    hook(version(T1), "order.updated")
    assert state()[2] is True


def test_a_delivery_made_before_the_order_was_deleted_does_not_restore_it(hook):
    hook(version(T1), "order.created")
    hook({"id": 727}, "order.deleted")
    hook(version(T2, status="completed"), "order.updated")  # a retry of an old delivery
    assert state()[2] is True and state()[0] == "processing"


def test_the_api_takes_modified_at_too(api):
    payload = {"external_id": "A-1", "currency": "IRT", "total": "1000",
               "customer": {"email": "a@example.com"}, "status": "completed",
               "modified_at": "2024-05-02T09:00:00Z"}
    assert post_json(api, "/api/v1/orders", payload).status_code == 201
    older = post_json(api, "/api/v1/orders", {**payload, "status": "pending", "total": "5",
                                              "modified_at": "2024-05-01T09:00:00Z"})
    body = older.json()
    assert older.status_code == 200 and body["stale"] is True and body["changed"] == []
    assert (body["status"], body["total"]) == ("completed", 10000)
    newer = post_json(api, "/api/v1/orders", {**payload, "status": "cancelled",
                                              "modified_at": "2024-05-03T09:00:00Z"}).json()
    assert newer["stale"] is False and newer["status"] == "cancelled"
