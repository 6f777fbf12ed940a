import datetime as dt

import pytest
from django.utils import timezone

from peyvand.commerce.actions import (
    do_upsert_cart,
    do_upsert_order,
    mark_abandoned_carts,
    refresh_late_deliveries,
)
from peyvand.commerce.models import Cart, Order
from peyvand.contacts.models import TimelineEvent

from .conftest import post_json

pytestmark = pytest.mark.django_db


def cart_payload(**overrides):
    payload = {"external_id": "c-1", "currency": "IRT", "customer": {"email": "c@example.com"},
               "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "100000"}]}
    payload.update(overrides)
    return payload


def test_cart_lifecycle(system):
    cart, created = do_upsert_cart(system, cart_payload(updated_at="2024-05-01T10:00:00Z"))
    assert created and cart.status == "open" and cart.total == 2_000_000
    assert list(cart.lines.values_list("sku", "quantity")) == [("MUG-1", 2)]

    now = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert mark_abandoned_carts(dt.timedelta(hours=1), now=now) == 1
    cart.refresh_from_db()
    assert cart.status == "abandoned" and cart.abandoned_at == now
    event = TimelineEvent.objects.get(kind="cart.abandoned")
    assert event.contact_id == cart.contact_id and event.data["total"] == 2_000_000
    assert mark_abandoned_carts(dt.timedelta(hours=1), now=now) == 0

    cart, created = do_upsert_cart(system, cart_payload(
        lines=[{"sku": "MUG-1", "quantity": 3, "unit_price": "100000"}]))
    assert not created and cart.status == "open" and cart.total == 3_000_000  # came back

    order = do_upsert_order(system, {"external_id": "o-1", "currency": "IRT", "total": "300000",
                                     "customer": {"email": "c@example.com"},
                                     "cart_id": "c-1"}).order
    cart.refresh_from_db()
    assert cart.status == "converted" and cart.converted_order == order


def test_cart_api(api):
    response = post_json(api, "/api/v1/carts", cart_payload())
    assert response.status_code == 201 and response.json()["total"] == 2_000_000
    assert post_json(api, "/api/v1/carts", cart_payload()).status_code == 200
    assert Cart.objects.count() == 1
    bad = post_json(api, "/api/v1/carts", cart_payload(external_id="", currency=""))
    assert bad.status_code == 400 and {"external_id", "currency"} <= set(bad.json()["errors"])


def test_late_deliveries_become_late_once(system):
    today = timezone.localdate()
    order = do_upsert_order(system, {
        "external_id": "d-1", "currency": "IRR", "total": "10", "status": "processing",
        "customer": {"email": "d@example.com"},
        "delivery": {"promised_at": (today + dt.timedelta(days=2)).isoformat()}}).order
    assert order.delivery_status == "on_time"
    assert refresh_late_deliveries(today) == 0
    assert refresh_late_deliveries(today + dt.timedelta(days=3)) == 1
    order.refresh_from_db()
    assert order.delivery_status == "late"
    assert TimelineEvent.objects.filter(kind="order.late", contact=order.contact).count() == 1
    assert refresh_late_deliveries(today + dt.timedelta(days=4)) == 0


def test_delivered_and_cancelled_orders_are_never_late(system):
    today = timezone.localdate()
    past = (today - dt.timedelta(days=5)).isoformat()
    for i, extra in enumerate([{"delivery": {"promised_at": past, "delivered_at": past}},
                               {"status": "cancelled",
                                "delivery": {"promised_at": past, "status": "pending"}}]):
        do_upsert_order(system, {"external_id": f"n-{i}", "currency": "IRR", "total": "1",
                                 "customer": {"email": "n@example.com"}, **extra})
    assert refresh_late_deliveries(today) == 0
    assert set(Order.objects.values_list("delivery_status", flat=True)) == {"delivered",
                                                                          "pending"}
