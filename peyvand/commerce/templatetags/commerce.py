"""Money in the page's language and the purchase summary a contact page shows."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from peyvand.base.dates import persian_digits
from peyvand.commerce.money import format_money
from peyvand.commerce.queries import purchase_summary as _purchase_summary

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """`{{ order.total|money:order.currency }}`: in the shop's display unit, «۱۲۵٬۰۰۰ تومان»
    / "IRT 125,000" (or «۱٬۲۵۰٬۰۰۰ ریال» / "IRR 1,250,000" on a rial shop)."""
    return format_money(minor, currency)


@register.inclusion_tag("commerce/_purchase_summary.html")
def purchase_summary(contact_id: int) -> dict[str, Any]:
    """`{% load commerce %}{% purchase_summary contact.pk %}` on the contact page."""
    return {"summary": _purchase_summary(contact_id), "contact_id": contact_id}


@register.filter
def commerce_event_summary(event: Any) -> str:
    """One line under an order.* or cart.* timeline entry: «#۷۲۷ · ۱۲٬۹۰۰٬۰۰۰ ریال»."""
    data = event.data or {}
    currency = data.get("currency") or "IRR"
    if event.kind == "order.refunded":
        text = _("#%(number)s · %(amount)s refunded") % {
            "number": data.get("number", ""), "amount": format_money(data.get("amount"),
                                                                     currency)}
    elif event.kind.startswith("order."):
        text = f"#{data.get('number', '')} · {format_money(data.get('total'), currency)}"
    elif event.kind == "cart.abandoned":
        text = format_money(data.get("total"), currency)
    else:
        return ""
    return persian_digits(text) if (get_language() or "").startswith("fa") else text
