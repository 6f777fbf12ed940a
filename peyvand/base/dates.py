"""Dates as people type and read them: Jalali in Persian, Gregorian in English."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*$")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# No Gregorian date a CRM holds is before 1700, and no Jalali one after 1700 (= 2321 AD).
_JALALI_YEAR_LIMIT = 1700


def parse_date(value: str | dt.date | None, field: str = "date") -> dt.date | None:
    """'1403/02/12' (Jalali) or '2024-05-01' (Gregorian), any digit script; '' -> None."""
    if value is None or isinstance(value, dt.date):
        return value
    text = ascii_digits(str(value)).strip()
    if not text:
        return None
    match = _DATE.match(text)
    if not match:
        raise InvalidValue(field, _("“%(value)s” is not a date; write it as 1403/02/12 or "
                                    "2024-05-01.") % {"value": value}, value)
    year, month, day = (int(g) for g in match.groups())
    try:
        if year < _JALALI_YEAR_LIMIT:
            return jdatetime.date(year, month, day).togregorian()
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidValue(field, _("“%(value)s” is not a real calendar date.")
                           % {"value": value}, value)


def persian_digits(text: str) -> str:
    return str(text).translate(_PERSIAN_DIGITS)


def format_date(value: dt.date | dt.datetime | None, language: str) -> str:
    if value is None:
        return ""
    if language == "fa":
        if isinstance(value, dt.datetime):
            return persian_digits(jdatetime.datetime.fromgregorian(datetime=value)
                                  .strftime("%Y/%m/%d %H:%M"))
        return persian_digits(jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d"))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def input_date(value: dt.date | None, language: str) -> str:
    """A date as the date inputs of that language expect it back (ASCII digits)."""
    if value is None:
        return ""
    if language == "fa":
        return jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d")
    return value.isoformat()


def zone_of(name: str | None) -> ZoneInfo:
    """A contact's time zone by name; the shop's (TIME_ZONE) when it is empty or unknown.
    (ZoneInfo keeps its own cache of zones, so this is cheap on the drain's hot path.)"""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)
