"""F6 on a journey's send step: `best_hour` queues the message for the contact's best hour."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.journeys import steps as journey_steps
from peyvand.journeys.actions import enrol
from peyvand.journeys.besttime import REASON_TEXT
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import StepRun
from peyvand.journeys.runner import run_due
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.tracking.counters import local_hour
from peyvand.tracking.models import TrackingEvent
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture(autouse=True)
def _no_quiet_hours(db):
    StrategyRule.objects.all().delete()  # the migrations' SMS quiet hours: not this test's


def opens_at(contact, hour: int, n: int = 12) -> None:
    """n human opens at `hour`:10 in the contact's zone, stored as the drain stores them."""
    zone = ZoneInfo(contact.timezone)
    events = []
    for day in range(n):
        at = dt.datetime.combine(dt.date(2025, 3, 1) + dt.timedelta(days=day),
                                 dt.time(hour, 10), tzinfo=zone).astimezone(dt.UTC)
        events.append(TrackingEvent(hit_id=f"o{contact.pk}-{day}", kind="open",
                                    message_id=900 + day, contact=contact, at=at,
                                    local_hour=local_hour(at, contact.timezone)))
    TrackingEvent.objects.bulk_create(events)


def at_21_local(at: dt.datetime, before: dt.datetime) -> bool:
    """21:00 local, or `before` itself when it was already the 21st hour there."""
    local = at.astimezone(TEHRAN)
    return local.hour == 21 and (local.minute == 0 or at - before < dt.timedelta(hours=1))


def test_best_hour_send_waits_for_the_contacts_hour(live, make_contact, monkeypatch):
    monkeypatch.setattr(journey_steps, "BEST_HOUR_EPSILON", 0.0)  # no exploring: argmax only
    journey = live(steps({"type": "send", "template": "hello", "best_hour": True}))
    person = make_contact(tz="Asia/Tehran")
    opens_at(person, 21)
    before = timezone.now()
    item, _reason = enrol(journey, person.pk, "test")
    assert run_due("w1")["steps"] == 1
    row = OutboxMessage.objects.get(contact=person)
    assert row.next_attempt_at is not None and at_21_local(row.next_attempt_at, before)
    assert row.next_attempt_at <= before + dt.timedelta(hours=24)
    run = StepRun.objects.get(enrolment=item, node="s1")
    assert run.outcome == "queued"
    assert (run.detail["hour"], run.detail["choice"], run.detail["timing"]) == (
        21, "own", "at_hour")
    assert run.detail["reason"] == f"{REASON_TEXT['own']} {REASON_TEXT['at_hour']}"
    assert dt.datetime.fromisoformat(run.detail["send_after"]) == row.next_attempt_at


def test_max_delay_sends_now_when_the_hour_is_too_far(live, make_contact, monkeypatch):
    monkeypatch.setattr(journey_steps, "BEST_HOUR_EPSILON", 0.0)
    journey = live(steps({"type": "send", "template": "hello", "best_hour": True,
                          "max_delay_hours": 1}))
    person = make_contact(tz="Asia/Tehran")
    hour = (timezone.now().astimezone(TEHRAN).hour + 12) % 24  # half a day away
    opens_at(person, hour)
    before = timezone.now()
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w1")
    row = OutboxMessage.objects.get(contact=person)
    assert before <= row.next_attempt_at <= timezone.now()
    assert StepRun.objects.get(enrolment=item).detail["timing"] == "max_delay"


def test_with_exploring_the_plan_is_recorded_and_a_plain_send_goes_now(live, make_contact):
    journey = live(steps({"type": "send", "template": "hello", "best_hour": True},
                         {"type": "send", "template": "plain"}))
    person = make_contact(tz="Asia/Tehran")
    opens_at(person, 21)
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w1")
    best, plain = OutboxMessage.objects.filter(contact=person).order_by("id")
    run = StepRun.objects.get(enrolment=item, node="s1")
    assert run.detail["choice"] in ("own", "explore")  # ε = 0.1 may try another hour
    assert best.next_attempt_at.astimezone(TEHRAN).hour == run.detail["hour"]
    assert plain.next_attempt_at is None  # without best_hour: as soon as the gate lets it
    assert "send_after" not in StepRun.objects.get(enrolment=item, node="s2").detail


@pytest.mark.parametrize(("step", "path"), [
    ({"best_hour": "yes"}, "steps.s1.best_hour"),
    ({"max_delay_hours": 5}, "steps.s1.max_delay_hours"),
    ({"best_hour": True, "max_delay_hours": 0}, "steps.s1.max_delay_hours"),
    ({"best_hour": True, "max_delay_hours": 169}, "steps.s1.max_delay_hours"),
    ({"best_hour": True, "max_delay_hours": 2.5}, "steps.s1.max_delay_hours"),
])
def test_the_grammar_refuses_a_bad_best_hour(step, path):
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "send", "template": "t", **step}), templates=False)
    assert list(refused.value.errors) == [path]


def test_the_grammar_takes_best_hour_with_a_delay():
    body = steps({"type": "send", "template": "t", "best_hour": True, "max_delay_hours": 48})
    assert check_definition(body, templates=False) == body
