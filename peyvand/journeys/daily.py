"""The people of the daily triggers: whose date comes round today (`date`), who became due
or overdue for their next purchase (`overdue`) and whose P(alive) fell below a threshold
(`p_alive_below`), the last two from insights' CustomerMetrics.

Run by `triggers.enrol_daily` once a day per journey. A date field's anniversary is its
month-day on the contact's calendar: Jalali for fa contacts, Gregorian otherwise, through
audiences' day table (calendar.py), so the same rule as "birthday within the next N days"
holds here (Esfand 30 / Feb 29 fall on the last day of the month in a short year).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from peyvand.audiences import calendar
from peyvand.audiences.models import CalendarDay
from peyvand.contacts.models import Contact, FieldValue


def date_target(today: dt.date, offset_days: int) -> dt.date:
    """The day whose anniversary enrols people today: `offset_days` -3 enrols them three
    days before their date, 2 two days after it."""
    return today - dt.timedelta(days=offset_days)


def date_people(trigger: dict[str, Any], today: dt.date) -> QuerySet[Contact]:
    """Live contacts whose `trigger["field"]` has its anniversary on today - offset_days
    (a date of that very day or later is no anniversary yet)."""
    target = date_target(today, int(trigger.get("offset_days", 0)))
    calendar.ensure_days(target.year + 1)
    gregorian, jalali = calendar.month_days(target, 0)
    before = CalendarDay.objects.filter(day__lt=target)
    on_jalali = before.filter(jalali_md__in=jalali).values("day")
    on_gregorian = before.filter(gregorian_md__in=gregorian).values("day")
    fa = Q(language=Contact.Language.FA)
    field = trigger["field"]
    if field == "birthday":
        match = (fa & Q(birthday__in=on_jalali)) | (~fa & Q(birthday__in=on_gregorian))
    elif field == "signup_anniversary":
        match = (fa & Q(created_at__date__in=on_jalali)) \
            | (~fa & Q(created_at__date__in=on_gregorian))
    else:  # fields.<key>: a custom date field
        values = FieldValue.objects.filter(field__key=field.removeprefix("fields."))
        match = (fa & Q(pk__in=values.filter(date_value__in=on_jalali).values("contact_id"))) \
            | (~fa & Q(pk__in=values.filter(date_value__in=on_gregorian).values("contact_id")))
    return Contact.objects.live().filter(match).order_by("pk")


def metrics_people(trigger: dict[str, Any]) -> list[tuple[int, str]]:
    """(contact id, source) of the people an `overdue` or `p_alive_below` trigger finds in
    insights' metrics. The source names the occasion (the due date; the last order), so each
    person enters once per occasion: once per purchase cycle, and once per drop of P(alive)
    (their next order starts a new one)."""
    from peyvand.insights.models import CustomerMetrics, DueStatus

    live = CustomerMetrics.objects.filter(contact__erased_at__isnull=True)
    if trigger["type"] == "overdue":
        status = str(trigger.get("status", DueStatus.OVERDUE))
        due_rows = live.filter(due_status=status, next_due_date__isnull=False).values_list(
            "contact_id", "next_due_date")
        return [(pk, f"{status}:{due.isoformat() if due else '-'}")
                for pk, due in due_rows.order_by("pk")]
    threshold = float(trigger["threshold"])
    rows = live.filter(p_alive__lt=threshold).values_list("contact_id", "last_order_at")
    return [(pk, f"p_alive<{threshold}:{last.date().isoformat() if last else '-'}")
            for pk, last in rows.order_by("pk")]
