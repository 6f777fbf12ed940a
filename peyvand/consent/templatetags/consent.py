"""The consent panel on the contact page, labels for consent values, and the wording of
consent timeline entries."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.language import join_list, page_language
from peyvand.base.roles import can
from peyvand.base.templatetags.peyvand_ui import fadigits, jday
from peyvand.consent.models import (
    REASON_LABELS,
    Action,
    Channel,
    ConsentChange,
    Format,
    Frequency,
    IncentiveKind,
    Source,
    Status,
    SuppressionReason,
    Topic,
)

register = template.Library()

_STATUS_CLASS: dict[str, str] = {Status.IN: "green", Status.PENDING: "amber", Status.OUT: "red"}


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"


@register.filter
def status_label(value: str) -> str:
    return _("Not subscribed") if value == "none" else _label(Status, value)


@register.filter
def status_class(value: str) -> str:
    return _STATUS_CLASS.get(value, "gray")


@register.filter
def suppression_label(value: str) -> str:
    return _label(SuppressionReason, value)


@register.filter
def format_label(value: str) -> str:
    return _label(Format, value)


@register.filter
def frequency_label(value: str) -> str:
    return _label(Frequency, value)


@register.filter
def source_label(value: str) -> str:
    return _label(Source, value)


@register.filter
def channel_label(value: str) -> str:
    return _label(Channel, value)


@register.filter
def incentive_label(value: str) -> str:
    return _label(IncentiveKind, value)


@register.filter
def topic_name(topic: Topic | None) -> str:
    if topic is None:
        return _("All topics")
    return topic.name(page_language())


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return fadigits(f"{value * 100:.1f}%")


@register.filter
def change_summary(change: ConsentChange) -> str:
    """«Opted in · E-mail · News (monthly)» for one ledger row."""
    parts = [_label(Action, change.action), _label(Channel, change.channel)]
    if change.topic is not None:
        parts.append(change.topic.name(page_language()))
    details = change.details or {}
    if details.get("frequency"):
        parts.append(_label(Frequency, details["frequency"]))
    if details.get("format"):
        parts.append(_label(Format, details["format"]))
    if details.get("paused_until"):
        from django.utils.dateparse import parse_datetime

        until = parse_datetime(str(details["paused_until"]))
        if until:
            parts.append(_("until %(date)s") % {"date": jday(until)})
    if details.get("reason"):
        parts.append(str(REASON_LABELS.get(details["reason"], details["reason"])))
    return " · ".join(str(p) for p in parts)


def reply_summary(event: Any) -> str:
    """The words of an "sms.replied" entry, cut to one line."""
    text = " ".join(str((event.data or {}).get("text", "")).split())
    return text if len(text) <= 120 else text[:119] + "…"


def consent_event_summary(event: Any) -> str:
    """One line under a consent.* timeline entry: channels, topics, where it came from."""
    data = event.data or {}
    parts = []
    channels = [_label(Channel, c) for c in data.get("channels", [])]
    if channels:
        parts.append(join_list(channels))
    keys = data.get("topics") or []
    if keys:
        names = {t.key: t.name(page_language()) for t in Topic.objects.filter(key__in=keys)}
        parts.append(join_list(names.get(k, k) for k in keys))
    if data.get("frequency"):
        parts.append(_label(Frequency, data["frequency"]))
    if data.get("paused_until"):
        from django.utils.dateparse import parse_datetime

        until = parse_datetime(str(data["paused_until"]))
        if until:
            parts.append(_("until %(date)s") % {"date": jday(until)})
    if data.get("source"):
        parts.append(_label(Source, data["source"]))
    if data.get("to"):  # a preference link mailed at the person's request
        parts.append(_("to %(address)s") % {"address": data["to"]})
    return " · ".join(parts)


@register.inclusion_tag("consent/_contact_panel.html", takes_context=True)
def consent_panel(context, contact_id: int, rows: int = 5) -> dict[str, Any]:
    """`{% load consent %}{% consent_panel contact.pk %}` on the contact page."""
    from peyvand.consent.queries import consent_history, consent_overview
    from peyvand.contacts.models import Contact

    request = context.get("request")
    user = getattr(request, "user", None)
    actor = Actor.for_user(user, "ui") if user is not None and user.is_authenticated else None
    if actor is None or not can(actor, "consent.view"):
        return {"hidden": True}
    contact = Contact.objects.get(pk=contact_id)
    return {
        "contact_id": contact_id,
        "overview": consent_overview(actor, contact),
        "recent": list(consent_history(actor, contact)[:rows]),
    }
