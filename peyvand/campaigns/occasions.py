"""The occasion calendar campaigns are planned on: Iranian, religious and global days, the
shop's own dates, and the data of one month's view.

Solar occasions are fixed Jalali days (jdatetime). Lunar ones are computed with `hijridate`,
the Umm al-Qura calendar of Saudi Arabia (1343–1500 AH, 1924–2077; outside it lunar occasions
are left out). Iran fixes its lunar dates by moon sighting, so the official Iranian day can
be a day later than Umm al-Qura (`holidays.IR` assumes one day later unless told otherwise;
for 2001–2026 it is one day later for about two thirds of its lunar holidays and the same
day for the rest). `lunar_shift=1` moves every lunar occasion one day later. An owner
corrects a day the built-in calendar has wrong by adding a shop date on the right day, marked
quiet for a mourning day: `is_quiet` then answers with that date (the built-in one stays
quiet too, which errs on the side of not sending).

Quiet days (marketing should pause), as on Iran's official calendar of holidays (the
calendar centre of the University of Tehran's Institute of Geophysics, time.ir; the same
days as `holidays.IR`, whose sources are fa.wikipedia.org "تعطیلات عمومی در ایران" and
time.ir):
  Tasua and Ashura (9, 10 Muharram), Arbaeen (20 Safar), the Prophet's death and Imam
  Hasan's martyrdom (28 Safar), Imam Reza's martyrdom (the last day of Safar), Fatimiyya
  (Fatima's martyrdom, 3 Jumada al-Thani, the official holiday), Imam Ali's martyrdom
  (21 Ramadan), the death of Imam Khomeini (14 Khordad) and the 15 Khordad uprising.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import jdatetime
from django.utils import timezone, translation
from django.utils.dates import MONTHS
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from hijridate import Gregorian, Hijri
from hijridate.ummalqura import GREGORIAN_RANGE

KINDS = ("iranian", "religious", "global", "shop")
CALENDARS = ("jalali", "gregorian")
_LAST = 0  # "the last day of the month" in a rule below
_SATURDAY, _MONDAY = 5, 0  # Python's weekday numbers
_LUNAR_FIRST, _LUNAR_LAST = dt.date(*GREGORIAN_RANGE[0]), dt.date(*GREGORIAN_RANGE[1])


@dataclass(frozen=True)
class Occasion:
    date: dt.date
    key: str  # stable across languages and years: "nowruz-1", "ashura", "shop-12"
    name: str
    kind: str  # one of KINDS
    quiet: bool = False  # a day marketing should pause (mourning)
    note: str = ""


class ShopDate(Protocol):
    """What `occasions_between` reads of the shop's own dates (the campaigns model's rows)."""

    @property
    def name(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def quiet(self) -> bool: ...
    @property
    def yearly(self) -> bool: ...
    @property
    def calendar(self) -> str: ...


@dataclass(frozen=True)
class _Rule:
    month: int
    day: int  # _LAST: the month's last day
    key: str
    name: Promise
    kind: str
    quiet: bool = False
    note: Promise | None = None


_EVENING = _("Celebrated on the evening of this day.")
_NIGHT_BEFORE = _("The night before this day: Islamic days begin at sunset.")

_JALALI = (
    _Rule(1, 1, "nowruz-1", _("Nowruz"), "iranian"),
    _Rule(1, 2, "nowruz-2", _("Nowruz (second day)"), "iranian"),
    _Rule(1, 3, "nowruz-3", _("Nowruz (third day)"), "iranian"),
    _Rule(1, 4, "nowruz-4", _("Nowruz (fourth day)"), "iranian"),
    _Rule(1, 13, "sizdah-bedar", _("Sizdah Bedar (Nature Day)"), "iranian"),
    _Rule(2, 12, "teachers-day", _("Teachers' Day"), "iranian"),
    _Rule(3, 14, "khomeini-death", _("Anniversary of Imam Khomeini's death"), "iranian",
          quiet=True),
    _Rule(3, 15, "khordad-15", _("Khordad 15 uprising"), "iranian", quiet=True),
    _Rule(7, 16, "mehregan", _("Mehregan"), "iranian"),
    _Rule(9, 30, "yalda", _("Yalda night"), "iranian", note=_EVENING),
    _Rule(11, 29, "sepandarmazgan", _("Sepandarmazgan (Iranian day of love)"), "iranian"),
)

_HIJRI = (
    _Rule(1, 9, "tasua", _("Tasua"), "religious", quiet=True),
    _Rule(1, 10, "ashura", _("Ashura"), "religious", quiet=True),
    _Rule(2, 20, "arbaeen", _("Arbaeen"), "religious", quiet=True),
    _Rule(2, 28, "prophet-death", _("Death of the Prophet and martyrdom of Imam Hasan"),
          "religious", quiet=True),
    _Rule(2, _LAST, "imam-reza-martyrdom", _("Martyrdom of Imam Reza"), "religious", quiet=True),
    _Rule(6, 3, "fatimiyya", _("Fatimiyya (martyrdom of Fatima)"), "religious", quiet=True),
    _Rule(6, 20, "mothers-day", _("Mother's Day (birthday of Fatima)"), "iranian"),
    _Rule(7, 13, "fathers-day", _("Father's Day (birthday of Imam Ali)"), "iranian"),
    _Rule(7, 27, "mabath", _("Eid al-Mab'ath"), "religious"),
    _Rule(8, 15, "mid-shaban", _("Mid-Sha'ban (birthday of the Mahdi)"), "religious"),
    _Rule(9, 1, "ramadan-start", _("Start of Ramadan"), "religious",
          note=_("A month of fasting: keep offers modest, no daytime food promotions.")),
    _Rule(9, 19, "qadr-1", _("Laylat al-Qadr (first night)"), "religious", note=_NIGHT_BEFORE),
    _Rule(9, 21, "qadr-2", _("Laylat al-Qadr (second night)"), "religious",
          note=_NIGHT_BEFORE),
    _Rule(9, 21, "imam-ali-martyrdom", _("Martyrdom of Imam Ali"), "religious", quiet=True),
    _Rule(9, 23, "qadr-3", _("Laylat al-Qadr (third night)"), "religious", note=_NIGHT_BEFORE),
    _Rule(10, 1, "eid-al-fitr", _("Eid al-Fitr"), "religious"),
    _Rule(12, 10, "eid-al-adha", _("Eid al-Adha"), "religious"),
    _Rule(12, 18, "eid-al-ghadir", _("Eid al-Ghadir"), "religious"),
)

_GREGORIAN = (
    _Rule(1, 1, "new-year", _("New Year's Day"), "global"),
    _Rule(2, 14, "valentines-day", _("Valentine's Day"), "global"),
    _Rule(12, 25, "christmas", _("Christmas"), "global"),
)


def _occasion(day: dt.date, rule: _Rule) -> Occasion:
    # str() of a lazy name translates it now, in the language active for this call.
    return Occasion(day, rule.key, str(rule.name), rule.kind, rule.quiet,
                    str(rule.note) if rule.note else "")


def _jalali_year(day: dt.date) -> int:
    return jdatetime.date.fromgregorian(date=day).year


def _jalali_on(year: int, month: int, day: int) -> dt.date:
    """Jalali year/month/day as a date; Esfand 30 is Esfand 29 in a year without it."""
    if month == 12 and day == 30 and not jdatetime.date(year, 1, 1).isleap():
        day = 29
    return jdatetime.date(year, month, day).togregorian()


def _gregorian_on(year: int, month: int, day: int) -> dt.date:
    """Year/month/day as a date; February 29 is February 28 in a year without it."""
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return dt.date(year, month, day)


def chaharshanbe_suri(jalali_year: int) -> dt.date:
    """The Tuesday before the last Wednesday of the Jalali year: the festival is that
    Wednesday's eve, so it is celebrated on Tuesday evening and dated on the Tuesday."""
    last_day = _jalali_on(jalali_year, 12, 30)
    wednesday = last_day - dt.timedelta(days=(last_day.weekday() - 2) % 7)
    return wednesday - dt.timedelta(days=1)


def black_friday(year: int) -> dt.date:
    """The Friday after the fourth Thursday of November (US Thanksgiving)."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(days=22)


def _solar(start: dt.date, end: dt.date) -> Iterator[Occasion]:
    for year in range(_jalali_year(start), _jalali_year(end) + 1):
        for rule in _JALALI:
            yield _occasion(_jalali_on(year, rule.month, rule.day), rule)
        yield Occasion(chaharshanbe_suri(year), "chaharshanbe-suri",
                       str(_("Chaharshanbe Suri")), "iranian",
                       note=str(_("The eve of the year's last Wednesday: celebrated on Tuesday "
                                  "evening.")))
    for year in range(start.year, end.year + 1):
        for rule in _GREGORIAN:
            yield _occasion(dt.date(year, rule.month, rule.day), rule)
        yield Occasion(black_friday(year), "black-friday", str(_("Black Friday")), "global")


def _lunar(start: dt.date, end: dt.date, shift: int) -> Iterator[Occasion]:
    low, high = max(start, _LUNAR_FIRST), min(end, _LUNAR_LAST)
    if low > high:
        return
    first_year = Gregorian.fromdate(low).to_hijri().year
    for year in range(first_year, Gregorian.fromdate(high).to_hijri().year + 1):
        for rule in _HIJRI:
            try:
                day = rule.day or Hijri(year, rule.month, 1).month_length()
                gregorian = Hijri(year, rule.month, day).to_gregorian()
            except (ValueError, OverflowError):  # a day beyond Umm al-Qura's range
                continue
            yield _occasion(gregorian + dt.timedelta(days=shift), rule)


def builtin_occasions(start: dt.date, end: dt.date, *, lunar_shift: int = 0) -> list[Occasion]:
    """Every built-in occasion from `start` to `end` (both included), sorted by date; names
    in the active language. `lunar_shift` days are added to lunar dates (see the module)."""
    if start > end:
        return []
    found = [o for o in (*_solar(start, end), *_lunar(start, end, lunar_shift))
             if start <= o.date <= end]
    return sorted(found, key=lambda o: o.date)


def _shop_key(shop: ShopDate) -> str:
    pk = getattr(shop, "pk", None)
    return f"shop-{pk}" if pk is not None else f"shop-{shop.date.isoformat()}-{shop.name}"


def _shop_days(shop: ShopDate, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """The days a shop date falls on: once, or every year from its own year on the same
    Jalali or Gregorian month and day."""
    if not shop.yearly:
        yield shop.date
    elif shop.calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=shop.date)
        for year in range(max(j.year, _jalali_year(start)), _jalali_year(end) + 1):
            yield _jalali_on(year, j.month, j.day)
    elif shop.calendar == "gregorian":
        for year in range(max(shop.date.year, start.year), end.year + 1):
            yield _gregorian_on(year, shop.date.month, shop.date.day)
    else:
        raise ValueError(f"unknown calendar {shop.calendar!r}")


def occasions_between(start: dt.date, end: dt.date, shop_dates: Iterable[ShopDate] = (), *,
                      lunar_shift: int = 0) -> list[Occasion]:
    """Built-in occasions and the shop's own dates from `start` to `end`, sorted by date (on
    one day the built-in ones first)."""
    found = builtin_occasions(start, end, lunar_shift=lunar_shift)
    for shop in shop_dates:
        note = str(getattr(shop, "note", "") or "")
        found.extend(Occasion(day, _shop_key(shop), shop.name, "shop", bool(shop.quiet), note)
                     for day in _shop_days(shop, start, end) if start <= day <= end)
    return sorted(found, key=lambda o: o.date)


def is_quiet(day: dt.date, shop_dates: Iterable[ShopDate] = (), *,
             lunar_shift: int = 0) -> Occasion | None:
    """The quiet occasion on `day` (the shop's own first), or None when marketing may go on."""
    quiet = [o for o in occasions_between(day, day, shop_dates, lunar_shift=lunar_shift)
             if o.quiet]
    quiet.sort(key=lambda o: o.kind != "shop")
    return quiet[0] if quiet else None


# --- one month's view ------------------------------------------------------------------------


def _first_day(year: int, month: int, calendar: str) -> dt.date:
    if calendar == "jalali":
        return jdatetime.date(year, month, 1).togregorian()
    return dt.date(year, month, 1)


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def month_bounds(year: int, month: int, calendar: str) -> tuple[dt.date, dt.date]:
    """The first and last (Gregorian) dates of a Jalali or Gregorian month: the range to ask
    `occasions_between` and the campaigns for before calling `month_grid`."""
    if calendar not in CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r}")
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1-12")
    next_year, next_month = _shift_month(year, month, 1)
    return (_first_day(year, month, calendar),
            _first_day(next_year, next_month, calendar) - dt.timedelta(days=1))


def _month_name(calendar: str, month: int, language: str) -> str:
    """Call inside translation.override(language): Gregorian names come from Django's
    catalogue, Jalali ones from jdatetime's Persian and English lists."""
    if calendar == "jalali":
        names = jdatetime.date.j_months_fa if language == "fa" else jdatetime.date.j_months_en
        return names[month - 1]
    return str(MONTHS[month])


def _weekday(weekday: int, language: str, short: bool = False) -> str:
    """A weekday's name (Python's numbering, Monday 0) from jdatetime's lists, which start on
    Saturday and write the Persian names with their zero-width non-joiners."""
    if language == "fa":
        names = jdatetime.date.j_weekdays_fa
    else:
        names = jdatetime.date.j_weekdays_short_en if short else jdatetime.date.j_weekdays_en
    return names[(weekday - _SATURDAY) % 7]


def _parts(day: dt.date, calendar: str, language: str) -> dict[str, Any]:
    if calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=day)
        year, month, number = j.year, j.month, j.day
    else:
        year, month, number = day.year, day.month, day.day
    return {"year": year, "month": month, "day": number,
            "month_name": _month_name(calendar, month, language)}


def _nav(year: int, month: int, calendar: str, language: str) -> dict[str, Any]:
    return {"year": year, "month": month, "month_name": _month_name(calendar, month, language),
            "query": urlencode({"year": year, "month": month})}


def _cell(day: dt.date, calendar: str, language: str, today: dt.date,
          occasions: list[Occasion], campaigns: list[Any]) -> dict[str, Any]:
    other = "gregorian" if calendar == "jalali" else "jalali"
    primary, secondary = _parts(day, calendar, language), _parts(day, other, language)
    return {
        "date": day,
        "iso": day.isoformat(),
        "weekday": _weekday(day.weekday(), language),
        "jalali": primary if calendar == "jalali" else secondary,
        "gregorian": secondary if calendar == "jalali" else primary,
        "primary": primary,
        "secondary": secondary,
        "today": day == today,
        "occasions": occasions,
        "quiet": any(o.quiet for o in occasions),
        "campaigns": campaigns,
    }


def _send_day(value: dt.date | dt.datetime | None) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def month_grid(year: int, month: int, calendar: str, language: str,
               occasions: Iterable[Occasion], campaigns: Iterable[Any] = (), *,
               today: dt.date | None = None) -> dict[str, Any]:
    """One month of `calendar` ("jalali" or "gregorian") laid out in weeks for `language`.

    Weeks start on Saturday for a Jalali month or a Persian page, otherwise on Monday (ISO, as
    the date picker). `weeks` is a list of 7-item lists: a day's dict, or None for the blank
    cells before the 1st and after the last day. `occasions` and `campaigns` (objects with
    .name, .send_date, .url, .status_label) are put on their days; others are ignored.
    `today` defaults to the local date."""
    first, last = month_bounds(year, month, calendar)
    today = today or timezone.localdate()
    week_start = _SATURDAY if calendar == "jalali" or language == "fa" else _MONDAY
    on_day: dict[dt.date, list[Occasion]] = defaultdict(list)
    for occasion in occasions:
        on_day[occasion.date].append(occasion)
    sent_on: dict[dt.date | None, list[Any]] = defaultdict(list)
    for campaign in campaigns:
        sent_on[_send_day(campaign.send_date)].append(campaign)
    with translation.override(language):
        cells: list[dict[str, Any] | None] = [None] * ((first.weekday() - week_start) % 7)
        for offset in range((last - first).days + 1):
            day = first + dt.timedelta(days=offset)
            cells.append(_cell(day, calendar, language, today, on_day.get(day, []),
                               sent_on.get(day, [])))
        cells += [None] * (-len(cells) % 7)
        weekdays = [{"short": _weekday((week_start + i) % 7, language, short=True),
                     "long": _weekday((week_start + i) % 7, language)} for i in range(7)]
        other = "gregorian" if calendar == "jalali" else "jalali"
        spans = [_parts(first, other, language), _parts(last, other, language)]
        today_parts = _parts(today, calendar, language)
        return {
            "calendar": calendar,
            "language": language,
            "year": year,
            "month": month,
            "month_name": _month_name(calendar, month, language),
            # the other calendar's month(s) this one overlaps, e.g. March – April 2025
            "other_months": spans[:1] if spans[0]["month"] == spans[1]["month"] else spans,
            "start": first,
            "end": last,
            "week_start": _weekday(week_start, language),
            "weekdays": weekdays,
            "weeks": [cells[i:i + 7] for i in range(0, len(cells), 7)],
            "today": today,
            "previous": _nav(*_shift_month(year, month, -1), calendar, language),
            "next": _nav(*_shift_month(year, month, 1), calendar, language),
            "this_month": _nav(today_parts["year"], today_parts["month"], calendar, language),
            "is_this_month": (today_parts["year"], today_parts["month"]) == (year, month),
        }
