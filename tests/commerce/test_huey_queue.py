"""The webhook path through a real Huey queue: enqueued after commit, retried with a delay."""

import contextlib
import json
import signal
import threading
import uuid

import pytest
from django.db import connections
from django.test import Client
from huey import signals as S
from huey.contrib.djhuey import HUEY

from peyvand.commerce import woocommerce
from peyvand.commerce.models import Order, WebhookDelivery

from .conftest import woo_order

pytestmark = [pytest.mark.huey, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def real_queue():
    """Immediate mode off, on a queue of our own so a running `peyvand up` is not touched."""
    saved = HUEY._immediate, HUEY.name, HUEY.storage
    HUEY._immediate = False
    HUEY.name = f"{saved[1]}-test-{uuid.uuid4().hex[:8]}"
    HUEY.storage = HUEY.create_storage()
    try:
        yield HUEY
    finally:
        HUEY.storage.flush_all()
        HUEY._immediate, HUEY.name, HUEY.storage = saved


@contextlib.contextmanager
def consumer_thread(huey):
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False,
                                    initial_delay=0.05, check_worker_health=False)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)


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
