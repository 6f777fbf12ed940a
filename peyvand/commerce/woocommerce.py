"""WooCommerce webhooks: verify, store as received, then process in the background.

Receiving never does the work: the raw body is stored as a WebhookDelivery first and a task
processes it after commit, so a slow or failing step never makes WooCommerce retry (and after
five failures disable) the webhook, and every failure stays visible and can be replayed.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import InvalidValue, normalise_email, normalise_phone
from peyvand.base.queue import enqueue_on_commit
from peyvand.commerce import actions
from peyvand.commerce.models import ShopSource, WebhookDelivery
from peyvand.commerce.money import parse_decimal
from peyvand.contacts.models import Identity
from peyvand.contacts.timeline import append_event

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
KEPT_HEADERS = ("X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
                "X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Source",
                "User-Agent", "Content-Type")
# WooCommerce's test request when a webhook is saved: unsigned, form-encoded, does nothing.
_PING = re.compile(rb"^webhook_id=\d+$")
_STATUSES = {"pending": "pending", "processing": "processing", "on-hold": "on_hold",
             "completed": "completed", "cancelled": "cancelled", "refunded": "refunded",
             "failed": "failed", "checkout-draft": "draft", "draft": "draft"}
_CHANNELS = {"checkout": "web", "store-api": "web", "admin": "manual", "rest-api": "api"}


class PayloadError(ValueError):
    """The shop sent something we cannot read; retrying the same bytes will not help."""


# --- receiving --------------------------------------------------------------------------------

def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_ping(body: bytes) -> bool:
    return bool(_PING.match(body.strip()))


def verify(source: ShopSource, body: bytes, signature: str) -> bool:
    return bool(signature) and hmac.compare_digest(sign(source.secret, body).encode(),
                                                   signature.strip().encode())


@dataclass
class Received:
    status: str  # "received" or "duplicate"
    delivery: WebhookDelivery


def receive(source: ShopSource, body: bytes, headers: Mapping[str, str]) -> Received:
    """Store a verified delivery and queue its processing; a known delivery id is a
    redelivery and is only acknowledged."""
    delivery_id = (headers.get("X-WC-Webhook-Delivery-ID") or "").strip()[:64]
    topic = (headers.get("X-WC-Webhook-Topic") or "").strip()[:64]
    if not topic and headers.get("X-WC-Webhook-Resource"):
        topic = f"{headers['X-WC-Webhook-Resource']}.{headers.get('X-WC-Webhook-Event', '')}"
    if delivery_id:
        known = WebhookDelivery.objects.filter(source=source, delivery_id=delivery_id).first()
        if known is not None:
            return Received("duplicate", known)
    kept = {name: headers[name][:300] for name in KEPT_HEADERS if headers.get(name)}
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                source=source, delivery_id=delivery_id, topic=topic[:64],
                payload=body.decode("utf-8", errors="replace"), headers=kept)
    except IntegrityError:  # the same delivery arriving twice at once
        return Received("duplicate",
                        WebhookDelivery.objects.get(source=source, delivery_id=delivery_id))
    from peyvand.commerce.tasks import process_delivery_task

    pk = delivery.pk
    enqueue_on_commit(process_delivery_task, pk)
    return Received("received", delivery)


# --- processing -------------------------------------------------------------------------------

def process_delivery(delivery_id: int) -> None:
    """Do what a stored delivery asks. A payload that cannot be read fails for good (until
    replayed); any other error fails it and is raised again so the task is retried."""
    delivery = WebhookDelivery.objects.select_related("source").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.PROCESSED:
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    try:
        with transaction.atomic():
            outcome, contact_id = handle(delivery)
    except Exception as exc:
        error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_error=error[:2000])
        if not isinstance(exc, ValueError):
            raise
        logger.warning("webhook delivery %s failed: %s", delivery.pk, error)
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PROCESSED, processed_at=timezone.now(), last_error="",
        outcome=outcome[:200], contact_id=contact_id)


def handle(delivery: WebhookDelivery) -> tuple[str, int | None]:
    """Apply one delivery; returns (what was done, the contact it concerned)."""
    source = delivery.source
    try:
        payload = json.loads(delivery.payload)
    except json.JSONDecodeError as exc:
        raise PayloadError(_("The payload is not JSON: %(error)s") % {"error": exc})
    if not isinstance(payload, dict):
        raise PayloadError(_("The payload is not a JSON object."))
    actor = Actor.system(source.source_key)
    resource, _dot, event = delivery.topic.partition(".")
    if resource == "order":
        if event == "deleted":
            # The payload is only the id: the deletion is as recent as its arrival.
            order = actions.do_mark_order_deleted(actor, source.source_key, _id(payload),
                                                  at=delivery.received_at)
            if order is None:
                return _("No such order; nothing to delete."), None
            return _("Order %(number)s deleted.") % {"number": order.display_number}, \
                order.contact_id
        if event in ("created", "updated", "restored"):
            raw = order_from_woo(payload, source)
            result = actions.do_upsert_order(actor, raw)
            order = result.order
            if result.stale:
                return _("Order %(number)s unchanged: this delivery is an older version "
                         "(%(version)s) than the one already applied (%(applied)s).") % {
                    "number": order.display_number, "version": raw["modified_at"],
                    "applied": order.source_modified_at}, order.contact_id
            if raw["currency"] != source.currency:  # product payloads carry no currency
                ShopSource.objects.filter(pk=source.pk).update(currency=raw["currency"])
            done = _("Order %(number)s created.") if result.created else \
                _("Order %(number)s updated.") if result.changed or result.new_refunds else \
                _("Order %(number)s unchanged.")
            return done % {"number": order.display_number}, order.contact_id
    elif resource == "customer":
        if event == "deleted":
            return _customer_deleted(actor, source, _id(payload))
        if event in ("created", "updated"):
            contact = actions.resolve_customer(actor, customer_from_woo(payload, source),
                                               rename=True)
            return _("Customer saved as contact #%(id)s.") % {"id": contact.pk}, contact.pk
    elif resource == "product":
        if event == "deleted":
            product = actions.do_deactivate_product(actor, source.source_key, _id(payload))
            return (_("Product %(sku)s deactivated.") % {"sku": product.sku} if product
                    else _("No such product; nothing to deactivate.")), None
        if event in ("created", "updated", "restored"):
            product, created = actions.do_upsert_product(actor, product_from_woo(payload, source))
            return (_("Product %(sku)s created.") if created else
                    _("Product %(sku)s updated.")) % {"sku": product.sku}, None
    return _("Topic “%(topic)s” is not used; ignored.") % {"topic": delivery.topic}, None


def _customer_deleted(actor: Actor, source: ShopSource, customer_id: str) -> tuple[str, Any]:
    # The person stays in the CRM (they may still buy, or hold consent); the timeline says so.
    identity = Identity.objects.filter(kind=Identity.Kind.EXTERNAL, source=source.source_key,
                                       value=customer_id).first()
    if identity is None:
        return _("No such customer; nothing to do."), None
    append_event(identity.contact_id, "shop.account_deleted", {"source": source.source_key,
                                                               "customer_id": customer_id},
                 actor=actor)
    return _("Customer account deletion noted on contact #%(id)s.") \
        % {"id": identity.contact_id}, identity.contact_id


# --- mapping WooCommerce JSON -----------------------------------------------------------------

def _id(payload: dict[str, Any]) -> str:
    value = payload.get("id")
    if value in (None, "", 0):
        raise PayloadError(_("The payload has no id."))
    return str(value)


def _utc(value: Any) -> dt.datetime | None:
    """WooCommerce's *_gmt fields are UTC without an offset."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(_("“%(value)s” is not a date and time.") % {"value": value})
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)


def _list(payload: dict[str, Any], name: str) -> list:
    value = payload.get(name) or []
    if not isinstance(value, list):
        raise PayloadError(_("“%(name)s” is not a list.") % {"name": name})
    return value


def _identities(person: dict[str, Any]) -> dict[str, Any]:
    """The person's e-mail and mobile when they are valid; shops collect landlines and
    typos, which must not stop the order from landing."""
    found: dict[str, Any] = {}
    for name, normalise in (("email", normalise_email), ("phone", normalise_phone)):
        with contextlib.suppress(InvalidValue):
            found[name] = normalise(person.get(name) or "")
    for name in ("first_name", "last_name"):
        if person.get(name):
            found[name] = person[name]
    return found


def customer_from_woo(payload: dict[str, Any], source: ShopSource) -> dict[str, Any]:
    billing = payload.get("billing") or {}
    if not isinstance(billing, dict):
        raise PayloadError(_("“billing” is not an object."))
    customer = _identities({**billing, **{k: payload[k] for k in
                                          ("email", "first_name", "last_name") if payload.get(k)}})
    if payload.get("id"):
        customer["external_ids"] = [{"source": source.source_key, "id": str(payload["id"])}]
    customer["source"] = source.source_key
    return customer


def order_from_woo(payload: dict[str, Any], source: ShopSource) -> dict[str, Any]:
    billing = payload.get("billing") or {}
    if not isinstance(billing, dict):
        raise PayloadError(_("“billing” is not an object."))
    currency = str(payload.get("currency") or "").strip().upper()
    if not currency:
        raise PayloadError(_("The order has no currency."))
    customer = _identities(billing)
    if payload.get("customer_id"):
        customer["external_ids"] = [{"source": source.source_key,
                                     "id": str(payload["customer_id"])}]
    if not any(customer.get(k) for k in ("email", "phone", "external_ids")):
        raise PayloadError(_("The order has no valid customer e-mail, mobile or account."))
    customer["source"] = source.source_key
    lines = []
    subtotal = Decimal(0)
    for item in _list(payload, "line_items"):
        if not isinstance(item, dict):
            raise PayloadError(_("A line item is not an object."))
        ref = [source.source_key, str(item.get("variation_id") or item.get("product_id"))] \
            if item.get("product_id") else None
        lines.append({"sku": item.get("sku") or "", "name": item.get("name") or "",
                      "quantity": item.get("quantity", 1), "unit_price": item.get("price"),
                      "line_total": item.get("total"), "product_ref": ref})
        subtotal += parse_decimal(item.get("subtotal") or item.get("total") or 0,
                                  "line_items.subtotal")
    status = payload.get("status") or "pending"
    raw: dict[str, Any] = {
        "source": source.source_key,
        "external_id": _id(payload),
        "number": str(payload.get("number") or payload["id"]),
        "placed_at": _utc(payload.get("date_created_gmt")) or _utc(payload.get("date_created")),
        "currency": currency,
        "subtotal": subtotal,
        "discount": payload.get("discount_total") or 0,
        "shipping": payload.get("shipping_total") or 0,
        "tax": payload.get("total_tax") or 0,
        "total": payload.get("total") or 0,
        "channel": _CHANNELS.get(payload.get("created_via") or "", payload.get("created_via")
                                 or "web"),
        "customer": customer,
        "lines": lines,
        "refunds": [{"id": r.get("id"), "amount": r.get("total"), "reason": r.get("reason")}
                    for r in _list(payload, "refunds") if isinstance(r, dict)],
        "deleted": status == "trash",
        # Which version this is: an older one arriving late must not roll the order back.
        "modified_at": _utc(payload.get("date_modified_gmt"))
        or _utc(payload.get("date_modified")),
    }
    if status != "trash":
        # Plugins add their own stages ("shipped", …): a paid order somewhere in between.
        raw["status"] = _STATUSES.get(status.removeprefix("wc-"), "processing")
    completed = _utc(payload.get("date_completed_gmt"))
    if raw.get("status") == "completed":
        raw["delivery"] = {"status": "delivered",
                           "delivered_at": timezone.localdate(completed) if completed else
                           timezone.localdate()}
    return raw


def product_from_woo(payload: dict[str, Any], source: ShopSource) -> dict[str, Any]:
    name = str(payload.get("name") or "")
    # WooCommerce has one name; it is Persian when it is written in Arabic script.
    persian = bool(re.search("[\u0600-\u06ff]", name))
    categories = [c.get("name") for c in _list(payload, "categories")
                  if isinstance(c, dict) and c.get("name")]
    raw: dict[str, Any] = {
        "sku": payload.get("sku") or "",
        "source": source.source_key,
        "external_id": _id(payload),
        "name_fa" if persian else "name_en": name,
        "category": categories[0] if categories else "",
        "active": payload.get("status", "publish") not in ("trash", "draft"),
    }
    price = payload.get("price") or payload.get("regular_price")
    if price not in (None, ""):
        raw["price"], raw["currency"] = price, source.currency
    return raw
