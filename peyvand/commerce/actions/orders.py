"""Orders and their refunds: upserted from a shop or an import, deleted, late deliveries marked.

One module, a little over 400 lines: an order upsert writes its lines and syncs its refunds in
one transaction, and the refund checks are shared with do_add_refund."""

from __future__ import annotations

import datetime as dt
import functools
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.dates import parse_date
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import (
    AMOUNTS,
    CommerceInvalid,
    Errors,
    check_customer,
    check_identities,
    check_lines,
    choice_of,
    clean_key,
    clean_text,
    derive_delivery,
    parse_when,
    product_for,
    products_for,
    quantity_of,
    resolve_customer,
)
from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS
from peyvand.commerce.models import NOT_REVENUE, Cart, Order, OrderLine, Refund, RefundLine
from peyvand.commerce.money import currency_code, stored_currency, to_minor
from peyvand.contacts.actions import ContactData
from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event

# --- orders -----------------------------------------------------------------------------------

@dataclass
class OrderData:
    source: str
    external_id: str
    values: dict[str, Any] = field(default_factory=dict)  # Order fields that were given
    lines: list[dict[str, Any]] | None = None
    refunds: list[dict[str, Any]] | None = None  # replaces the refunds that have ids
    customer: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    deleted: bool | None = None
    cart_id: str = ""
    modified_at: dt.datetime | None = None  # the version's time at the source, when known
    customer_data: ContactData | None = None  # `customer` as contacts reads it


@dataclass
class OrderResult:
    order: Order
    created: bool
    changed: list[str]
    new_refunds: list[Refund]
    # The order at the source changed after this version was made: nothing was applied.
    stale: bool = False


def check_order(raw: dict[str, Any]) -> OrderData:
    """Normalise and validate an order as sent; collects every error before raising."""
    errors = Errors()
    source = clean_text(raw.get("source") or "api", 64)
    external_id = clean_key(raw.get("external_id"))[:100]
    if not external_id:
        errors["external_id"] = _("The order's id in its source is required.")
    data = OrderData(source=source, external_id=external_id)
    data.customer, data.contact_id = check_customer(errors, raw)
    data.customer_data = check_identities(errors, data.customer, data.contact_id)
    values = data.values
    given = errors.attempt("currency", currency_code, raw.get("currency"))
    if given:
        values["currency"] = stored_currency(given)
    for name in AMOUNTS:
        if raw.get(name) not in (None, "") and given:
            minor = errors.attempt(name, to_minor, raw[name], given, name)
            if minor is not None:
                if minor[0] < 0:
                    errors[name] = _("Amounts cannot be negative.")
                values[name] = minor[0]
    if "lines" in raw and raw["lines"] is not None:
        data.lines = check_lines(errors, raw["lines"], given)
        if "subtotal" not in values and not errors:
            values["subtotal"] = sum(ln["line_total"] for ln in data.lines)
    if "total" not in values and "subtotal" in values and not errors:
        values["total"] = (values["subtotal"] - values.get("discount", 0)
                           + values.get("shipping", 0) + values.get("tax", 0))
    if "number" in raw and raw["number"] is not None:
        values["number"] = clean_text(raw["number"], 64)
    if "channel" in raw and raw["channel"] is not None:
        values["channel"] = clean_text(raw["channel"], 32)
    placed = errors.attempt("placed_at", parse_when, raw.get("placed_at"), "placed_at")
    if placed:
        values["placed_at"] = placed
    status = errors.attempt("status", choice_of, raw.get("status"), Order.Status, "status")
    if status:
        values["status"] = status
    if raw.get("delivery"):
        _check_delivery(errors, raw["delivery"], values)
    if raw.get("refunds") is not None:
        data.refunds = _check_refunds(errors, raw["refunds"], given)
    if raw.get("deleted") is not None:
        data.deleted = bool(raw["deleted"])
    data.cart_id = clean_key(raw.get("cart_id"))[:100]
    data.modified_at = errors.attempt("modified_at", parse_when, raw.get("modified_at"),
                                      "modified_at")
    errors.raise_any()
    return data


def _is_older(order: Order, modified_at: dt.datetime | None) -> bool:
    """This version was made before the one applied: a replayed or late delivery."""
    return (modified_at is not None and order.source_modified_at is not None
            and modified_at < order.source_modified_at)


def _note_version(order: Order, modified_at: dt.datetime | None) -> None:
    if modified_at is not None and not _is_older(order, modified_at) \
            and order.source_modified_at != modified_at:
        order.source_modified_at = modified_at
        Order.objects.filter(pk=order.pk).update(source_modified_at=modified_at)


def _check_delivery(errors: Errors, raw: Any, values: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        errors["delivery"] = _("Delivery is an object with status, promised_at and "
                               "delivered_at.")
        return
    status = errors.attempt("delivery.status", choice_of, raw.get("status"), Order.Delivery,
                            "delivery.status")
    dates = {}
    for name in ("promised_at", "delivered_at"):
        if name in raw:
            dates[name] = errors.attempt(f"delivery.{name}", parse_date, raw[name],
                                         f"delivery.{name}")
            values[name] = dates[name]
    derived = derive_delivery(status, dates.get("promised_at"), dates.get("delivered_at"),
                               timezone.localdate())
    if derived:
        values["delivery_status"] = derived


def _check_refunds(errors: Errors, raw: Any, currency: str | None) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors["refunds"] = _("Refunds must be a list.")
        return []
    refunds = []
    for i, item in enumerate(raw):
        name = f"refunds.{i}"
        if not isinstance(item, dict):
            errors[name] = _("Each refund is an object with id and amount.")
            continue
        external_id = clean_key(item.get("external_id", item.get("id")))[:64]
        if not external_id:
            errors[f"{name}.id"] = _("A refund sent with its order needs its id.")
            continue
        refund = _check_refund(errors, item, currency, prefix=f"{name}.")
        if refund:
            refunds.append({**refund, "external_id": external_id})
    return refunds


def _check_refund(errors: Errors, raw: dict[str, Any], currency: str | None,
                  prefix: str = "") -> dict[str, Any] | None:
    if not currency:
        return None
    amount = errors.attempt(f"{prefix}amount", to_minor, raw.get("amount"), currency,
                            f"{prefix}amount")
    # Shops write refunds as negative amounts; what matters is how much went back.
    minor = abs(amount[0]) if amount else None
    if minor == 0:
        errors[f"{prefix}amount"] = _("A refund must be more than zero.")
    at = errors.attempt(f"{prefix}at", parse_when, raw.get("at"), f"{prefix}at")
    lines = []
    for i, line in enumerate(raw.get("lines") or []):
        lname = f"{prefix}lines.{i}"
        if not isinstance(line, dict) or not clean_text(line.get("sku"), 100):
            errors[lname] = _("A returned line needs the SKU it refunds.")
            continue
        qty = errors.attempt(f"{lname}.quantity", quantity_of, line.get("quantity", 1),
                             f"{lname}.quantity")
        line_amount = 0
        if line.get("amount") not in (None, ""):
            value = errors.attempt(f"{lname}.amount", to_minor, line["amount"], currency,
                                   f"{lname}.amount")
            line_amount = abs(value[0]) if value else 0
        lines.append({"sku": clean_text(line["sku"], 100), "quantity": qty or 1,
                      "amount": line_amount})
    if not minor:
        return None
    return {"amount": minor, "reason": clean_text(raw.get("reason"), 300),
            "at": at, "lines": lines}


def _line_key(line: OrderLine) -> tuple:
    return (line.product_id, line.sku, line.name, line.quantity, line.unit_price, line.line_total)


def _write_lines(order: Order, lines: list[dict[str, Any]]) -> bool:
    """Replace the order's lines when they differ; True when they did."""
    found = products_for(lines)
    rows = []
    for ln in lines:
        product = product_for(found, ln)
        rows.append(OrderLine(order=order, product=product, sku=ln["sku"],
                              name=ln["name"] or (product.name() if product else ""),
                              quantity=ln["quantity"], unit_price=ln["unit_price"],
                              line_total=ln["line_total"]))
    if [_line_key(ln) for ln in order.lines.all()] == [_line_key(ln) for ln in rows]:
        return False
    order.lines.all().delete()
    OrderLine.objects.bulk_create(rows)
    return True


def _event_data(order: Order, **extra: Any) -> dict[str, Any]:
    return {"order_id": order.pk, "number": order.display_number, "total": order.total,
            "currency": order.currency, "status": order.status, "source": order.source,
            **extra}


def _save_refund(actor: Actor, order: Order, data: dict[str, Any],
                 external_id: str = "") -> Refund:
    refund = Refund.objects.create(order=order, amount=data["amount"], reason=data["reason"],
                                   at=data["at"] or timezone.now(), external_id=external_id)
    if data["lines"]:
        by_sku = {ln.sku: ln for ln in order.lines.all() if ln.sku}
        RefundLine.objects.bulk_create([
            RefundLine(refund=refund, order_line=by_sku.get(ln["sku"]), sku=ln["sku"],
                       quantity=ln["quantity"], amount=ln["amount"]) for ln in data["lines"]])
    append_event(order.contact_id, "order.refunded",
                 _event_data(order, amount=refund.amount, reason=refund.reason,
                             refund_id=refund.pk), actor=actor, at=refund.at)
    return refund


def _sync_refunds(actor: Actor, order: Order, refunds: list[dict[str, Any]]) -> list[Refund]:
    """The source's list is the truth for refunds that carry its ids; new ones are told."""
    have = {r.external_id: r for r in order.refunds.exclude(external_id="")}
    wanted = {r["external_id"] for r in refunds}
    gone = [r.pk for key, r in have.items() if key not in wanted]
    if gone:
        Refund.objects.filter(pk__in=gone).delete()
    created = []
    for item in refunds:
        known = have.get(item["external_id"])
        if known is None:
            created.append(_save_refund(actor, order, item, item["external_id"]))
        elif (known.amount, known.reason) != (item["amount"], item["reason"]):
            Refund.objects.filter(pk=known.pk).update(amount=item["amount"],
                                                      reason=item["reason"])
    return created


# Set by a bulk write (actions.bulk): the buyers whose orders changed are collected and told
# once, by ORDERS_IMPORTED_HOOKS, instead of one hook call per order.
_collecting: ContextVar[set[int] | None] = ContextVar("orders_collecting", default=None)


def _order_changed(contact_id: int | None) -> None:
    if contact_id:
        collected = _collecting.get()
        if collected is not None:
            collected.add(contact_id)
            return
        for hook in ORDER_CHANGED_HOOKS:
            transaction.on_commit(functools.partial(hook, contact_id))


@transaction.atomic
def do_upsert_order(actor: Actor, raw: dict[str, Any] | OrderData) -> OrderResult:
    """Create the order (source, external_id), or update it to match what was sent.

    Sending the same order twice changes nothing; a changed one is updated and the contact's
    timeline says what changed. An unknown customer becomes a contact. A version older than
    the one applied (`modified_at` before the stored one) changes nothing at all: deliveries
    are replayed and arrive out of order, and must never roll an order back.
    """
    require(actor, "commerce.edit")
    data = raw if isinstance(raw, OrderData) else check_order(raw)
    key = {"source": data.source, "external_id": data.external_id}
    order = Order.objects.select_for_update().filter(**key).first()
    if order is not None and _is_older(order, data.modified_at):
        return OrderResult(order, False, [], [], stale=True)
    contact = None
    if data.customer or data.contact_id is not None:
        contact = resolve_customer(actor, data.customer, data.contact_id)
    created = False
    if order is None:
        order, created = _create_order(data, contact, key)
    if created:
        changed: list[str] = []
        if data.lines:
            _write_lines(order, data.lines)
        append_event(order.contact_id, "order.placed", _event_data(order), actor=actor,
                     at=order.placed_at)
    else:
        previous_contact = order.contact_id
        changed = _update_order(order, data, contact)
        if order.contact_id != previous_contact:
            _order_changed(previous_contact)  # their figures lose this order
        if data.lines is not None and _write_lines(order, data.lines):
            changed.append("lines")
        if changed:
            append_event(order.contact_id, "order.updated", _event_data(order, changed=changed),
                         actor=actor)
    new_refunds = _sync_refunds(actor, order, data.refunds) if data.refunds is not None else []
    if data.cart_id:
        Cart.objects.filter(source=data.source, external_id=data.cart_id).update(
            status=Cart.Status.CONVERTED, converted_order=order)
    _note_version(order, data.modified_at)
    if created or changed or new_refunds:
        _order_changed(order.contact_id)
    return OrderResult(order, created, changed, new_refunds)


def _create_order(data: OrderData, contact: Contact | None,
                  key: dict[str, str]) -> tuple[Order, bool]:
    errors = {}
    if contact is None:
        errors["customer"] = _("Give the customer's e-mail or mobile, or a contact_id.")
    if "total" not in data.values:
        errors["total"] = _("Give the order's total or its lines.")
    if errors or contact is None:
        raise CommerceInvalid(errors)
    values = {"placed_at": timezone.now(), "status": Order.Status.COMPLETED, **data.values}
    if data.deleted:
        values["deleted_at"] = timezone.now()
    try:
        with transaction.atomic():
            return Order.objects.create(contact=contact, **key, **values), True
    except IntegrityError:
        # Sent twice at once: the other request created it; update that one instead.
        return Order.objects.select_for_update().get(**key), False


def _update_order(order: Order, data: OrderData, contact: Contact | None) -> list[str]:
    changed = [k for k, v in data.values.items() if getattr(order, k) != v]
    for k in changed:
        setattr(order, k, data.values[k])
    if contact is not None and contact.pk != order.contact_id:
        order.contact = contact
        changed.append("contact")
    if data.deleted is not None and data.deleted != (order.deleted_at is not None):
        order.deleted_at = timezone.now() if data.deleted else None
        changed.append("deleted")
    if changed:
        fields = ["contact" if k == "contact" else "deleted_at" if k == "deleted" else k
                  for k in changed]
        order.save(update_fields=[*fields, "updated_at"])
    return changed


def check_refund(raw: dict[str, Any], order: Order) -> dict[str, Any]:
    errors = Errors()
    currency = errors.attempt("currency", currency_code, raw.get("currency") or order.currency)
    if currency and stored_currency(currency) != order.currency:
        errors["currency"] = _("The order is in %(currency)s; refund in that currency.") \
            % {"currency": order.currency}
    data = _check_refund(errors, raw, currency)
    if data is None and not errors:
        errors["amount"] = _("An amount is required.")
    errors.raise_any()
    assert data is not None
    data["external_id"] = clean_key(raw.get("external_id"))[:64]
    return data


@dataclass
class RefundResult:
    refund: Refund
    created: bool


@transaction.atomic
def do_add_refund(actor: Actor, order: Order, raw: dict[str, Any]) -> RefundResult:
    """Give money back on an order; never more than was paid. An external_id sent twice
    gives the first refund back unchanged."""
    require(actor, "commerce.edit")
    order = Order.objects.select_for_update().get(pk=order.pk)
    data = check_refund(raw, order)
    if data["external_id"]:
        known = order.refunds.filter(external_id=data["external_id"]).first()
        if known is not None:
            return RefundResult(known, False)
    refunded = order.refunds.aggregate(s=Sum("amount"))["s"] or 0
    if refunded + data["amount"] > order.total:
        raise CommerceInvalid({"amount": _("That is more than is left to refund on this order "
                                           "(%(left)s).") % {"left": order.total - refunded}})
    refund = _save_refund(actor, order, data, data["external_id"])
    _order_changed(order.contact_id)
    return RefundResult(refund, True)


@transaction.atomic
def do_mark_order_deleted(actor: Actor, source: str, external_id: str,
                          deleted: bool = True, at: dt.datetime | None = None) -> Order | None:
    """The source deleted (or restored) the order: kept for history, out of every sum.
    `at`: when the source did it; a later delivery of an older version does not undo it."""
    require(actor, "commerce.edit")
    order = Order.objects.select_for_update().filter(source=source,
                                                     external_id=external_id).first()
    if order is None or _is_older(order, at):
        return order
    _note_version(order, at)
    if deleted != (order.deleted_at is not None):
        order.deleted_at = timezone.now() if deleted else None
        order.save(update_fields=["deleted_at", "updated_at"])
        append_event(order.contact_id, "order.updated",
                     _event_data(order, changed=["deleted"]), actor=actor)
        _order_changed(order.contact_id)
    return order


def refresh_late_deliveries(today: dt.date | None = None) -> int:
    """Orders whose promised date passed undelivered become late (a CRM signal); returns
    how many. Run daily by a periodic task."""
    today = today or timezone.localdate()
    late = list(Order.objects.filter(
        delivery_status__in=[Order.Delivery.PENDING, Order.Delivery.ON_TIME],
        promised_at__lt=today, delivered_at__isnull=True, deleted_at__isnull=True,
    ).exclude(status__in=[*NOT_REVENUE, Order.Status.REFUNDED]).order_by("pk"))
    for order in late:
        with transaction.atomic():
            if Order.objects.filter(pk=order.pk, delivery_status=order.delivery_status).update(
                    delivery_status=Order.Delivery.LATE, updated_at=timezone.now()):
                order.delivery_status = Order.Delivery.LATE
                append_event(order.contact_id, "order.late",
                             _event_data(order, promised_at=str(order.promised_at)))
    return len(late)
