from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo

from django.utils import translation

from peyvand.base.templatetags.peyvand_ui import fadigits, jdate, jday, ltr, show_value


def test_jdate_follows_the_active_language():
    day = dt.date(1991, 8, 3)
    with translation.override("fa"):
        assert jdate(day) == "۱۳۷۰/۰۵/۱۲"
    with translation.override("en"):
        assert jdate(day) == "1991-08-03"
    assert jdate(None) == ""


def test_aware_moments_are_shown_in_local_time():
    moment = dt.datetime(2024, 3, 19, 21, 0, tzinfo=dt.UTC)  # 00:30 next day in Tehran
    assert moment.astimezone(zoneinfo.ZoneInfo("Asia/Tehran")).day == 20
    with translation.override("en"):
        assert jdate(moment) == "2024-03-20 00:30"
        assert jday(moment) == "2024-03-20"
    with translation.override("fa"):
        assert jday(moment) == "۱۴۰۳/۰۱/۰۱"  # Nowruz


def test_fadigits_and_show_value():
    with translation.override("fa"):
        assert fadigits(1403) == "۱۴۰۳"
        assert show_value(decimal.Decimal("12.5000")) == "۱۲٫۵"  # the Persian decimal mark
        assert show_value(None) == "—"
    with translation.override("en"):
        assert fadigits(1403) == "1403"
        assert show_value(True) == "Yes"
        assert show_value(decimal.Decimal("10.0000")) == "10"


def test_ltr_isolates_and_escapes():
    assert ltr("+989121234567") == '<bdi dir="ltr">+989121234567</bdi>'
    assert ltr("<b>") == '<bdi dir="ltr">&lt;b&gt;</bdi>'
    assert ltr("") == ""
