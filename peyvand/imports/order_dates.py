"""Order dates in the forms shops export, read in a stated or detected calendar.

`1403/05/12` and `۱۴۰۳/۰۵/۱۲` (Jalali), `2024-08-02`, `2024-08-02 14:30`, `20240802` (as the
CDNOW data set writes them), ISO with a zone
(`2024-08-02T14:30:00Z`), a spreadsheet's own date cells, and Excel serial numbers (a number
in a date column: days since 1899-12-30, the fraction is the time of day). The calendar is
stated (`jalali`, `gregorian`) or detected per cell (`auto`: years 1300–1499 are Jalali).
A date without a zone is the shop's local time (TIME_ZONE).

`DateNotes` keeps the first example of each form read, so the preview and the summary can
say how the dates were understood ("dates read as Jalali: 1403/05/12 → 2024-08-02").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jdatetime
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.normalise import InvalidValue, ascii_digits

CALENDARS = ("auto", "jalali", "gregorian")
JALALI_YEARS = range(1300, 1500)
# Excel's day 0 (its serials count from 1900-01-01 = 1 and include a 29 Feb 1900 that was
# not: from 1900-03-01 on, which is every order, this epoch is right).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")  # 10000–99999: 1927 to 2173
_DATE_TIME = re.compile(
    r"^(\d{4})(?:\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})|(\d{2})(\d{2}))"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")

FORMS = {
    "jalali": gettext_lazy("Jalali"),
    "gregorian": gettext_lazy("Gregorian"),
    "excel": gettext_lazy("Excel serial numbers"),
    "cell": gettext_lazy("spreadsheet dates"),
}


@dataclass
class DateNotes:
    """How many dates were read in each form, and the first of each (as written, as read)."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Looked up once: the current zone costs as much as reading the date (asgiref locals).
    zone: Any = field(default_factory=timezone.get_current_timezone)

    def add(self, form: str, written: Any, moment: dt.datetime) -> None:
        self.counts[form] = self.counts.get(form, 0) + 1
        if form not in self.examples:
            local = timezone.localtime(moment)
            shown = local.strftime("%Y-%m-%d %H:%M") if local.time() != dt.time() \
                else local.date().isoformat()
            self.examples[form] = (str(written), shown)

    def lines(self, digits: Callable[[str], str] = str) -> list[str]:
        """One line per form; `digits` writes the example's digits (Persian on a fa page)."""
        return [_("dates read as %(form)s: %(written)s → %(read)s")
                % {"form": FORMS[form], "written": digits(written), "read": digits(read)}
                for form, (written, read) in self.examples.items()]

    def as_dict(self) -> dict[str, Any]:
        return {form: {"count": self.counts[form], "example": list(example)}
                for form, example in self.examples.items()}


def _aware(moment: dt.datetime, zone: Any = None) -> dt.datetime:
    return timezone.make_aware(moment, zone) if timezone.is_naive(moment) else moment


def _invalid(value: Any) -> InvalidValue:
    return InvalidValue("placed_at", _("“%(value)s” is not a date; write it as 1403/05/12, "
                                       "2024-08-02 or 2024-08-02 14:30.") % {"value": value},
                        value)


def read_order_date(value: Any, calendar: str = "auto",
                    notes: DateNotes | None = None) -> dt.datetime | None:
    """An aware datetime from a date cell; None when it is empty; InvalidValue when it is not
    a date (or not one in the stated calendar)."""
    if value in (None, ""):
        return None
    zone = notes.zone if notes is not None else None
    if isinstance(value, dt.datetime | dt.date):
        moment = value if isinstance(value, dt.datetime) else \
            dt.datetime.combine(value, dt.time())
        moment = _aware(moment, zone)
        if notes is not None:
            notes.add("cell", value, moment)
        return moment
    text = ascii_digits(str(value)).strip()
    if not text:
        return None
    if _SERIAL.match(text):
        moment = _aware(_EXCEL_EPOCH + dt.timedelta(days=float(text)), zone)
        moment = moment.replace(microsecond=0)
        if notes is not None:
            notes.add("excel", value, moment)
        return moment
    match = _DATE_TIME.match(text)
    if match:
        year, month, day, packed_month, packed_day, hour, minute, second = (
            int(g or 0) for g in match.groups())
        month, day = (month, day) if month else (packed_month, packed_day)
        jalali = year in JALALI_YEARS if calendar == "auto" else calendar == "jalali"
        if calendar == "jalali" and year not in JALALI_YEARS:
            raise InvalidValue("placed_at", _("“%(value)s” is not a Jalali date, and the "
                                              "calendar was given as Jalali.")
                               % {"value": value}, value)
        try:
            day_of = (jdatetime.date(year, month, day).togregorian() if jalali
                      else dt.date(year, month, day))
            moment = _aware(dt.datetime.combine(day_of, dt.time(hour, minute, second)), zone)
        except ValueError:
            raise InvalidValue("placed_at", _("“%(value)s” is not a real calendar date.")
                               % {"value": value}, value)
        if notes is not None:
            notes.add("jalali" if jalali else "gregorian", value, moment)
        return moment
    try:
        parsed = parse_datetime(text)  # ISO 8601 with T, seconds, a zone
    except ValueError:
        parsed = None
    if parsed is None:
        raise _invalid(value)
    if calendar == "jalali":
        raise InvalidValue("placed_at", _("“%(value)s” is not a Jalali date, and the calendar "
                                          "was given as Jalali.") % {"value": value}, value)
    moment = _aware(parsed, zone)
    if notes is not None:
        notes.add("gregorian", value, moment)
    return moment
