"""The day table behind "birthday within the next N days".

A birthday is stored as a Gregorian date; for a fa contact its anniversary is the Jalali
month and day (born 1370/01/01: every Farvardin 1st, which is March 20 or 21 depending on the
year). SQL cannot convert calendars portably, so each day carries both month-days and the
condition becomes a join on this table, exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

import jdatetime

from peyvand.audiences.models import CalendarDay

FIRST_YEAR = 1900  # birthdays before this are not matched by relative birthday conditions


def month_days(start: dt.date, days: int) -> tuple[set[int], set[int]]:
    """The (Gregorian, Jalali) month-days (month * 100 + day) of `start` and the `days` days
    after it. A Feb 29 (Esfand 30) birthday is celebrated on Feb 28 (Esfand 29) of a year
    without it."""
    gregorian: set[int] = set()
    jalali: set[int] = set()
    for offset in range(days + 1):
        day = start + dt.timedelta(days=offset)
        gregorian.add(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not _gregorian_leap(day.year):
            gregorian.add(229)
        j = jdatetime.date.fromgregorian(date=day)
        jalali.add(j.month * 100 + j.day)
        if j.month == 12 and j.day == 29 and not j.isleap():
            jalali.add(1230)
    return gregorian, jalali


def _gregorian_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def ensure_days(last_year: int) -> None:
    """Fill the table from FIRST_YEAR to the end of `last_year` if it is not yet (a second
    caller racing the first inserts nothing twice)."""
    first, last = dt.date(FIRST_YEAR, 1, 1), dt.date(last_year, 12, 31)
    if CalendarDay.objects.filter(day__in=[first, last]).count() == 2:
        return
    have = set(CalendarDay.objects.values_list("day", flat=True))
    rows = []
    day = first
    while day <= last:
        if day not in have:
            j = jdatetime.date.fromgregorian(date=day)
            rows.append(CalendarDay(day=day, gregorian_md=day.month * 100 + day.day,
                                    jalali_md=j.month * 100 + j.day))
        day += dt.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
