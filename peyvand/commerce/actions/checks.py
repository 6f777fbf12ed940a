"""Reading commerce input: limits, errors, small parsers, order lines and the customer."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.dates import parse_date
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_text
from peyvand.commerce.models import Order, Product
from peyvand.commerce.money import to_minor
from peyvand.contacts.actions import (
    ContactData,
    ContactInvalid,
    check_contact_data,
    do_upsert_contact,
    find_owners,
)
from peyvand.contacts.models import Contact
from peyvand.contacts.queries import access_contact

MAX_LINES = 1000
AMOUNTS = ("subtotal", "discount", "shipping", "tax", "total")
CUSTOMER_KEYS = ("email", "phone", "first_name", "last_name", "external_ids", "source")


class CommerceInvalid(ContactInvalid):
    """Commerce input that cannot be saved; `errors` maps each field to what is wrong.

    A ContactInvalid, so every face that already shows those (API 400, forms) shows these.
    """


# --- small parsers ----------------------------------------------------------------------------

class Errors(dict):
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


def clean_text(value: Any, limit: int) -> str:
    return normalise_text(str(value))[:limit] if value not in (None, "") else ""


def clean_key(value: Any) -> str:
    """An id from elsewhere, kept as given apart from digits and edges."""
    return ascii_digits(str(value)).strip() if value not in (None, "") else ""


def quantity_of(value: Any, name: str) -> int:
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


@functools.cache
def _values_of(choices: Any) -> frozenset[str]:
    return frozenset(choices.values)  # an enum's .values builds a new list on every read


def choice_of(value: Any, choices: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    key = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if key not in _values_of(choices):
        raise InvalidValue(name, _("“%(value)s” is not one of: %(choices)s.")
                           % {"value": value, "choices": ", ".join(choices.values)}, value)
    return key


def derive_delivery(status: str | None, promised: dt.date | None, delivered: dt.date | None,
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

def check_lines(errors: Errors, raw_lines: Any, currency: str | None,
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
        sku, title = clean_text(raw.get("sku"), 100), clean_text(raw.get("name"), 300)
        if not sku and not title:
            errors[f"{name}.sku"] = _("A line needs a SKU or a name.")
        quantity = errors.attempt(f"{name}.quantity", quantity_of, raw.get("quantity", 1),
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


def products_for(lines: list[dict[str, Any]]) -> dict[Any, Product]:
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


def product_for(found: dict[Any, Product], line: dict[str, Any]) -> Product | None:
    ref = line.get("product_ref")
    return found.get(line["sku"]) or (found.get(tuple(ref)) if ref else None)


def check_customer(errors: Errors, raw: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
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


def check_identities(errors: Errors, customer: dict[str, Any],
                     contact_id: int | None) -> ContactData | None:
    """Report a bad e-mail or mobile with the order's other errors, before anything is saved;
    the customer as contacts reads them (a bulk write resolves customers from it)."""
    if customer and contact_id is None:
        try:
            return check_contact_data(customer, require_identity=True)
        except ContactInvalid as exc:
            errors.update({f"customer.{k}": v for k, v in exc.errors.items()})
    return None


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
