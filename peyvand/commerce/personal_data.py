"""What commerce holds about a person: its part of the subject-access export, and erasure.

Registered in contacts' hooks from CommerceConfig.ready. Orders and carts stay after an
erasure (their owner is an anonymous row): order totals and counts are the shop's statistics.
What the shop sent us about the person goes: raw webhook payloads and headers, errors and
outcomes quoting them, refund reasons (free text).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peyvand.base.scrub import Needles, blank_columns, stored_text_filter
from peyvand.commerce.models import Cart, Order, Refund, WebhookDelivery
from peyvand.commerce.queries import with_refunded

# WebhookDelivery columns an erasure keeps: when and how a delivery was handled.
DELIVERY_KEPT = ("source", "delivery_id", "topic", "received_at", "status", "attempts",
                 "processed_at", "contact")
ORDER_FIELDS = ("id", "source", "external_id", "number", "placed_at", "status", "channel",
                "currency", "subtotal", "discount", "shipping", "tax", "total", "refunded",
                "delivery_status", "promised_at", "delivered_at", "deleted_at")
LINE_FIELDS = ("sku", "name", "quantity", "unit_price", "line_total")
CART_FIELDS = ("id", "source", "external_id", "status", "currency", "total", "created_at",
               "updated_at", "abandoned_at")


def _values(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def export_sections(contact_id: int) -> dict[str, Any]:
    """Orders (with lines and refunds) and carts (with lines); money in minor units of each
    row's currency (rial for Iranian currencies)."""
    orders = (with_refunded(Order.objects.filter(contact_id=contact_id))
              .prefetch_related("lines", "refunds__lines").order_by("placed_at", "id"))
    carts = (Cart.objects.filter(contact_id=contact_id).select_related("converted_order")
             .prefetch_related("lines").order_by("updated_at", "id"))
    return {
        "orders": [{
            **_values(o, ORDER_FIELDS),
            "lines": [_values(line, LINE_FIELDS) for line in o.lines.all()],
            "refunds": [{"amount": r.amount, "reason": r.reason, "at": r.at,
                         "lines": [{"sku": rl.sku, "quantity": rl.quantity,
                                    "amount": rl.amount} for rl in r.lines.all()]}
                        for r in o.refunds.all()],
        } for o in orders],
        "carts": [{
            **_values(c, CART_FIELDS),
            "converted_order": c.converted_order.display_number if c.converted_order else None,
            "lines": [_values(line, LINE_FIELDS) for line in c.lines.all()],
        } for c in carts],
    }


def erase(contact_id: int) -> dict[str, int]:
    """contacts erase hook: what the shop sent about the person; orders stay as numbers."""
    payloads = blank_columns(WebhookDelivery.objects.filter(contact_id=contact_id),
                             DELIVERY_KEPT)
    reasons = Refund.objects.filter(order__contact_id=contact_id).exclude(reason="") \
        .update(reason="")
    return {"shop_payloads": payloads, "refund_reasons": reasons}


def erase_copies(needles: Needles, since: dt.datetime | None = None) -> dict[str, int]:
    """contacts erase-copies hook: deliveries never tied to a contact (one that failed before
    its customer was known) that name the person."""
    unlinked = WebhookDelivery.objects.filter(contact__isnull=True)
    if since:
        unlinked = unlinked.filter(received_at__gte=since)
    found = set(unlinked.filter(stored_text_filter(needles, "payload")
                                | stored_text_filter(needles, "last_error")
                                | stored_text_filter(needles, "outcome"))
                .values_list("pk", flat=True))
    # A mobile as the shop's form took it (spaced, Persian digits) only shows once folded;
    # product deliveries never name a customer.
    for pk, payload in unlinked.exclude(pk__in=found).exclude(topic__startswith="product.") \
            .values_list("pk", "payload").iterator():
        if needles.found_in(payload):
            found.add(pk)
    count = blank_columns(WebhookDelivery.objects.filter(pk__in=found), DELIVERY_KEPT)
    return {"shop_payloads": count}
