import datetime as dt
import json

import pytest

from peyvand.commerce import woocommerce
from peyvand.commerce.actions import retry_delivery
from peyvand.commerce.models import Order, Product, WebhookDelivery
from peyvand.contacts.models import Contact, Identity, TimelineEvent

from .conftest import woo_order

pytestmark = pytest.mark.django_db


def test_signed_order_is_stored_and_processed(hook, shop):
    response = hook(woo_order())
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "processed" and delivery.attempts == 1
    assert delivery.topic == "order.created"
    order = Order.objects.get()
    assert (order.source, order.external_id, order.number) == ("woocommerce:myshop", "727",
                                                               "727")
    # IRT is toman: every amount arrives ×10 as rial.
    assert order.currency == "IRR"
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        12_500_000, 100_000, 500_000, 0, 12_900_000)
    assert order.placed_at == dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
    assert order.status == "processing" and order.channel == "web"
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.line_total) for ln in order.lines.all()] == [
        ("MUG-1", 2, 2_500_000, 5_000_000), ("TEE-1", 1, 7_400_000, 7_400_000)]
    contact = order.contact
    assert contact.first_name == "سارا" and contact.source == "woocommerce:myshop"
    assert set(contact.identities.values_list("kind", "source", "value")) == {
        ("email", "", "sara@example.com"), ("phone", "", "+989121234567"),
        ("external", "woocommerce:myshop", "12")}
    assert delivery.contact_id == contact.pk and "727" in delivery.outcome


def test_bad_signature_is_401_and_nothing_is_stored(hook):
    assert hook(woo_order(), signature="bm90IGl0").status_code == 401
    assert hook(woo_order(), signature="").status_code == 401
    assert hook(woo_order(), secret="someone-elses-secret").status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert not Order.objects.exists() and not Contact.objects.exists()


def test_unknown_or_paused_source_is_404(client, shop, system):
    from peyvand.commerce.actions import do_set_source_active

    assert client.post("/hooks/woocommerce/nope/", data=b"{}",
                       content_type="application/json").status_code == 404
    do_set_source_active(system, shop, False)
    assert client.post(shop.webhook_path(), data=b"webhook_id=1",
                       content_type="application/x-www-form-urlencoded").status_code == 404


def test_ping_is_accepted(client, shop):
    response = client.post(shop.webhook_path(), data=b"webhook_id=17",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json()["status"] == "ping"
    assert not WebhookDelivery.objects.exists()


def test_only_post(client, shop):
    assert client.get(shop.webhook_path()).status_code == 405


def test_redelivery_is_ignored(hook):
    first = hook(woo_order(), delivery_id="abc-1")
    second = hook(woo_order(), delivery_id="abc-1")
    assert first.json()["status"] == "received"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1 and Order.objects.count() == 1
    assert TimelineEvent.objects.filter(kind="order.placed").count() == 1


def test_created_then_updated_is_one_order(hook):
    hook(woo_order(), "order.created")
    hook(woo_order(status="completed", date_completed_gmt="2024-05-03T08:00:00"),
         "order.updated")
    order = Order.objects.get()
    assert order.status == "completed"
    assert order.delivery_status == "delivered" and order.delivered_at == dt.date(2024, 5, 3)
    assert TimelineEvent.objects.filter(kind="order.updated").count() == 1


def test_raw_payload_is_stored_before_processing(hook, monkeypatch):
    seen = {}
    real = woocommerce.handle

    def spy(delivery):
        row = WebhookDelivery.objects.get(pk=delivery.pk)
        seen.update(status=row.status, payload=row.payload, orders=Order.objects.count())
        return real(delivery)

    monkeypatch.setattr(woocommerce, "handle", spy)
    payload = woo_order()
    hook(payload)
    assert seen["status"] == "received" and seen["orders"] == 0
    assert json.loads(seen["payload"]) == payload
    assert WebhookDelivery.objects.get().status == "processed"


def test_malformed_payload_fails_visibly_and_replays_after_fixing(
        hook, system, django_capture_on_commit_callbacks):
    assert hook(None, raw=b'{"id": 727, "currency": ').status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "not JSON" in delivery.last_error
    assert delivery.attempts == 1 and not Order.objects.exists()

    # The payload is repaired (say, re-exported from the shop) and the delivery replayed.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=json.dumps(woo_order()))
    delivery.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_delivery(system, delivery) is True
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.last_error == ""
    assert delivery.attempts == 2 and Order.objects.count() == 1


def test_bad_customer_data_fails_with_its_reason(hook):
    hook(woo_order(billing={"email": "nobody", "phone": "123"}, customer_id=0))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "e-mail, mobile or account" in delivery.last_error
    assert not Contact.objects.exists()


def test_unexpected_error_fails_and_is_retried_then_succeeds(hook, shop, system, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    real = woocommerce.handle
    monkeypatch.setattr(woocommerce, "handle",
                        lambda d: (_ for _ in ()).throw(RuntimeError("database busy")))
    hook(woo_order())
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "RuntimeError: database busy" in delivery.last_error

    monkeypatch.setattr(woocommerce, "handle", real)
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_delivery(system, delivery) is True
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.attempts == 2
    assert Order.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_delivery(system, delivery) is False  # processed: nothing to do


def test_landline_is_dropped_not_fatal(hook):
    hook(woo_order(billing={"email": "a@example.com", "phone": "021-88776655"}))
    assert WebhookDelivery.objects.get().status == "processed"
    assert list(Identity.objects.filter(kind="phone")) == []


def test_refunds_in_order_payload(hook):
    refunded = woo_order(status="refunded",
                         refunds=[{"id": 801, "reason": "damaged", "total": "-100000.00"}])
    hook(woo_order())
    hook(refunded, "order.updated")
    hook(refunded, "order.updated")  # WooCommerce re-sends the whole order each time
    order = Order.objects.get()
    assert list(order.refunds.values_list("external_id", "amount", "reason")) == [
        ("801", 1_000_000, "damaged")]
    assert TimelineEvent.objects.filter(kind="order.refunded").count() == 1


def test_order_deleted_and_restored(hook):
    hook(woo_order())
    hook({"id": 727}, "order.deleted")
    assert Order.objects.get().deleted_at is not None
    hook(woo_order(), "order.restored")
    assert Order.objects.get().deleted_at is None
    hook({"id": 999}, "order.deleted")
    assert WebhookDelivery.objects.filter(status="processed").count() == 4


def test_trashed_status_marks_deleted(hook):
    hook(woo_order())
    hook(woo_order(status="trash"), "order.updated")
    order = Order.objects.get()
    assert order.deleted_at is not None and order.status == "processing"


def test_customer_topics(hook):
    customer = {"id": 12, "email": "Sara@Example.com", "first_name": "Sara",
                "last_name": "Ahmadi", "billing": {"phone": "09121234567"}}
    hook(customer, "customer.created")
    contact = Contact.objects.get()
    assert contact.first_name == "Sara"
    hook({**customer, "first_name": "Sarah"}, "customer.updated")
    contact.refresh_from_db()
    assert contact.first_name == "Sarah"  # the person changed their own profile
    hook(woo_order(), "order.created")  # matched through the same e-mail and shop id
    assert Contact.objects.count() == 1
    hook({"id": 12}, "customer.deleted")
    assert TimelineEvent.objects.filter(contact=contact, kind="shop.account_deleted").exists()
    assert Contact.objects.filter(pk=contact.pk).exists()  # the CRM keeps the person


def test_product_topics(hook, shop):
    product = {"id": 93, "name": "ماگ سرامیکی", "sku": "MUG-1", "price": "250000",
               "status": "publish", "categories": [{"id": 3, "name": "آشپزخانه"}]}
    hook(product, "product.created")
    saved = Product.objects.get()
    assert (saved.sku, saved.name_fa, saved.category, saved.price, saved.currency) == (
        "MUG-1", "ماگ سرامیکی", "آشپزخانه", 2_500_000, "IRR")
    hook({**product, "sku": "MUG-2"}, "product.updated")  # SKU changed at the shop
    assert Product.objects.get().sku == "MUG-2"
    hook({"id": 93}, "product.deleted")
    assert Product.objects.get().active is False
    hook({"id": 95, "name": "Poster", "price": "10"}, "product.created")  # no SKU
    assert Product.objects.get(external_id="95").sku == "woocommerce:myshop:95"


def test_unknown_topic_is_acknowledged(hook):
    hook({"id": 1}, "coupon.created")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "processed" and "ignored" in delivery.outcome


def test_signature_helper_matches_woocommerce():
    # base64(HMAC-SHA256(secret, body)), as WooCommerce's WC_Webhook::generate_signature.
    assert woocommerce.sign("secret", b'{"id":1}') == \
        "A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc="


def test_receiver_needs_no_csrf_token_or_session(shop, django_capture_on_commit_callbacks):
    from django.test import Client

    body = json.dumps(woo_order()).encode()
    client = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(shop.webhook_path(), data=body, content_type="application/json",
                               headers={"X-WC-Webhook-Topic": "order.created",
                                        "X-WC-Webhook-Delivery-ID": "x1",
                                        "X-WC-Webhook-Signature": woocommerce.sign(shop.secret,
                                                                                   body)})
    assert response.status_code == 200 and Order.objects.count() == 1
    assert "sessionid" not in response.cookies
