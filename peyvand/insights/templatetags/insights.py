"""Numbers, shares and the contact-page panel of insights."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from peyvand.base.templatetags.peyvand_ui import page_language
from peyvand.commerce.money import RIAL, display_currency, exponent, format_money
from peyvand.insights import charts, crosssell, cycle, ladder
from peyvand.insights.actions import get_settings
from peyvand.insights.models import CustomerMetrics, DueStatus

register = template.Library()


@register.filter
def share(value: float | None, places: int = 1) -> str:
    """0.125 -> "12.5%" / «۱۲٫۵٪»."""
    if value is None:
        return "—"
    return charts.percent(float(value), page_language(), places)


@register.filter
def num(value: float | int | None, places: int = 0) -> str:
    """A number with grouping and the page's digits."""
    if value is None:
        return "—"
    return charts.number(float(value), page_language(), int(places))


@register.filter
def amount(minor: float | int | None, currency: str) -> str:
    """A money figure (often a prediction) rounded to the shop's whole display unit (the
    toman or the rial; cents stay)."""
    if minor is None:
        return "—"
    currency = currency or RIAL
    _code, factor = display_currency(currency)
    value = int(round(float(minor) / factor) * factor) if currency == RIAL else \
        int(round(float(minor)))
    return format_money(value, currency)


@register.filter
def major_amount(money: dict | None) -> str:
    """A {value, unit} figure in the major unit (as the model API gives it), shown as
    `amount` shows minor units."""
    if not money or not money.get("unit"):
        return "—"
    return amount(float(money["value"]) * 10 ** exponent(money["unit"]), money["unit"])


@register.filter
def due_basis(m: CustomerMetrics) -> str:
    """Why a customer is due, from the figures that made it: «every ~45 days over 4
    purchases; last 52 days ago»."""
    if not m.cycle_days:
        return ""
    lang = page_language()
    return _("every ~%(cycle)s days over %(purchases)s purchases; last %(ago)s days ago") % {
        "cycle": charts.number(float(m.cycle_days), lang, 0),
        "purchases": charts.number(float(m.purchase_days), lang, 0),
        "ago": charts.number(float(max(m.recency_days or 0, 0)), lang, 0)}


@register.filter
def due_badge(status: str) -> str:
    colours: dict[str, str] = {DueStatus.DUE: "amber", DueStatus.OVERDUE: "red",
                               DueStatus.LAPSED: "gray"}
    return colours.get(status, "green")


@register.inclusion_tag("insights/_contact_panel.html", takes_context=True)
def insights_panel(context, contact_id: int) -> dict[str, Any]:
    """`{% load insights %}{% insights_panel contact.pk %}` on the contact page."""
    metrics = CustomerMetrics.objects.filter(contact_id=contact_id).first()
    settings = get_settings()
    lang = page_language()
    recommendations = crosssell.for_contact(contact_id, 3) if metrics else []
    for rec in recommendations:
        rec["name"] = rec["product"].name(lang)
    stages = {d["stage"]: d["rule"] for d in ladder.definitions(settings)}
    return {
        "m": metrics,
        "contact_id": contact_id,
        "stage_rule": stages.get(metrics.ladder_stage, "") if metrics else "",
        "relationship_rule": ladder.relationship_rule(settings),
        "recommendations": recommendations,
        "horizon_weeks": settings.horizon_weeks,
        "min_purchases": cycle.MIN_INTERVALS + 1,
        "lang": lang,
        "request": context.get("request"),
    }
