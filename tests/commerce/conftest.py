from __future__ import annotations

import json

import pytest
from django.test import Client

from peyvand.commerce.actions import do_create_source
from peyvand.commerce.woocommerce import sign

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Webhooks arrive without a user: they speak the site language. These tests read English.
    settings.LANGUAGE_CODE = "en"
    # Every test makes users; the real hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def post_json(client: Client, url: str, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def shop(system):
    return do_create_source(system, "woocommerce", "myshop", "IRT")


def woo_order(**overrides):
    """A WooCommerce REST v3 order as its webhooks send it, in toman."""
    order = {
        "id": 727, "number": "727", "status": "processing", "currency": "IRT",
        "created_via": "checkout",
        "date_created": "2024-05-01T13:30:00", "date_created_gmt": "2024-05-01T10:00:00",
        "date_completed_gmt": None,
        "discount_total": "10000.00", "shipping_total": "50000.00", "total_tax": "0.00",
        "total": "1290000.00", "customer_id": 12,
        "billing": {"first_name": "سارا", "last_name": "احمدی", "email": "Sara@Example.com",
                    "phone": "۰۹۱۲۱۲۳۴۵۶۷", "city": "تهران"},
        "line_items": [
            {"id": 1, "name": "ماگ", "product_id": 93, "variation_id": 0, "quantity": 2,
             "subtotal": "500000.00", "total": "500000.00", "sku": "MUG-1", "price": 250000},
            {"id": 2, "name": "تی‌شرت", "product_id": 94, "variation_id": 0, "quantity": 1,
             "subtotal": "750000.00", "total": "740000.00", "sku": "TEE-1", "price": 740000},
        ],
        "refunds": [],
    }
    order.update(overrides)
    return order


@pytest.fixture
def hook(client, shop, django_capture_on_commit_callbacks):
    """POST a signed webhook to the shop's URL, running what is queued on commit."""
    counter = iter(range(1, 10_000))

    def send(payload, topic="order.created", delivery_id=None, *, secret=None, raw=None,
             signature=None):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Delivery-ID": str(delivery_id or f"d{next(counter)}"),
            "X-WC-Webhook-Signature": signature if signature is not None
            else sign(secret or shop.secret, body),
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(shop.webhook_path(), data=body, content_type="application/json",
                               headers=headers)

    return send
