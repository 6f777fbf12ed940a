"""Carts: upserted from a shop, marked abandoned when idle."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import (
    CommerceInvalid,
    Errors,
    check_customer,
    check_identities,
    check_lines,
    choice_of,
    clean_key,
    clean_text,
    parse_when,
    product_for,
    products_for,
    resolve_customer,
)
from peyvand.commerce.hooks import CART_ABANDONED_HOOKS
from peyvand.commerce.models import Cart, CartLine
from peyvand.commerce.money import currency_code, stored_currency
from peyvand.contacts.timeline import append_event

# --- carts ------------------------------------------------------------------------------------

@transaction.atomic
def do_upsert_cart(actor: Actor, raw: dict[str, Any]) -> tuple[Cart, bool]:
    """Create or replace a shopper's cart (source, external_id); returns (cart, created)."""
    require(actor, "commerce.edit")
    errors = Errors()
    source = clean_text(raw.get("source") or "api", 64)
    external_id = clean_key(raw.get("external_id"))[:100]
    if not external_id:
        errors["external_id"] = _("The cart's id in its source is required.")
    customer, contact_id = check_customer(errors, raw)
    check_identities(errors, customer, contact_id)
    currency = errors.attempt("currency", currency_code, raw.get("currency"))
    lines = check_lines(errors, raw.get("lines") or [], currency)
    updated = errors.attempt("updated_at", parse_when, raw.get("updated_at"), "updated_at")
    status = errors.attempt("status", choice_of, raw.get("status"), Cart.Status, "status")
    errors.raise_any()
    assert currency is not None
    contact = resolve_customer(actor, customer, contact_id) if (customer or contact_id) \
        else None
    cart = Cart.objects.select_for_update().filter(source=source, external_id=external_id) \
        .first()
    values = {"currency": stored_currency(currency), "updated_at": updated or timezone.now(),
              "total": sum(ln["line_total"] for ln in lines)}
    if status:
        values["status"] = status
    created = cart is None
    if cart is None:
        if contact is None:
            raise CommerceInvalid({"customer": _("Give the customer's e-mail or mobile, or a "
                                                 "contact_id.")})
        cart = Cart.objects.create(source=source, external_id=external_id, contact=contact,
                                   **values)
    else:
        if cart.status == Cart.Status.ABANDONED and not status:
            values["status"] = Cart.Status.OPEN  # the shopper came back
        for k, v in values.items():
            setattr(cart, k, v)
        if contact is not None:
            cart.contact = contact
        cart.save()
        cart.lines.all().delete()
    found = products_for(lines)
    CartLine.objects.bulk_create([
        CartLine(cart=cart, product=product_for(found, ln), sku=ln["sku"], name=ln["name"],
                 quantity=ln["quantity"], unit_price=ln["unit_price"],
                 line_total=ln["line_total"]) for ln in lines])
    return cart, created


def mark_abandoned_carts(idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Open carts untouched for `idle` become abandoned, told on the contact's timeline and,
    once that commits, to CART_ABANDONED_HOOKS (journeys)."""
    now = now or timezone.now()
    carts = list(Cart.objects.filter(status=Cart.Status.OPEN, updated_at__lt=now - idle)
                 .order_by("pk"))
    for cart in carts:
        with transaction.atomic():
            if Cart.objects.filter(pk=cart.pk, status=Cart.Status.OPEN).update(
                    status=Cart.Status.ABANDONED, abandoned_at=now):
                append_event(cart.contact_id, "cart.abandoned",
                             {"cart_id": cart.pk, "total": cart.total, "currency": cart.currency,
                              "items": cart.lines.count()}, at=now)
                for hook in CART_ABANDONED_HOOKS:
                    transaction.on_commit(functools.partial(hook, cart.contact_id, cart.pk),
                                          robust=True)
    return len(carts)
