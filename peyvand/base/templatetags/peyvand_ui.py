"""Presentational filters and tags: dates and digits in the active language, LTR isolation,
labels for roles, origins and custom fields."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from peyvand.base.activity_labels import audit_action_label, counts_in_words, target_type_label
from peyvand.base.dates import format_date, persian_digits
from peyvand.base.language import join_list, page_language
from peyvand.base.roles import ROLE_CHOICES, can

register = template.Library()

_ROLE_LABELS = dict(ROLE_CHOICES)
# Where a contact or an audited action came from (Contact.source, AuditEntry.via).
_ORIGINS = {
    "ui": _("Web app"),
    "api": _("API"),
    "cli": _("Command line"),
    "system": _("System"),
    "import": _("File import"),
    "demo": _("Demo data"),
}


_IN_TEXT_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_IN_TEXT_GROUP = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_IN_TEXT_PERCENT = re.compile(r"(?<=\d)%")
_NUMBER = re.compile(r"^-?\d{1,3}(?:,\d{3})*(?:\.\d+)?%?$|^-?\d+(?:\.\d+)?%?$")


def _fa() -> bool:
    return page_language() == "fa"


@register.filter
def fadigits(value: Any) -> str:
    """Persian digits when the page is in Persian; the value unchanged otherwise."""
    if value is None:
        return ""
    text = str(value)
    if not _fa():
        return text
    if _NUMBER.match(text):
        # A number alone: the Persian decimal separator, thousands mark and percent sign.
        text = text.replace(",", "\u066c").replace(".", "\u066b").replace("%", "\u066a")
    else:
        # Numbers inside a sentence («۰٫۵ برابر», «۲۰٪»): the same marks beside digits.
        text = _IN_TEXT_POINT.sub("\u066b", _IN_TEXT_GROUP.sub("\u066c", text))
        text = _IN_TEXT_PERCENT.sub("\u066a", text)
    return persian_digits(text)


@register.filter
def jdate(value: dt.date | dt.datetime | None) -> str:
    """Jalali with Persian digits in fa, ISO in en; datetimes in the local time zone."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, page_language())


@register.filter
def jday(value: dt.datetime | None) -> str:
    """Only the local calendar day of a moment."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_date(local.date(), page_language())


@register.filter
def ltr(value: Any):
    """Isolate a left-to-right fragment (e-mail, phone, URL, id) so RTL text cannot reorder it."""
    if value in (None, ""):
        return ""
    return format_html('<bdi dir="ltr">{}</bdi>', value)


@register.filter
def isolate(value: Any):
    """Text of unknown direction (a name) inside a sentence: it cannot reorder its neighbours."""
    return format_html("<bdi>{}</bdi>", value)


@register.filter
def contact_ref(contact: Any):
    """A contact's name with its number, e.g. to tell two “Ali Rezaei” apart."""
    return format_html('<bdi>{}</bdi> <span class="muted">#{}</span>', contact.display_name,
                       fadigits(contact.pk))


def isolate_text(value: Any) -> str:
    """`isolate` for plain text (flash messages): Unicode first-strong isolate marks."""
    return f"\u2068{value}\u2069"


def ltr_text(value: Any) -> str:
    """`ltr` for plain text: a left-to-right isolate."""
    return f"\u2066{value}\u2069"


@register.filter
def field_label(field: Any) -> str:
    """A custom field's label in the active language."""
    return field.label(page_language())


@register.filter
def role_label(role: str) -> str:
    return str(_ROLE_LABELS.get(role, role or "—"))


@register.filter
def origin_label(value: str) -> str:
    return str(_ORIGINS.get(value, value))


@register.filter
def show_value(value: Any) -> str:
    """Any stored value as text: dates in the page's calendar, numbers without padding."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, (dt.date, dt.datetime)):
        return jdate(value)
    if isinstance(value, decimal.Decimal):
        text = format(value.normalize(), "f")
        return fadigits(text)
    if isinstance(value, int):
        return fadigits(value)
    if isinstance(value, (list, tuple)):
        return join_list(value)
    return str(value)


@register.filter
def audit_action(action: str) -> str:
    """An audit row's action in words ("Broadcast created"), never its stored key."""
    return audit_action_label(action or "")


@register.filter
def audit_target(target_type: str) -> str:
    return target_type_label(target_type or "")


@register.filter
def audit_summary(summary: str):
    """Counts ("read=5 created=3") as words with the page's digits; other text isolated."""
    counts = counts_in_words(summary or "")
    if counts is None:
        return ltr(summary) if summary else ""
    sep = "، " if _fa() else ", "
    return sep.join(f"{fadigits(n)} {label}" for label, n in counts)


@register.simple_tag
def list_separator() -> str:
    """Between the items of a list: the Persian comma only on a Persian page."""
    return join_list(["", ""])


@register.simple_tag
def shop_profile():
    """`{% shop_profile as shop %}`: the shop's name and logo for public pages."""
    from peyvand.base.shop import shop_profile as profile

    return profile()


@register.filter(name="can")
def can_filter(role: str, capability: str) -> bool:
    """`{% if role|can:"contacts.edit" %}`: what the signed-in user's role may do."""
    return can(role or "", capability)


@register.inclusion_tag("includes/pagination.html", takes_context=True)
def pagination(context, page: Any, param: str = "page") -> dict[str, Any]:
    """Page links that keep every other query parameter (search, filters)."""
    request = context["request"]

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = number
        return "?" + query.urlencode()

    links: list[dict[str, Any]] = []
    if page.paginator.num_pages > 1:
        for number in page.paginator.get_elided_page_range(page.number, on_each_side=2,
                                                           on_ends=1):
            if number == page.paginator.ELLIPSIS:
                links.append({"gap": True})
            else:
                links.append({"number": number, "url": url(number),
                              "current": number == page.number})
    return {
        "page": page,
        "links": links,
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
    }
