import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from peyvand.commerce.actions import do_add_refund, do_upsert_order
from peyvand.commerce.models import Cart, Order, WebhookDelivery
from peyvand.commerce.queries import purchase_summary
from peyvand.contacts.actions import do_erase_contact, do_merge_contacts, do_upsert_contact
from peyvand.contacts.timeline import timeline_for

pytestmark = pytest.mark.django_db


def place(actor, external_id, total, *, status="completed", email="buyer@example.com",
          placed_at="2024-05-01T10:00:00Z", currency="IRR", **extra):
    return do_upsert_order(actor, {
        "source": "api", "external_id": external_id, "currency": currency, "total": total,
        "status": status, "placed_at": placed_at, "customer": {"email": email}, **extra,
    }).order


def test_timeline_tells_placed_updated_refunded(system):
    order = place(system, "T1", "1,000,000", number="N-1")
    place(system, "T1", "1,000,000", number="N-1", status="refunded")
    do_add_refund(system, order, {"amount": "400000", "reason": "late"})
    events = list(timeline_for(order.contact_id, kinds=["order.placed", "order.updated",
                                                         "order.refunded"]))
    assert [e.kind for e in events] == ["order.refunded", "order.updated", "order.placed"]
    placed = events[-1]
    assert placed.at == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert placed.data["number"] == "N-1" and placed.data["total"] == 1_000_000
    assert placed.data["currency"] == "IRR" and placed.actor_label == "test"
    assert events[1].data["changed"] == ["status"]
    assert events[0].data["amount"] == 400_000 and events[0].data["reason"] == "late"


def test_purchase_summary_numbers(system):
    first = place(system, "S1", "1,000,000", placed_at="2024-01-10T08:00:00Z")
    place(system, "S2", "2,500,000", placed_at="2024-03-05T08:00:00Z")
    place(system, "S3", "9,000,000", status="cancelled", placed_at="2024-06-01T08:00:00Z")
    place(system, "S4", "7,000,000", status="failed", placed_at="2024-06-02T08:00:00Z")
    deleted = place(system, "S5", "5,000,000", placed_at="2024-06-03T08:00:00Z")
    deleted.deleted_at = dt.datetime(2024, 6, 4, tzinfo=dt.UTC)
    deleted.save()
    do_add_refund(system, first, {"amount": "300,000"})
    place(system, "X1", "50", email="someone-else@example.com")

    summary = purchase_summary(first.contact_id)
    assert summary["orders"] == 2
    assert summary["net_revenue"] == 1_000_000 + 2_500_000 - 300_000
    assert summary["currency"] == "IRR"
    assert summary["first_order_at"] == dt.datetime(2024, 1, 10, 8, tzinfo=dt.UTC)
    assert summary["last_order_at"] == dt.datetime(2024, 3, 5, 8, tzinfo=dt.UTC)


def test_purchase_summary_with_no_orders_and_several_currencies(system, owner_actor):
    nobody = do_upsert_contact(owner_actor, {"email": "n@example.com"}).contact
    assert purchase_summary(nobody.pk) == {"orders": 0, "net_revenue": 0, "currency": None,
                                           "first_order_at": None, "last_order_at": None,
                                           "by_currency": {}}
    place(system, "C1", "10", currency="USD")
    place(system, "C2", "20", currency="USD")
    order = place(system, "C3", "100000", currency="IRT")
    summary = purchase_summary(order.contact_id)
    assert summary["currency"] == "USD" and summary["net_revenue"] == 3000
    assert summary["by_currency"] == {"USD": 3000, "IRR": 1_000_000}


def test_purchase_summary_template(system):
    order = place(system, "P1", "1,250,000")
    html = Template("{% load commerce %}{% purchase_summary cid %}")
    with translation.override("fa"):
        text = html.render(Context({"cid": order.contact_id}))
    assert "۱۲۵٬۰۰۰ تومان" in text and 'id="purchase-summary"' in text
    with translation.override("en"):
        text = html.render(Context({"cid": order.contact_id}))
    assert "IRT 125,000" in text


def test_merge_moves_orders_and_carts(system, owner_actor):
    from peyvand.commerce.actions import do_upsert_cart

    keep = place(system, "M1", "100").contact
    other_order = place(system, "M2", "200", email="second@example.com")
    other = other_order.contact
    cart, _created = do_upsert_cart(system, {"external_id": "cart-1", "currency": "IRR",
                                             "contact_id": other.pk,
                                             "lines": [{"sku": "A", "unit_price": "5"}]})
    do_merge_contacts(owner_actor, keep, [other])
    assert set(Order.objects.values_list("contact_id", flat=True)) == {keep.pk}
    assert Cart.objects.get(pk=cart.pk).contact_id == keep.pk
    assert purchase_summary(keep.pk)["orders"] == 2
    assert purchase_summary(keep.pk)["net_revenue"] == 300


def test_upsert_merging_contacts_keeps_their_orders(system):
    # An order naming two contacts' identities makes them one; orders follow.
    a = place(system, "U1", "100", email="a@example.com")
    b = do_upsert_order(system, {"source": "api", "external_id": "U2", "currency": "IRR",
                                 "total": "5", "customer": {"phone": "09120000001"}}).order
    place(system, "U3", "1", customer={"email": "a@example.com", "phone": "09120000001"})
    assert Order.objects.filter(contact_id=a.contact_id).count() == 3
    assert not Order.objects.filter(contact_id=b.contact_id).exclude(
        contact_id=a.contact_id).exists()


def test_erase_forgets_raw_payloads_but_keeps_order_numbers(hook, owner_actor):
    from .conftest import woo_order

    hook(woo_order())
    order = Order.objects.get()
    do_erase_contact(owner_actor, order.contact)
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload == "" and delivery.headers == {}
    assert Order.objects.get().total == 12_900_000


def test_timeline_summary_filter(system):
    from peyvand.commerce.templatetags.commerce import commerce_event_summary

    order = place(system, "F1", "1,250,000", number="727")
    do_add_refund(system, order, {"amount": "250000"})
    placed, refunded = (timeline_for(order.contact_id, kinds=[k]).get()
                        for k in ("order.placed", "order.refunded"))
    with translation.override("en"):
        assert commerce_event_summary(placed) == "#727 · IRT 125,000"
        assert commerce_event_summary(refunded) == "#727 · IRT 25,000 refunded"
    with translation.override("fa"):
        assert commerce_event_summary(placed) == "#۷۲۷ · ۱۲۵٬۰۰۰ تومان"
