"""Products: upserted from a shop, deactivated when the shop deletes them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import CommerceInvalid, Errors, clean_key, clean_text
from peyvand.commerce.models import Product
from peyvand.commerce.money import currency_code, stored_currency, to_minor

# --- products ---------------------------------------------------------------------------------

def check_product(raw: dict[str, Any]) -> dict[str, Any]:
    """Clean product fields; only what was given (an upsert keeps the rest)."""
    errors = Errors()
    values: dict[str, Any] = {}
    source, external_id = clean_text(raw.get("source"), 64), clean_key(raw.get("external_id"))[:64]
    sku = clean_text(raw.get("sku"), 100)
    if not sku and source and external_id:
        sku = f"{source}:{external_id}"[:100]
    if not sku:
        errors["sku"] = _("A SKU is required.")
    values["sku"] = sku
    if source and external_id:
        values["source"], values["external_id"] = source, external_id
    for name, limit in (("name_fa", 200), ("name_en", 200), ("category", 100)):
        if raw.get(name) is not None:
            values[name] = clean_text(raw[name], limit)
    if raw.get("active") is not None:
        values["active"] = bool(raw["active"])
    priced = [n for n in ("price", "cost") if raw.get(n) not in (None, "")]
    if priced:
        currency = errors.attempt("currency", currency_code, raw.get("currency"))
        if currency:
            values["currency"] = stored_currency(currency)
            for name in priced:
                minor = errors.attempt(name, to_minor, raw[name], currency, name)
                if minor is not None:
                    if minor[0] < 0:
                        errors[name] = _("Prices cannot be negative.")
                    values[name] = minor[0]
    errors.raise_any()
    return values


@transaction.atomic
def do_upsert_product(actor: Actor, raw: dict[str, Any]) -> tuple[Product, bool]:
    """Create the product with this SKU, or update it; returns (product, created)."""
    require(actor, "commerce.edit")
    values = check_product(raw)
    product = Product.objects.select_for_update().filter(sku=values["sku"]).first()
    if product is None and values.get("external_id"):
        # The shop changed the SKU of a product we know by its id there.
        product = Product.objects.select_for_update().filter(
            source=values["source"], external_id=values["external_id"]).first()
    if product is None:
        if not (values.get("name_fa") or values.get("name_en")):
            raise CommerceInvalid({"name_fa": _("Give the product a name.")})
        return Product.objects.create(**values), True
    changed = [k for k, v in values.items() if getattr(product, k) != v]
    if changed:
        for k in changed:
            setattr(product, k, values[k])
        product.save(update_fields=[*changed, "updated_at"])
    return product, False


def do_deactivate_product(actor: Actor, source: str, external_id: str) -> Product | None:
    """A product deleted at the shop: kept (order lines point at it), marked inactive."""
    require(actor, "commerce.edit")
    product = Product.objects.filter(source=source, external_id=external_id).first()
    if product is not None and product.active:
        product.active = False
        product.save(update_fields=["active", "updated_at"])
    return product
