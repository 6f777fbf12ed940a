"""parse_date: Jalali or Gregorian, any digit script; round trips through jdatetime."""

from __future__ import annotations

import datetime as dt

import jdatetime
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peyvand.base.dates import format_date, input_date, parse_date
from peyvand.base.normalise import InvalidValue
from tests.base.strategies import PROPERTY, digit_script, in_script

separator = st.sampled_from(["/", "-", ".", " / "])
# Jalali years must stay below 1700 (= 2321 AD) to be read as Jalali.
jalali_range = st.dates(dt.date(1800, 1, 1), dt.date(2300, 12, 31))
gregorian_range = st.dates(dt.date(1700, 1, 1), dt.date(9999, 12, 31))


@PROPERTY
@given(jalali_range, separator, digit_script, st.booleans())
def test_jalali_dates_round_trip(day, sep, script, padded):
    j = jdatetime.date.fromgregorian(date=day)
    fmt = "{:04d}{sep}{:02d}{sep}{:02d}" if padded else "{}{sep}{}{sep}{}"
    written = in_script(fmt.format(j.year, j.month, j.day, sep=sep), script)
    assert parse_date(written) == day


@PROPERTY
@given(gregorian_range, separator, digit_script)
def test_gregorian_dates_round_trip(day, sep, script):
    written = in_script(f"{day.year:04d}{sep}{day.month}{sep}{day.day:02d}", script)
    assert parse_date(written) == day


@PROPERTY
@given(jalali_range, st.sampled_from(["fa", "en"]))
def test_what_the_app_shows_and_prefills_parses_back(day, lang):
    assert parse_date(format_date(day, lang)) == day
    assert parse_date(input_date(day, lang)) == day


@PROPERTY
@given(st.integers(1, 9999), st.integers(0, 99), st.integers(0, 99), digit_script)
def test_impossible_calendar_dates_raise_and_possible_ones_parse(year, month, day, script):
    written = in_script(f"{year:04d}/{month}/{day}", script)
    try:
        expected = (jdatetime.date(year, month, day).togregorian() if year < 1700
                    else dt.date(year, month, day))
    except ValueError:
        with pytest.raises(InvalidValue) as exc:
            parse_date(written, "birthday")
        assert exc.value.field == "birthday"
    else:
        assert parse_date(written) == expected


@pytest.mark.parametrize("bad", [
    "1403/13/01", "1403/00/10", "1403/01/32", "1403/07/31", "1402/12/30",
    "2023-02-29", "2024-13-01", "2024-04-31", "2024-00-10",
    "tomorrow", "1403/02", "14030212", "1403/02/12/01", "۱۴۰۳-۰۲", "2024-05-01T10:00", "12/05/2024",
])
def test_invalid_dates_raise_invalid_value(bad):
    with pytest.raises(InvalidValue) as exc:
        parse_date(bad, "since")
    assert exc.value.field == "since"


def test_examples():
    assert parse_date("1403/02/12") == dt.date(2024, 5, 1)
    assert parse_date("۱۴۰۳/۰۲/۱۲") == dt.date(2024, 5, 1)
    assert parse_date("١٤٠٣-٢-١٢") == dt.date(2024, 5, 1)
    assert parse_date("2024-05-01") == dt.date(2024, 5, 1)
    assert parse_date("۲۰۲۴-۰۵-۰۱") == dt.date(2024, 5, 1)
    assert parse_date("1403/12/30") == dt.date(2025, 3, 20)  # 1403 is a Jalali leap year
    assert parse_date("") is None
    assert parse_date("   ") is None
    assert parse_date(None) is None
    assert parse_date(dt.date(2020, 1, 2)) == dt.date(2020, 1, 2)
    assert format_date(dt.date(2024, 5, 1), "fa") == "۱۴۰۳/۰۲/۱۲"
    assert input_date(dt.date(2024, 5, 1), "fa") == "1403/02/12"
