"""The `date` trigger: birthdays, sign-up anniversaries and custom dates, N days before or
after, on the Jalali calendar for fa contacts and the Gregorian one otherwise."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import jdatetime
import pytest

from peyvand.base.errors import Invalid
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, FieldValue
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.triggers import enrol_daily
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=TEHRAN)


def born(contact, day: dt.date) -> None:
    Contact.objects.filter(pk=contact.pk).update(birthday=day)


def entered(journey) -> list[int]:
    return sorted(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))


def split_day() -> tuple[dt.date, dt.date, dt.date]:
    """A birthday whose Gregorian anniversary in 2027 is not its Jalali one: (birthday,
    Gregorian day, Jalali day)."""
    day = dt.date(1992, 3, 1)
    while True:
        j = jdatetime.date.fromgregorian(date=day)
        if (j.month == 12 and j.day == 30) or (day.month == 2 and day.day == 29):
            day += dt.timedelta(days=1)
            continue
        jalali = jdatetime.date(1405 if j.month >= 10 else 1406, j.month, j.day).togregorian()
        gregorian = day.replace(year=2027)
        if jalali != gregorian and jalali.year == 2027:
            return day, gregorian, jalali
        day += dt.timedelta(days=1)


def test_the_birthday_on_each_contacts_calendar(live, make_contact):
    birthday, gregorian, jalali = split_day()
    fa, en = make_contact(language="fa"), make_contact(language="en")
    born(fa, birthday)
    born(en, birthday)
    journey = live(steps({"type": "exit"}, trigger={"type": "date", "field": "birthday"}),
                   re_entry="after_days", re_entry_days=300)
    assert enrol_daily(noon(gregorian)) == {journey.pk: 1}
    assert entered(journey) == [en.pk]
    assert Enrolment.objects.get(contact=en).data["source"] == \
        f"date:birthday:{gregorian.isoformat()}"
    Journey.objects.update(checked_at=None)  # the two days may be a day apart
    assert enrol_daily(noon(jalali)) == {journey.pk: 1}
    assert entered(journey) == sorted([en.pk, fa.pk])
    # A year later en comes round again (re-entry after 300 days).
    Enrolment.objects.update(state=Enrolment.State.DONE, entered_at=noon(gregorian))
    Journey.objects.update(checked_at=None)
    next_year = gregorian.replace(year=2028)
    assert enrol_daily(noon(next_year))[journey.pk] >= 1  # fa's day may fall on it in 2028
    assert Enrolment.objects.filter(contact=en).count() == 2


def test_offset_days_before_and_once_a_day(live, make_contact):
    en = make_contact(language="en")
    born(en, dt.date(1985, 7, 10))
    before = live(steps({"type": "exit"}, trigger={"type": "date", "field": "birthday",
                                                    "offset_days": -3}))
    after = live(steps({"type": "exit"}, trigger={"type": "date", "field": "birthday",
                                                   "offset_days": 2}))
    assert enrol_daily(noon(dt.date(2027, 7, 7))) == {before.pk: 1, after.pk: 0}
    assert enrol_daily(noon(dt.date(2027, 7, 7)) + dt.timedelta(hours=6)) == {}  # day taken
    assert enrol_daily(noon(dt.date(2027, 7, 12))) == {before.pk: 0, after.pk: 1}
    assert entered(before) == entered(after) == [en.pk]


def test_feb_29_and_esfand_30_in_short_years(live, make_contact):
    en, fa = make_contact(language="en"), make_contact(language="fa")
    born(en, dt.date(2000, 2, 29))
    esfand_30 = jdatetime.date(1399, 12, 30)
    assert esfand_30.isleap()
    born(fa, esfand_30.togregorian())
    journey = live(steps({"type": "exit"}, trigger={"type": "date", "field": "birthday"}),
                   re_entry="always")
    assert enrol_daily(noon(dt.date(2027, 2, 28))) == {journey.pk: 1}
    assert entered(journey) == [en.pk]
    short = jdatetime.date(1405, 12, 29)
    assert not short.isleap()
    assert enrol_daily(noon(short.togregorian())) == {journey.pk: 1}
    assert entered(journey) == sorted([en.pk, fa.pk])


def test_signup_anniversary_and_a_custom_date(live, make_contact, system):
    old, new = make_contact(language="en"), make_contact(language="en")
    today = dt.date(2027, 5, 4)
    Contact.objects.filter(pk=old.pk).update(created_at=noon(dt.date(2025, 5, 4)))
    Contact.objects.filter(pk=new.pk).update(created_at=noon(today))  # not a year yet
    signup = live(steps({"type": "exit"}, trigger={"type": "date",
                                                    "field": "signup_anniversary"}))
    field = do_save_custom_field(system, key="wedding", label_fa="عروسی", label_en="Wedding",
                                 type="date")
    FieldValue.objects.create(contact=new, field=field, date_value=dt.date(2010, 5, 4))
    custom = live(steps({"type": "exit"}, trigger={"type": "date", "field": "fields.wedding"}))
    assert enrol_daily(noon(today)) == {signup.pk: 1, custom.pk: 1}
    assert entered(signup) == [old.pk] and entered(custom) == [new.pk]


@pytest.mark.parametrize(("trigger", "path"), [
    ({"field": "deathday"}, "trigger.field"),
    ({"field": "fields.nope"}, "trigger.field"),
    ({"field": "fields.size"}, "trigger.field"),  # a text field
    ({}, "trigger.field"),
    ({"field": "birthday", "offset_days": 400}, "trigger.offset_days"),
    ({"field": "birthday", "offset_days": "3"}, "trigger.offset_days"),
    ({"field": "birthday", "extra": 1}, "trigger.extra"),
])
def test_the_grammar(system, trigger, path):
    do_save_custom_field(system, key="size", label_fa="سایز", label_en="Size", type="text")
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger={"type": "date", **trigger}),
                         templates=False)
    assert list(refused.value.errors) == [path]
    assert check_definition(steps({"type": "exit"}, trigger={
        "type": "date", "field": "birthday", "offset_days": -7}), templates=False)
