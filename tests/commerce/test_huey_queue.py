"""The webhook path through a real Huey queue: enqueued after commit, retried with a delay."""

import json
import threading

import pytest
from django.db import connections
from django.test import Client
from huey import signals as S

from peyvand.commerce import woocommerce
from peyvand.commerce.models import Order, WebhookDelivery
from tests.huey_helpers import consumer_thread, real_queue

from .conftest import woo_order

pytestmark = [pytest.mark.huey, pytest.mark.django_db(transaction=True)]


def _post(shop, payload, delivery_id):
    body = json.dumps(payload).encode()
    return Client().post(shop.webhook_path(), data=body, content_type="application/json",
                         headers={"X-WC-Webhook-Topic": "order.created",
                                  "X-WC-Webhook-Delivery-ID": delivery_id,
                                  "X-WC-Webhook-Signature": woocommerce.sign(shop.secret, body)})


def test_delivery_is_processed_by_a_consumer_and_retried_later(shop, monkeypatch):
    done = threading.Event()

    def on_done(signal_name, task, *args):
        connections.close_all()
        done.set()

    with real_queue() as huey:
        huey.signal(S.SIGNAL_COMPLETE, S.SIGNAL_RETRYING)(on_done)
        try:
            assert _post(shop, woo_order(), "q1").json()["status"] == "received"
            assert huey.pending_count() == 1  # enqueued once the request committed
            assert WebhookDelivery.objects.get().status == "received"
            with consumer_thread(huey):
                assert done.wait(60), "the consumer did not process the delivery"
            assert Order.objects.count() == 1
            assert WebhookDelivery.objects.get().status == "processed"

            done.clear()
            monkeypatch.setattr(woocommerce, "handle",
                                lambda d: (_ for _ in ()).throw(RuntimeError("busy")))
            _post(shop, woo_order(id=728), "q2")
            with consumer_thread(huey):
                assert done.wait(60), "the consumer did not run the failing delivery"
            # Failed now, and back in the schedule (a minute from now) to be tried again.
            assert WebhookDelivery.objects.get(delivery_id="q2").status == "failed"
            assert huey.scheduled_count() == 1
        finally:
            huey.disconnect_signal(on_done)
