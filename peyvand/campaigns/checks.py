"""A campaign's plan checked: every refusal names its field (the form's, the API's)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.normalise import ascii_digits, normalise_text
from peyvand.base.normalise.errors import InvalidValue
from peyvand.campaigns.models import Campaign
from peyvand.messaging.audience import check_audience
from peyvand.messaging.models import Channel, MessageClass, MessageTemplate

LABELS = "ABCD"
MAX_ATTRIBUTION_DAYS = 90


def _int(raw: dict, name: str, default: int | None = None) -> int | None:
    value = raw.get(name)
    if value in (None, ""):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return -1  # refused by the range check that follows


def _template(value: Any, errors: dict[str, str], field: str) -> MessageTemplate | None:
    if isinstance(value, MessageTemplate):
        return value
    text = str(value or "").strip()
    found = MessageTemplate.objects.filter(name=text).first() or (
        MessageTemplate.objects.filter(pk=int(text)).first() if text.isdigit() else None)
    if found is None:
        errors[field] = _("Choose a template.") if not text else \
            _("There is no template named “%(name)s”.") % {"name": text}
    elif found.message_class != MessageClass.MARKETING:
        errors[field] = _("“%(name)s” is not a marketing template: a campaign needs each "
                          "contact's consent, so it sends marketing templates only.") % {
                              "name": found.name}
    return found


def _when(value: Any, day: Any = None, clock: Any = None) -> dt.datetime | None:
    """An ISO moment (the API), or a day in the user's calendar (Jalali in fa) and an HH:MM
    (the page), in the shop's time zone when no zone is given."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    text = str(value or "").strip()
    if not text and day:
        date = parse_date(day)
        if date is None:
            return None
        hour, _sep, minute = ascii_digits(str(clock or "09:00")).strip().partition(":")
        parsed = dt.datetime.combine(date, dt.time(int(hour), int(minute or 0)))
        return timezone.make_aware(parsed, ZoneInfo(settings.TIME_ZONE))
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(ascii_digits(text))  # ValueError: the caller says which
    return parsed if timezone.is_aware(parsed) else \
        timezone.make_aware(parsed, ZoneInfo(settings.TIME_ZONE))


def check_schedule(raw: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """now | at (send_at) | local_hour (local_date + local_hour): never guessed."""
    schedule = str(raw.get("schedule") or "now")
    clean: dict[str, Any] = {"schedule": schedule, "send_at": None, "local_date": None,
                             "local_hour": None}
    if schedule not in Campaign.Schedule.values:
        errors["schedule"] = _("Choose when it goes: now, at a time, or at an hour in each "
                               "contact's time zone.")
        return clean
    if schedule == Campaign.Schedule.AT:
        try:
            clean["send_at"] = _when(raw.get("send_at"), raw.get("send_date"),
                                     raw.get("send_time"))
        except (ValueError, InvalidValue):
            errors["send_at"] = _("Give the day and the time, as 1405/10/03 and 09:30 "
                                  "(or 2026-12-24 and 09:30).")
        else:
            if clean["send_at"] is None:
                errors["send_at"] = _("Give the time it goes.")
            elif clean["send_at"] < timezone.now() - dt.timedelta(minutes=5):
                errors["send_at"] = _("This time has passed.")
    elif schedule == Campaign.Schedule.LOCAL_HOUR:
        hour = _int(raw, "local_hour")
        if hour is None or not 0 <= hour <= 23:
            errors["local_hour"] = _("Give an hour from 0 to 23.")
        clean["local_hour"] = hour
        try:
            clean["local_date"] = parse_date(raw.get("local_date"), "local_date")
        except InvalidValue as exc:
            errors["local_date"] = str(exc.reason)
        if clean["local_date"] is None and "local_date" not in errors:
            errors["local_date"] = _("Give the day.")
    return clean


def check_campaign(raw: dict[str, Any], campaign: Campaign | None = None) -> dict[str, Any]:
    """The campaign's plan, checked: every refusal names its field."""
    errors: dict[str, str] = {}
    was = campaign

    def get(name: str, default: Any = None) -> Any:
        if name in raw:
            return raw[name]
        return getattr(was, name) if was is not None else default

    clean: dict[str, Any] = {"name": normalise_text(str(get("name", "") or ""))[:120]}
    if not clean["name"]:
        errors["name"] = _("Give the campaign a name.")
    clean["channel"] = str(get("channel", Channel.EMAIL) or Channel.EMAIL)
    if clean["channel"] not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    spec = get("audience_spec", {}) if "audience" not in raw else raw["audience"]
    try:
        clean["audience_spec"] = check_audience(spec or {})
    except Invalid as exc:
        errors.update({(k if k == "audience" else f"audience.{k}"): v
                       for k, v in exc.errors.items()})
    else:
        if not clean["audience_spec"]:
            errors["audience"] = _("Choose who receives it: segments, tags or contacts.")
    clean["goal"] = str(get("goal", Campaign.Goal.CLICKS))
    if clean["goal"] not in Campaign.Goal.values:
        errors["goal"] = _("Choose the goal: clicks, orders or revenue.")
    days = _int(raw, "attribution_days", was.attribution_days if was else 5)
    if days is None or not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        errors["attribution_days"] = _("Give a window of 1 to %(max)s days.") % {
            "max": MAX_ATTRIBUTION_DAYS}
    clean["attribution_days"] = days
    clean["occasion"] = str(get("occasion", "") or "")[:64]
    if any(k in raw for k in ("schedule", "send_at", "local_date", "local_hour")) or not was:
        clean.update(check_schedule({"schedule": get("schedule", "now"),
                                     "send_at": get("send_at"), "local_date": get("local_date"),
                                     "local_hour": get("local_hour")}, errors))
    clean["variants"] = _check_variants(raw, was, clean["channel"], errors)
    _check_test(raw, was, clean, errors)
    if errors:
        raise Invalid(errors)
    return clean


def _check_variants(raw: dict[str, Any], was: Campaign | None, channel: str,
                    errors: dict[str, str]) -> list[dict[str, Any]]:
    """[{template, subject, send_hour}] for A…D; `template` alone means one variant."""
    if "variants" in raw:
        given = raw["variants"] or []
    elif "template" in raw:
        given = [{"template": raw["template"], "subject": raw.get("subject", "")}]
    elif was is not None:
        return [{"template": v.template, "subject": v.subject, "from_name": v.from_name,
                 "send_hour": v.send_hour} for v in was.variants.all()]
    else:
        given = []
    if not isinstance(given, list) or not 1 <= len(given) <= 4:
        errors["variants"] = _("Give one to four variants (A is the control).") \
            if given else _("Choose a template.")
        return []
    clean = []
    for index, item in enumerate(given):
        field = f"variants.{index}" if len(given) > 1 else "template"
        item = item if isinstance(item, dict) else {"template": item}
        template = _template(item.get("template"), errors, field)
        if template is not None and template.channel != channel:
            errors[field] = _("“%(name)s” is a template for another channel.") % {
                "name": template.name}
        subject = " ".join(str(item.get("subject") or "").split())[:300]
        sender = " ".join(str(item.get("from_name") or "").split())
        if len(sender) > 100 or any(c in sender for c in "<>@\"\r\n"):
            errors[f"{field}.from_name"] = _("A sender name is up to 100 characters, "
                                             "without an address.")
        hour = _int(item, "send_hour")
        if hour is not None and not 0 <= hour <= 23:
            errors[f"{field}.send_hour"] = _("Give an hour from 0 to 23.")
        clean.append({"template": template, "subject": subject, "from_name": sender,
                      "send_hour": hour})
    return clean


def _check_test(raw: dict[str, Any], was: Campaign | None, clean: dict[str, Any],
                errors: dict[str, str]) -> None:
    share = _int(raw, "test_percent", was.test_percent if was else 0)
    several = len(clean["variants"]) > 1
    if several and (share is None or not 5 <= share <= 50):
        errors["test_percent"] = _("An A/B test needs a test share of 5% to 50% of the "
                                   "audience.")
    if not several:
        share = 0
    clean["test_percent"] = share
    clean["ab_metric"] = str(raw.get("ab_metric") or (was.ab_metric if was else "click_rate"))
    if clean["ab_metric"] not in Campaign.Metric.values:
        errors["ab_metric"] = _("Choose how the winner is picked.")
    hours = _int(raw, "test_hours", was.test_hours if was else 4)
    if hours is None or not 1 <= hours <= 168:
        errors["test_hours"] = _("Decide after 1 to 168 hours.")
    clean["test_hours"] = hours
