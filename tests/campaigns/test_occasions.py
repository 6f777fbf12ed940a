"""The occasion calendar: built-in dates against known days and Iran's official holidays
(`holidays.IR`), the shop's own dates, quiet days, the month grid and its template."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import holidays
import jdatetime
import pytest
from django.template import engines
from django.utils import translation

import peyvand.campaigns
from peyvand.campaigns.occasions import (
    Occasion,
    builtin_occasions,
    is_quiet,
    month_bounds,
    month_grid,
    occasions_between,
)

# our key -> the holiday's name in holidays.IR (en_US)
SOLAR_HOLIDAYS = {
    "nowruz-1": "Nowruz",
    "nowruz-2": "Nowruz Holiday",
    "sizdah-bedar": "Nature's Day",
    "khomeini-death": "Death of Imam Khomeini",
    "khordad-15": "15 Khordad Uprising",
}
LUNAR_HOLIDAYS = {
    "tasua": "Tasua",
    "ashura": "Ashura",
    "arbaeen": "Arbaeen",
    "prophet-death": "Death of Prophet Muhammad and Martyrdom of Hasan ibn Ali",
    "imam-reza-martyrdom": "Martyrdom of Ali al-Rida",
    "fatimiyya": "Martyrdom of Fatima",
    "fathers-day": "Birthday of Imam Ali",
    "mabath": "Isra' and Mi'raj",
    "mid-shaban": "Birthday of Mahdi",
    "imam-ali-martyrdom": "Martyrdom of Imam Ali",
    "eid-al-fitr": "Eid al-Fitr",
    "eid-al-adha": "Eid al-Adha",
    "eid-al-ghadir": "Eid al-Ghadir",
}
YEARS = range(2023, 2027)


def _on(key: str, start: dt.date, end: dt.date, **kwargs) -> list[dt.date]:
    return [o.date for o in builtin_occasions(start, end, **kwargs) if o.key == key]


def _year(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _official(years: range) -> dict[str, set[dt.date]]:
    """holidays.IR's days by English name (a day with two holidays is listed under both)."""
    by_name: dict[str, set[dt.date]] = {}
    calendar = holidays.IR(years=years, language="en_US", islamic_show_estimated=False)
    for day, names in calendar.items():
        for name in names.split("; "):
            by_name.setdefault(name, set()).add(day)
    return by_name


def _jalali(year: int, month: int, day: int) -> dt.date:
    return jdatetime.date(year, month, day).togregorian()


def test_known_solar_and_global_days():
    assert _on("nowruz-1", *_year(2025)) == [dt.date(2025, 3, 21)]  # 1 Farvardin 1404
    assert _on("yalda", *_year(2024)) == [dt.date(2024, 12, 20)]  # 30 Azar 1403
    assert _on("chaharshanbe-suri", *_year(2025)) == [dt.date(2025, 3, 18)]  # end of 1403
    assert _on("black-friday", *_year(2025)) == [dt.date(2025, 11, 28)]
    assert _on("sepandarmazgan", *_year(2025)) == [_jalali(1403, 11, 29)]


def test_chaharshanbe_suri_is_the_tuesday_before_the_years_last_wednesday():
    for year in range(1395, 1425):
        start, end = _jalali(year, 12, 1), _jalali(year + 1, 1, 1) - dt.timedelta(days=1)
        [day] = _on("chaharshanbe-suri", start, end)
        wednesday = day + dt.timedelta(days=1)
        assert day.weekday() == 1 and wednesday.weekday() == 2
        assert jdatetime.date.fromgregorian(date=wednesday).year == year
        assert jdatetime.date.fromgregorian(date=wednesday + dt.timedelta(days=7)).year == year + 1


def test_black_friday_follows_the_fourth_thursday_of_november():
    for year in range(2015, 2040):
        [day] = _on("black-friday", *_year(year))
        thursday = day - dt.timedelta(days=1)
        assert day.weekday() == 4 and thursday.month == 11 and 22 <= thursday.day <= 28


def test_lunar_days_near_irans():
    [ashura] = _on("ashura", *_year(2025))
    assert abs((ashura - dt.date(2025, 7, 6)).days) <= 1  # 10 Muharram 1447
    [fitr] = _on("eid-al-fitr", *_year(2025))
    assert fitr in (dt.date(2025, 3, 30), dt.date(2025, 3, 31))
    [imam_ali] = _on("imam-ali-martyrdom", *_year(2025))
    [second_night] = _on("qadr-2", *_year(2025))
    assert imam_ali == second_night  # both 21 Ramadan


def test_solar_days_match_irans_official_holidays():
    official = _official(YEARS)
    for key, name in SOLAR_HOLIDAYS.items():
        ours = {d for year in YEARS for d in _on(key, *_year(year))}
        assert ours and ours <= official[name], key


def test_lunar_days_within_a_day_of_irans_official_holidays():
    official = _official(YEARS)
    for key, name in LUNAR_HOLIDAYS.items():
        ours = [d for year in YEARS for d in _on(key, *_year(year))]
        assert len(ours) >= len(YEARS), key
        for day in ours:
            near = [o for o in official[name] if abs((o - day).days) <= 1]
            # a lunar year is 11 days short: a holiday near 1 January may be in the next year
            assert near or day.year == YEARS[-1] or day.month == 1, (key, day)


def test_lunar_shift_of_one_day_matches_iran_more_often():
    """Iran's lunar dates are more often a day after Umm al-Qura than on it (the module's
    docstring): with lunar_shift=1 more of them are exactly right."""
    official = _official(YEARS)

    def exact(shift: int) -> int:
        return sum(day in official[name] for key, name in LUNAR_HOLIDAYS.items()
                   for year in YEARS for day in _on(key, *_year(year), lunar_shift=shift))

    assert exact(1) > exact(0)


def test_any_range_sorted_and_outside_umm_al_qura_only_solar():
    found = builtin_occasions(dt.date(2020, 6, 1), dt.date(2028, 5, 31))
    assert [o.date for o in found] == sorted(o.date for o in found)
    assert len([o for o in found if o.key == "nowruz-1"]) == 8
    assert len([o for o in found if o.key == "ashura"]) in (8, 9)
    far = builtin_occasions(dt.date(2100, 1, 1), dt.date(2100, 12, 31))
    assert {o.kind for o in far} == {"iranian", "global"}
    assert "yalda" in {o.key for o in far}
    assert builtin_occasions(dt.date(2025, 2, 1), dt.date(2025, 1, 1)) == []


def test_names_translated_in_the_active_language_keys_stable():
    with translation.override("en"):
        en = builtin_occasions(*_year(2025))
    with translation.override("fa"):
        fa = builtin_occasions(*_year(2025))
    assert [o.key for o in en] == [o.key for o in fa]
    assert {o.kind for o in en} == {"iranian", "religious", "global"}
    assert next(o for o in en if o.key == "yalda").name == "Yalda night"
    assert next(o for o in en if o.key == "yalda").note  # said to be an evening


def shop_date(name, date, *, yearly=False, calendar="gregorian", quiet=False, pk=None):
    return SimpleNamespace(name=name, date=date, yearly=yearly, calendar=calendar, quiet=quiet,
                           pk=pk)


def test_yearly_shop_date_on_esfand_30_in_a_short_year():
    assert jdatetime.date(1403, 1, 1).isleap() and not jdatetime.date(1404, 1, 1).isleap()
    last_day = _jalali(1403, 12, 30)
    shop = shop_date("Year-end sale", last_day, yearly=True, calendar="jalali", pk=7)
    found = [o for o in occasions_between(last_day - dt.timedelta(days=800),
                                          last_day + dt.timedelta(days=800), [shop])
             if o.kind == "shop"]
    assert [o.date for o in found] == [last_day, _jalali(1404, 12, 29), _jalali(1405, 12, 29)]
    assert {(o.key, o.name, o.quiet) for o in found} == {("shop-7", "Year-end sale", False)}


def test_yearly_gregorian_and_one_off_shop_dates():
    leap = shop_date("Leap promo", dt.date(2024, 2, 29), yearly=True, pk=1)
    once = shop_date("Launch", dt.date(2025, 5, 5))
    found = occasions_between(dt.date(2023, 1, 1), dt.date(2026, 12, 31), [leap, once])
    shop = [(o.date, o.name) for o in found if o.kind == "shop"]
    assert shop == [(dt.date(2024, 2, 29), "Leap promo"), (dt.date(2025, 2, 28), "Leap promo"),
                    (dt.date(2025, 5, 5), "Launch"), (dt.date(2026, 2, 28), "Leap promo")]
    assert [o.date for o in found] == sorted(o.date for o in found)
    with pytest.raises(ValueError):
        occasions_between(dt.date(2025, 1, 1), dt.date(2025, 12, 31),
                          [shop_date("x", dt.date(2025, 1, 1), yearly=True, calendar="hijri")])


def test_quiet_days():
    [ashura] = _on("ashura", *_year(2025))
    assert is_quiet(ashura).key == "ashura"
    assert is_quiet(dt.date(2024, 12, 20)) is None  # Yalda: a day to sell
    # Iran mourns a day later than Umm al-Qura this year: the owner marks that day quiet
    correction = shop_date("Ashura (Iran)", ashura + dt.timedelta(days=1), quiet=True, pk=3)
    assert is_quiet(ashura + dt.timedelta(days=1)) is None
    assert is_quiet(ashura + dt.timedelta(days=1), [correction]).key == "shop-3"
    own_on_ashura = shop_date("Closed", ashura, quiet=True, pk=4)
    assert is_quiet(ashura, [own_on_ashura]).key == "shop-4"  # the owner's own first
    assert is_quiet(ashura, [shop_date("Sale", ashura)]).key == "ashura"
    quiet_keys = {o.key for o in builtin_occasions(*_year(2025)) if o.quiet}
    assert quiet_keys == {"tasua", "ashura", "arbaeen", "prophet-death", "imam-reza-martyrdom",
                          "fatimiyya", "imam-ali-martyrdom", "khomeini-death", "khordad-15"}


def _month_length(year: int, month: int, calendar: str) -> int:
    first, last = month_bounds(year, month, calendar)
    return (last - first).days + 1


def _check_grid(grid: dict, calendar: str, week_start: int) -> None:
    weeks = grid["weeks"]
    assert weeks and all(len(week) == 7 for week in weeks)
    days = [cell for week in weeks for cell in week if cell]
    dates = [cell["date"] for cell in days]
    assert dates == [grid["start"] + dt.timedelta(days=i) for i in range(len(dates))]
    assert dates[-1] == grid["end"]
    assert [cell["primary"]["day"] for cell in days] == list(range(1, len(days) + 1))
    assert {cell["primary"]["month"] for cell in days} == {grid["month"]}
    for week in weeks:
        for column, cell in enumerate(week):
            if cell:
                assert cell["date"].weekday() == (week_start + column) % 7
    assert weeks[0][0] or weeks[0][-1]  # no blank first or last week
    assert weeks[-1][0]
    for cell in days:
        j = jdatetime.date.fromgregorian(date=cell["date"])
        assert (cell["jalali"]["day"], cell["jalali"]["month"]) == (j.day, j.month)
        assert (cell["gregorian"]["day"], cell["gregorian"]["month"]) == (
            cell["date"].day, cell["date"].month)


@pytest.mark.parametrize("year", [1403, 1404])
def test_jalali_month_grids(year):
    lengths = []
    for month in range(1, 13):
        grid = month_grid(year, month, "jalali", "fa", [])
        _check_grid(grid, "jalali", week_start=5)  # Saturday
        lengths.append(_month_length(year, month, "jalali"))
    esfand = 30 if jdatetime.date(year, 1, 1).isleap() else 29
    assert lengths == [31] * 6 + [30] * 5 + [esfand]


@pytest.mark.parametrize("language, week_start", [("en", 0), ("fa", 5)])
def test_gregorian_month_grids(language, week_start):
    for month in range(1, 13):
        grid = month_grid(2024, month, "gregorian", language, [])
        _check_grid(grid, "gregorian", week_start)
        assert len([c for w in grid["weeks"] for c in w if c]) == _month_length(
            2024, month, "gregorian")
    assert month_grid(2024, 2, "gregorian", language, [])["end"] == dt.date(2024, 2, 29)


def test_grid_places_occasions_campaigns_today_and_navigation():
    occasions = occasions_between(*month_bounds(1404, 1, "jalali"))
    campaigns = [
        SimpleNamespace(name="Nowruz sale", send_date=dt.date(2025, 3, 21), url="/c/1/",
                        status_label="Scheduled"),
        SimpleNamespace(name="Reminder", send_date=dt.datetime(2025, 3, 25, 9, 0),
                        url="/c/2/", status_label="Draft"),
        SimpleNamespace(name="Later", send_date=dt.date(2025, 6, 1), url="/c/3/",
                        status_label="Draft"),
    ]
    grid = month_grid(1404, 1, "jalali", "en", occasions, campaigns, today=dt.date(2025, 3, 25))
    days = {c["date"]: c for w in grid["weeks"] for c in w if c}
    nowruz = days[dt.date(2025, 3, 21)]
    assert "nowruz-1" in {o.key for o in nowruz["occasions"]}
    assert nowruz["quiet"]  # 21 Ramadan 1446 by Umm al-Qura
    assert [c.name for c in nowruz["campaigns"]] == ["Nowruz sale"]
    assert [c.name for c in days[dt.date(2025, 3, 25)]["campaigns"]] == ["Reminder"]
    assert [d for d, c in days.items() if c["today"]] == [dt.date(2025, 3, 25)]
    assert sum(len(c["campaigns"]) for c in days.values()) == 2
    assert all(o in days[o.date]["occasions"] for o in occasions)
    assert grid["month_name"] == "Farvardin" and nowruz["secondary"]["month_name"] == "March"
    assert [m["month_name"] for m in grid["other_months"]] == ["March", "April"]
    assert (grid["previous"]["year"], grid["previous"]["month"]) == (1403, 12)
    assert (grid["next"]["year"], grid["next"]["month"]) == (1404, 2)
    assert grid["previous"]["query"] == "year=1403&month=12"
    assert grid["is_this_month"]
    december = month_grid(2024, 12, "gregorian", "en", [], today=dt.date(2025, 3, 25))
    assert (december["next"]["year"], december["next"]["month"]) == (2025, 1)
    assert not december["is_this_month"]
    assert december["this_month"]["query"] == "year=2025&month=3"
    assert [w["short"] for w in december["weekdays"]][:2] == ["Mon", "Tue"]


def _render(grid: dict) -> str:
    path = (Path(peyvand.campaigns.__file__).parent
            / "templates/campaigns/includes/calendar.html")
    return engines["django"].from_string(path.read_text()).render({"grid": grid})


def _month_with_campaign(language: str) -> tuple[dict, str]:
    """July 2025 (en) or Tir 1404 (fa): Tasua and Ashura, and a campaign on 1 July."""
    campaign = SimpleNamespace(name="Summer <sale>", send_date=dt.date(2025, 7, 1),
                               url="/campaigns/9/", status_label="Scheduled")
    calendar, year, month = ("jalali", 1404, 4) if language == "fa" else ("gregorian", 2025, 7)
    with translation.override(language):
        grid = month_grid(year, month, calendar, language,
                          occasions_between(*month_bounds(year, month, calendar)), [campaign],
                          today=dt.date(2025, 7, 1))
        return grid, _render(grid)


def _cells(html: str, css: str) -> list[str]:
    return re.findall(rf'<span class="{css}">([^<]*)</span>', html)


def _quiet_count(grid: dict) -> int:
    return sum(o.quiet for week in grid["weeks"] for c in week if c for o in c["occasions"])


PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def test_calendar_renders_in_persian_with_persian_digits():
    grid, html = _month_with_campaign("fa")
    assert html.count('<th scope="col"') == 7
    assert '<th scope="col" abbr="شنبه">شنبه</th>' in html  # weeks from Saturday
    primary = _cells(html, "cal-primary")
    assert primary[:3] == ["۱", "۲", "۳"] and primary[-1] == "۳۱"
    numbers = "".join(primary) + "".join(c.split()[0] for c in _cells(html, "cal-secondary"))
    assert numbers and all(ch in PERSIAN_DIGITS for ch in numbers)
    assert "تیر ۱۴۰۴" in html and "<caption>" in html
    assert '<a href="/campaigns/9/"><bdi>Summer &lt;sale&gt;</bdi></a>' in html
    assert _quiet_count(grid) >= 2  # Tasua and Ashura
    assert html.count('class="cal-quiet-label"') == _quiet_count(grid)  # said in words
    assert html.count('aria-current="date"') == 1
    assert 'href="?year=1404&amp;month=3"' in html and 'rel="next"' in html


def test_calendar_renders_in_english():
    grid, html = _month_with_campaign("en")
    header = html.split("<thead>")[1].split("</thead>")[0]
    assert re.findall(r'abbr="(\w+)"', header)[:2] == ["Monday", "Tuesday"]
    assert '<th scope="col" abbr="Monday">Mon</th>' in header
    primary = _cells(html, "cal-primary")
    assert primary[0] == "1" and primary[-1] == "31"
    assert "July 2025" in html and "Tir 1404" in html
    assert "Ashura" in html and html.count(">Quiet day</span>") == _quiet_count(grid) >= 2
    assert html.count('<td class="cal-day cal-quiet') == len(
        {o.date for w in grid["weeks"] for c in w if c for o in c["occasions"] if o.quiet})
    assert '<a href="/campaigns/9/"><bdi>Summer &lt;sale&gt;</bdi></a>' in html
    assert not any(ch in html for ch in PERSIAN_DIGITS)


def test_occasion_is_a_frozen_value():
    occasion = Occasion(dt.date(2025, 1, 1), "new-year", "New Year's Day", "global")
    with pytest.raises(AttributeError):
        occasion.quiet = True  # type: ignore[misc]
    assert occasion.note == "" and not occasion.quiet
