"""Every write on commerce rows: products, orders, refunds, carts, shop sources.

The API, the WooCommerce receiver, the CLI and the UI all call these, so money conversion,
customer matching, role checks and timeline entries happen the same way on every way in.
Customers are reached only through contacts services (upsert, access, timeline).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.dates import parse_date
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_text
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS
from peyvand.commerce.models import (
    NOT_REVENUE,
    Cart,
    CartLine,
    Order,
    OrderLine,
    Product,
    Refund,
    RefundLine,
    ShopSource,
    WebhookDelivery,
)
from peyvand.commerce.money import currency_code, stored_currency, to_minor
from peyvand.contacts.actions import (
    ContactInvalid,
    check_contact_data,
    do_upsert_contact,
    find_owners,
)
from peyvand.contacts.models import Contact
from peyvand.contacts.queries import access_contact
from peyvand.contacts.timeline import append_event

MAX_LINES = 1000
AMOUNTS = ("subtotal", "discount", "shipping", "tax", "total")
CUSTOMER_KEYS = ("email", "phone", "first_name", "last_name", "external_ids", "source")


class CommerceInvalid(ContactInvalid):
    """Commerce input that cannot be saved; `errors` maps each field to what is wrong.

    A ContactInvalid, so every face that already shows those (API 400, forms) shows these.
    """


# --- small parsers ----------------------------------------------------------------------------

class _Errors(dict):
    """Collects every problem before raising, as contacts.check_contact_data does."""

    def attempt(self, name: str, fn, *args):
        try:
            return fn(*args)
        except InvalidValue as exc:
            self[name] = str(exc.message)
            return None

    def raise_any(self) -> None:
        if self:
            raise CommerceInvalid(dict(self))


def _text(value: Any, limit: int) -> str:
    return normalise_text(str(value))[:limit] if value not in (None, "") else ""


def _key(value: Any) -> str:
    """An id from elsewhere, kept as given apart from digits and edges."""
    return ascii_digits(str(value)).strip() if value not in (None, "") else ""


def _quantity(value: Any, name: str) -> int:
    try:
        number = int(ascii_digits(str(value)).strip()) if not isinstance(value, int) else value
    except ValueError:
        number = -1
    if isinstance(value, bool) or not 1 <= number <= 1_000_000:
        raise InvalidValue(name, _("A quantity is a whole number from 1 to 1,000,000."), value)
    return number


def parse_when(value: Any, name: str) -> dt.datetime | None:
    """'2024-05-01T10:30:00Z', '2024-05-01 10:30', '1403/02/12' (midnight, local) -> aware."""
    if value in (None, ""):
        return None
    moment: dt.datetime | None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = ascii_digits(str(value)).strip()
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            day = parse_date(text, name)
            moment = dt.datetime.combine(day, dt.time()) if day else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _choice(value: Any, choices: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    key = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if key not in choices.values:
        raise InvalidValue(name, _("“%(value)s” is not one of: %(choices)s.")
                           % {"value": value, "choices": ", ".join(choices.values)}, value)
    return key


def _derive_delivery(status: str | None, promised: dt.date | None, delivered: dt.date | None,
                     today: dt.date) -> str | None:
    """A delivery state nobody gave, from the dates that were given."""
    if status:
        return status
    if delivered:
        return Order.Delivery.DELIVERED
    if promised:
        return Order.Delivery.LATE if promised < today else Order.Delivery.ON_TIME
    return None


# --- lines and customers ----------------------------------------------------------------------

def _check_lines(errors: _Errors, raw_lines: Any, currency: str | None,
                 prefix: str = "lines") -> list[dict[str, Any]]:
    if not isinstance(raw_lines, list):
        errors[prefix] = _("Lines must be a list.")
        return []
    if len(raw_lines) > MAX_LINES:
        errors[prefix] = _("At most %(count)s lines.") % {"count": MAX_LINES}
        return []
    lines = []
    for i, raw in enumerate(raw_lines):
        name = f"{prefix}.{i}"
        if not isinstance(raw, dict):
            errors[name] = _("Each line is an object with sku, name, quantity and unit_price.")
            continue
        sku, title = _text(raw.get("sku"), 100), _text(raw.get("name"), 300)
        if not sku and not title:
            errors[f"{name}.sku"] = _("A line needs a SKU or a name.")
        quantity = errors.attempt(f"{name}.quantity", _quantity, raw.get("quantity", 1),
                                  f"{name}.quantity")
        unit = total = None
        if currency:
            if raw.get("unit_price") not in (None, ""):
                unit = errors.attempt(f"{name}.unit_price", to_minor, raw["unit_price"],
                                      currency, f"{name}.unit_price")
            if raw.get("line_total") not in (None, ""):
                total = errors.attempt(f"{name}.line_total", to_minor, raw["line_total"],
                                       currency, f"{name}.line_total")
            if raw.get("unit_price") in (None, "") and raw.get("line_total") in (None, ""):
                errors[f"{name}.unit_price"] = _("Give the unit price or the line total.")
        unit_minor = unit[0] if unit else None
        total_minor = total[0] if total else None
        if quantity is None:
            continue
        if unit_minor is None and total_minor is not None:
            unit_minor = round(total_minor / quantity)
        elif total_minor is None and unit_minor is not None:
            total_minor = unit_minor * quantity
        if unit_minor is None or total_minor is None:
            continue
        if unit_minor < 0 or total_minor < 0:
            errors[name] = _("Prices cannot be negative.")
            continue
        lines.append({"sku": sku, "name": title, "quantity": quantity,
                      "unit_price": unit_minor, "line_total": total_minor,
                      "product_ref": raw.get("product_ref")})
    return lines


def _products_for(lines: list[dict[str, Any]]) -> dict[Any, Product]:
    """Products the lines name, by SKU or by the shop's own id, in two queries at most."""
    skus = {ln["sku"] for ln in lines if ln["sku"]}
    refs = {tuple(ln["product_ref"]) for ln in lines if ln.get("product_ref")}
    found: dict[Any, Product] = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    if refs:
        cond = Q()
        for source, external_id in refs:
            cond |= Q(source=source, external_id=external_id)
        found.update({(p.source, p.external_id): p for p in Product.objects.filter(cond)})
    return found


def _product(found: dict[Any, Product], line: dict[str, Any]) -> Product | None:
    ref = line.get("product_ref")
    return found.get(line["sku"]) or (found.get(tuple(ref)) if ref else None)


def _check_customer(errors: _Errors, raw: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    contact_id = raw.get("contact_id")
    customer = raw.get("customer") or {}
    if not isinstance(customer, dict):
        errors["customer"] = _("The customer is an object with email, phone and names.")
        return {}, None
    if contact_id in (None, ""):
        contact_id = customer.get("contact_id")
    customer = {k: customer[k] for k in CUSTOMER_KEYS if customer.get(k) not in (None, "", [])}
    if contact_id not in (None, ""):
        try:
            contact_id = int(ascii_digits(str(contact_id)))
        except ValueError:
            errors["customer.contact_id"] = _("A contact id is a number.")
            contact_id = None
    else:
        contact_id = None
    return customer, contact_id


def _check_identities(errors: _Errors, customer: dict[str, Any], contact_id: int | None) -> None:
    """Report a bad e-mail or mobile with the order's other errors, before anything is saved."""
    if customer and contact_id is None:
        try:
            check_contact_data(customer, require_identity=True)
        except ContactInvalid as exc:
            errors.update({f"customer.{k}": v for k, v in exc.errors.items()})


def resolve_customer(actor: Actor, customer: dict[str, Any], contact_id: int | None = None, *,
                     rename: bool = False) -> Contact:
    """The contact an order or cart belongs to: the one given, else the one holding the
    customer's e-mail/mobile/shop id, else a new one (contacts.do_upsert_contact).

    Unless `rename`, names only fill blanks: a gift's billing name never renames the buyer.
    Where a contact came from (`source`) is never rewritten.
    """
    if contact_id is not None:
        try:
            return access_contact(actor, contact_id)
        except Http404:
            raise CommerceInvalid({"customer.contact_id": _("There is no contact #%(id)s.")
                                   % {"id": contact_id}})
    try:
        data = check_contact_data(customer, require_identity=True)
    except ContactInvalid as exc:
        raise CommerceInvalid({f"customer.{k}": v for k, v in exc.errors.items()})
    owners = find_owners(data.identity_keys())
    if owners:
        known = Contact.objects.filter(pk=min(owners.values())).first()
        data.scalars = {k: v for k, v in data.scalars.items()
                        if known is None or not getattr(known, k) or (rename and k != "source")}
    return do_upsert_contact(actor, data).contact


# --- products ---------------------------------------------------------------------------------

def check_product(raw: dict[str, Any]) -> dict[str, Any]:
    """Clean product fields; only what was given (an upsert keeps the rest)."""
    errors = _Errors()
    values: dict[str, Any] = {}
    source, external_id = _text(raw.get("source"), 64), _key(raw.get("external_id"))[:64]
    sku = _text(raw.get("sku"), 100)
    if not sku and source and external_id:
        sku = f"{source}:{external_id}"[:100]
    if not sku:
        errors["sku"] = _("A SKU is required.")
    values["sku"] = sku
    if source and external_id:
        values["source"], values["external_id"] = source, external_id
    for name, limit in (("name_fa", 200), ("name_en", 200), ("category", 100)):
        if raw.get(name) is not None:
            values[name] = _text(raw[name], limit)
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
    errors = _Errors()
    source = _text(raw.get("source") or "api", 64)
    external_id = _key(raw.get("external_id"))[:100]
    if not external_id:
        errors["external_id"] = _("The order's id in its source is required.")
    data = OrderData(source=source, external_id=external_id)
    data.customer, data.contact_id = _check_customer(errors, raw)
    _check_identities(errors, data.customer, data.contact_id)
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
        data.lines = _check_lines(errors, raw["lines"], given)
        if "subtotal" not in values and not errors:
            values["subtotal"] = sum(ln["line_total"] for ln in data.lines)
    if "total" not in values and "subtotal" in values and not errors:
        values["total"] = (values["subtotal"] - values.get("discount", 0)
                           + values.get("shipping", 0) + values.get("tax", 0))
    if "number" in raw and raw["number"] is not None:
        values["number"] = _text(raw["number"], 64)
    if "channel" in raw and raw["channel"] is not None:
        values["channel"] = _text(raw["channel"], 32)
    placed = errors.attempt("placed_at", parse_when, raw.get("placed_at"), "placed_at")
    if placed:
        values["placed_at"] = placed
    status = errors.attempt("status", _choice, raw.get("status"), Order.Status, "status")
    if status:
        values["status"] = status
    _check_delivery(errors, raw.get("delivery") or {}, values)
    if raw.get("refunds") is not None:
        data.refunds = _check_refunds(errors, raw["refunds"], given)
    if raw.get("deleted") is not None:
        data.deleted = bool(raw["deleted"])
    data.cart_id = _key(raw.get("cart_id"))[:100]
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


def _check_delivery(errors: _Errors, raw: Any, values: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        errors["delivery"] = _("Delivery is an object with status, promised_at and "
                               "delivered_at.")
        return
    status = errors.attempt("delivery.status", _choice, raw.get("status"), Order.Delivery,
                            "delivery.status")
    dates = {}
    for name in ("promised_at", "delivered_at"):
        if name in raw:
            dates[name] = errors.attempt(f"delivery.{name}", parse_date, raw[name],
                                         f"delivery.{name}")
            values[name] = dates[name]
    derived = _derive_delivery(status, dates.get("promised_at"), dates.get("delivered_at"),
                               timezone.localdate())
    if derived:
        values["delivery_status"] = derived


def _check_refunds(errors: _Errors, raw: Any, currency: str | None) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors["refunds"] = _("Refunds must be a list.")
        return []
    refunds = []
    for i, item in enumerate(raw):
        name = f"refunds.{i}"
        if not isinstance(item, dict):
            errors[name] = _("Each refund is an object with id and amount.")
            continue
        external_id = _key(item.get("external_id", item.get("id")))[:64]
        if not external_id:
            errors[f"{name}.id"] = _("A refund sent with its order needs its id.")
            continue
        refund = _check_refund(errors, item, currency, prefix=f"{name}.")
        if refund:
            refunds.append({**refund, "external_id": external_id})
    return refunds


def _check_refund(errors: _Errors, raw: dict[str, Any], currency: str | None,
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
        if not isinstance(line, dict) or not _text(line.get("sku"), 100):
            errors[lname] = _("A returned line needs the SKU it refunds.")
            continue
        qty = errors.attempt(f"{lname}.quantity", _quantity, line.get("quantity", 1),
                             f"{lname}.quantity")
        line_amount = 0
        if line.get("amount") not in (None, ""):
            value = errors.attempt(f"{lname}.amount", to_minor, line["amount"], currency,
                                   f"{lname}.amount")
            line_amount = abs(value[0]) if value else 0
        lines.append({"sku": _text(line["sku"], 100), "quantity": qty or 1,
                      "amount": line_amount})
    if not minor:
        return None
    return {"amount": minor, "reason": _text(raw.get("reason"), 300),
            "at": at, "lines": lines}


def _line_key(line: OrderLine) -> tuple:
    return (line.product_id, line.sku, line.name, line.quantity, line.unit_price, line.line_total)


def _write_lines(order: Order, lines: list[dict[str, Any]]) -> bool:
    """Replace the order's lines when they differ; True when they did."""
    found = _products_for(lines)
    rows = []
    for ln in lines:
        product = _product(found, ln)
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




def _order_changed(contact_id: int | None) -> None:
    if contact_id:
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
    errors = _Errors()
    currency = errors.attempt("currency", currency_code, raw.get("currency") or order.currency)
    if currency and stored_currency(currency) != order.currency:
        errors["currency"] = _("The order is in %(currency)s; refund in that currency.") \
            % {"currency": order.currency}
    data = _check_refund(errors, raw, currency)
    if data is None and not errors:
        errors["amount"] = _("An amount is required.")
    errors.raise_any()
    assert data is not None
    data["external_id"] = _key(raw.get("external_id"))[:64]
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


# --- carts ------------------------------------------------------------------------------------

@transaction.atomic
def do_upsert_cart(actor: Actor, raw: dict[str, Any]) -> tuple[Cart, bool]:
    """Create or replace a shopper's cart (source, external_id); returns (cart, created)."""
    require(actor, "commerce.edit")
    errors = _Errors()
    source = _text(raw.get("source") or "api", 64)
    external_id = _key(raw.get("external_id"))[:100]
    if not external_id:
        errors["external_id"] = _("The cart's id in its source is required.")
    customer, contact_id = _check_customer(errors, raw)
    _check_identities(errors, customer, contact_id)
    currency = errors.attempt("currency", currency_code, raw.get("currency"))
    lines = _check_lines(errors, raw.get("lines") or [], currency)
    updated = errors.attempt("updated_at", parse_when, raw.get("updated_at"), "updated_at")
    status = errors.attempt("status", _choice, raw.get("status"), Cart.Status, "status")
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
    found = _products_for(lines)
    CartLine.objects.bulk_create([
        CartLine(cart=cart, product=_product(found, ln), sku=ln["sku"], name=ln["name"],
                 quantity=ln["quantity"], unit_price=ln["unit_price"],
                 line_total=ln["line_total"]) for ln in lines])
    return cart, created


def mark_abandoned_carts(idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Open carts untouched for `idle` become abandoned, told on the contact's timeline."""
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
    return len(carts)


# --- shop sources and their deliveries --------------------------------------------------------

_SOURCE_NAME = re.compile(r"^[\w-]{1,48}$")


@transaction.atomic
def do_create_source(actor: Actor, kind: str, name: str, currency: str = "IRT") -> ShopSource:
    """A shop that may send webhooks; its secret is shown to the owner to paste in the shop."""
    require(actor, "sources.manage")
    if kind not in ShopSource.Kind.values:
        raise CommerceInvalid({"kind": _("Unknown shop kind “%(kind)s”; use: %(kinds)s.")
                               % {"kind": kind, "kinds": ", ".join(ShopSource.Kind.values)}})
    name = normalise_text(name).lower().replace(" ", "-")
    if not _SOURCE_NAME.match(name):
        raise CommerceInvalid({"name": _("A name has 1–48 letters, digits, - or _ "
                                         "(e.g. myshop).")})
    currency = currency_code(currency)
    if ShopSource.objects.filter(name=name).exists():
        raise CommerceInvalid({"name": _("There is a shop named “%(name)s” already.")
                               % {"name": name}})
    source = ShopSource.objects.create(kind=kind, name=name, currency=currency,
                                       token=secrets.token_urlsafe(24),
                                       secret=secrets.token_urlsafe(32), created_by=actor.user,
                                       created_by_label=actor.label)
    record_audit(actor, "source.create", target_type="shop_source", target_id=source.pk,
                 summary=f"{kind} {name}")
    return source


@transaction.atomic
def do_set_source_active(actor: Actor, source: ShopSource, active: bool) -> None:
    require(actor, "sources.manage")
    if source.active != active:
        source.active = active
        source.save(update_fields=["active"])
        record_audit(actor, "source.activate" if active else "source.deactivate",
                     target_type="shop_source", target_id=source.pk, summary=source.name)


@transaction.atomic
def retry_delivery(actor: Actor, delivery: WebhookDelivery) -> bool:
    """Process a failed (or stuck) delivery again once this commits; False if it was done."""
    require(actor, "sources.manage")
    from peyvand.commerce.tasks import process_delivery_task

    if delivery.status == WebhookDelivery.Status.PROCESSED:
        return False
    pk = delivery.pk
    enqueue_on_commit(process_delivery_task, pk)
    return True


# --- hooks the contacts floor calls -----------------------------------------------------------

def move_commerce_rows(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: the merged contact's orders and carts now belong to the survivor."""
    Order.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    Cart.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    WebhookDelivery.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
