"""Rules read aloud: the words the rule builder offers for each op, and a saved rule as nested
sentences for the segment page, in the page's language (dates Jalali, money in the shop's
currency)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from peyvand.audiences.fields import Field
from peyvand.audiences.models import Segment
from peyvand.base.dates import format_date, persian_digits
from peyvand.base.language import join_list, page_language
from peyvand.commerce.models import ShopSource
from peyvand.commerce.money import (
    RIAL,
    display_currency,
    format_money,
    stored_currency,
    unit_label,
)

OP_WORDS: dict[str, Promise] = {
    "eq": _("is"), "ne": _("is not"), "in": _("is one of"), "contains": _("contains"),
    "starts_with": _("starts with"), "is_set": _("has a value"),
    "is_not_set": _("has no value"), "lt": _("is less than"), "lte": _("is at most"),
    "gt": _("is more than"), "gte": _("is at least"), "between": _("is between"),
    "within_last": _("is within the last"), "not_within_last": _("is longer ago than the last"),
    "within_next": _("is within the next"), "has": _("includes any of"),
    "has_not": _("includes none of"),
}
# Where a type reads better with other words than the defaults above.
TYPE_WORDS: dict[str, dict[str, Promise]] = {
    "date": {"eq": _("is on"), "lt": _("is before"), "lte": _("is on or before"),
             "gt": _("is after"), "gte": _("is on or after")},
    "activity": {"has": _("at least once"), "has_not": _("never"),
                 "within_last": _("in the last"), "not_within_last": _("not in the last")},
    "segment": {"eq": _("is a member of"), "ne": _("is not a member of"),
                "in": _("is a member of one of")},
}
TYPE_WORDS["datetime"] = TYPE_WORDS["birthday"] = TYPE_WORDS["date"]
RELATIVE_OPS = ("within_last", "not_within_last", "within_next")


def op_word(kind: str, op: str) -> Promise:
    return TYPE_WORDS.get(kind, {}).get(op) or OP_WORDS.get(op) or _("?")


def shop_currency() -> str:
    """The currency money in rules is counted in: the shop's, as stored (toman → rial)."""
    source = ShopSource.objects.filter(active=True).order_by("id").first()
    return stored_currency(source.currency) if source else RIAL


def currency_info() -> dict[str, Any]:
    """For the builder: money is typed in the currency's major unit and sent in minor units."""
    code = shop_currency()
    # Typed in the shop's display unit (toman: 10 rial each), as amounts are shown here.
    _shown, factor = display_currency(code)
    return {"code": code, "exponent": len(str(factor)) - 1, "label": unit_label(code)}


def _days(value: Any) -> str:
    days = value.get("days") if isinstance(value, dict) else value
    return str(_("%(n)s days") % {"n": _digits(days)})


def _digits(value: Any) -> str:
    return persian_digits(str(value)) if page_language() == "fa" else str(value)


def _date(value: Any) -> str:
    try:
        return format_date(dt.date.fromisoformat(str(value)[:10]), page_language())
    except ValueError:
        return str(value)


def _one(value: Any, field: Field, currency: str, segments: dict[int, str]) -> str:
    kind = field.type
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if kind == "money" and isinstance(value, (int, float)):
        return format_money(int(value), currency)
    if kind in ("date", "datetime", "birthday"):
        return _date(value)
    if kind == "choice":
        labels = {v: str(label) for v, label in field.choices}
        return labels.get(value, str(value))
    if kind == "segment":
        return segments.get(value, f"#{_digits(value)}")
    if isinstance(value, (int, float)):
        return _digits(value)
    return f"«{value}»" if page_language() == "fa" else f"“{value}”"


def value_words(cond: dict[str, Any], field: Field, currency: str,
                segments: dict[int, str]) -> str:
    op, value = cond.get("op"), cond.get("value")
    if op in ("is_set", "is_not_set"):
        return ""
    if field.type == "activity":
        value = value if isinstance(value, dict) else {}
        if op in ("within_last", "not_within_last"):
            words = _days(value)
        elif value.get("days") is not None:
            words = str(_("in the last %(days)s") % {"days": _days(value)})
        else:
            words = str(_("ever")) if op == "has" else ""
        if value.get("broadcast") is not None:
            words = f"{words} {_('of broadcast #%(id)s') % {'id': _digits(value['broadcast'])}}"
        return words.strip()
    if op in RELATIVE_OPS:
        return _days(value)
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return str(_("%(low)s and %(high)s") % {
            "low": _one(value[0], field, currency, segments),
            "high": _one(value[1], field, currency, segments)})
    if isinstance(value, list):
        return join_list(_one(v, field, currency, segments) for v in value)
    return _one(value, field, currency, segments)


def describe(rule: Any, fields: dict[str, Field]) -> dict[str, Any]:
    """The rule as a tree of groups and sentences, for templates/audiences/_rule_words.html."""
    currency = shop_currency()
    segments = dict(Segment.objects.values_list("id", "name"))
    return _describe(rule, fields, currency, segments, negated=False)


def _describe(rule: Any, fields: dict[str, Field], currency: str, segments: dict[int, str],
              *, negated: bool) -> dict[str, Any]:
    if isinstance(rule, dict) and set(rule) == {"not"}:
        return _describe(rule["not"], fields, currency, segments, negated=not negated)
    if isinstance(rule, dict) and len(rule) == 1 and isinstance(
            rule.get("all", rule.get("any")), list):
        mode = "all" if "all" in rule else "any"
        children = [_describe(child, fields, currency, segments, negated=False)
                    for child in rule[mode]]
        if mode == "all":
            title = _("Not all of these:") if negated else _("All of these:")
        else:
            title = _("None of these:") if negated else _("Any of these:")
        if not children:
            title = _("No one") if (mode == "all") == negated else _("Everyone")
        return {"kind": "group", "mode": mode, "negated": negated, "title": title,
                "children": children}
    field = fields.get(str(rule.get("field"))) if isinstance(rule, dict) else None
    if field is None:
        return {"kind": "unknown", "negated": negated, "text": str(rule)}
    window = rule.get("in_last")
    return {"kind": "condition", "negated": negated, "label": field.label,
            "op": op_word(field.type, rule.get("op", "")),
            "value": value_words(rule, field, currency, segments),
            "window": (str(_("counting orders of the last %(days)s")
                           % {"days": _days(window)}) if window else "")}
