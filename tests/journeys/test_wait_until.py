"""The `wait_until` step: until a local time (and weekday) in the contact's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.journeys.actions import enrol
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from peyvand.journeys.steps import next_local_time
from peyvand.journeys.views import step_summary
from tests.journeys.conftest import steps

UTC = dt.UTC
TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def test_the_next_local_time():
    now = dt.datetime(2027, 1, 6, 5, 0, tzinfo=UTC)  # a Wednesday, 08:30 in Tehran
    assert next_local_time(now, "Asia/Tehran", "09:00") == \
        dt.datetime(2027, 1, 6, 9, 0, tzinfo=TEHRAN)
    assert next_local_time(now, "Asia/Tehran", "08:30") == \
        dt.datetime(2027, 1, 7, 8, 30, tzinfo=TEHRAN)  # now exactly: tomorrow
    assert next_local_time(now, "America/New_York", "09:00") == \
        dt.datetime(2027, 1, 6, 9, 0, tzinfo=NEW_YORK)
    # weekday 6 (Saturday) and 3 (Wednesday, today but the time is gone: next week)
    assert next_local_time(now, "Asia/Tehran", "10:00", 6) == \
        dt.datetime(2027, 1, 9, 10, 0, tzinfo=TEHRAN)
    assert next_local_time(now, "Asia/Tehran", "07:00", 3) == \
        dt.datetime(2027, 1, 13, 7, 0, tzinfo=TEHRAN)
    assert next_local_time(now, "Mars/Olympus", "09:00") == \
        next_local_time(now, "Asia/Tehran", "09:00")  # an unknown zone: the shop's
    # 02:30 does not exist on New York's spring-forward day: it still waits, that day.
    spring = dt.datetime(2027, 3, 14, 5, 0, tzinfo=UTC)
    at = next_local_time(spring, "America/New_York", "02:30")
    assert at > spring and at.astimezone(NEW_YORK).date() == dt.date(2027, 3, 14)


@pytest.mark.django_db
def test_the_step_waits_then_goes_on(live, make_contact):
    journey = live(steps({"type": "wait_until", "time": "09:00", "weekday": 1},
                         {"type": "tag", "add": "monday"}))
    person = make_contact(tz="America/New_York")
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w")
    item.refresh_from_db()
    local = item.next_run_at.astimezone(NEW_YORK)
    assert (item.state, item.node) == (Enrolment.State.ACTIVE, "s2")
    assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 0)
    assert timezone.now() < item.next_run_at < timezone.now() + dt.timedelta(days=7)
    run = StepRun.objects.get(enrolment=item, node="s1")
    assert (run.outcome, run.detail["until"]) == ("waited", item.next_run_at.isoformat())
    assert "Monday" in step_summary(journey.versions.get().definition["steps"]["s1"])


@pytest.mark.parametrize(("step", "path"), [
    ({}, "steps.s1.time"),
    ({"time": "24:00"}, "steps.s1.time"),
    ({"time": "9:00"}, "steps.s1.time"),
    ({"time": "09:00", "weekday": 0}, "steps.s1.weekday"),
    ({"time": "09:00", "weekday": 8}, "steps.s1.weekday"),
    ({"time": "09:00", "days": 1}, "steps.s1.days"),
])
@pytest.mark.django_db
def test_the_grammar(step, path):
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "wait_until", **step}, {"type": "exit"}),
                         templates=False)
    assert list(refused.value.errors) == [path]


def test_a_loop_through_wait_until_is_allowed():
    loop = {"trigger": {"type": "manual"}, "start": "s1", "steps": {
        "s1": {"type": "wait_until", "time": "09:00", "next": "s2"},
        "s2": {"type": "tag", "add": "x", "next": "s1"}}}
    assert check_definition(loop, templates=False) is loop
