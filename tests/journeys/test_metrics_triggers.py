"""The `overdue` and `p_alive_below` triggers: the daily pass over insights' metrics, each
person once per occasion (a due date; a drop of P(alive) until their next order)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.insights.models import CustomerMetrics
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.triggers import enrol_daily
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db


def metrics(contact, **values) -> None:
    CustomerMetrics.objects.update_or_create(contact=contact, defaults={
        "as_of": timezone.localdate(), **values})


def next_day(now: dt.datetime) -> dt.datetime:
    Enrolment.objects.update(state=Enrolment.State.DONE)
    return now + dt.timedelta(days=1, minutes=1)


def sources(journey) -> list[tuple[int, str]]:
    return list(Enrolment.objects.filter(journey=journey).order_by("id")
                .values_list("contact_id", "data__source"))


def test_overdue_once_per_due_date(live, make_contact):
    late, due, fine = make_contact(), make_contact(), make_contact()
    metrics(late, due_status="overdue", next_due_date=dt.date(2026, 11, 1))
    metrics(due, due_status="due", next_due_date=dt.date(2026, 12, 1))
    metrics(fine, due_status="not_due", next_due_date=dt.date(2027, 1, 1))
    overdue = live(steps({"type": "exit"}, trigger={"type": "overdue"}), re_entry="always")
    became_due = live(steps({"type": "exit"}, trigger={"type": "overdue", "status": "due"}),
                      re_entry="always")
    now = timezone.now()
    assert enrol_daily(now) == {overdue.pk: 1, became_due.pk: 1}
    assert sources(overdue) == [(late.pk, "overdue:2026-11-01")]
    assert sources(became_due) == [(due.pk, "due:2026-12-01")]
    now = next_day(now)  # still overdue for the same date: not again, though re-entry allows
    assert enrol_daily(now) == {overdue.pk: 0, became_due.pk: 0}
    metrics(late, due_status="overdue", next_due_date=dt.date(2027, 2, 1))  # a new cycle
    now = next_day(now)
    assert enrol_daily(now)[overdue.pk] == 1
    assert sources(overdue)[-1] == (late.pk, "overdue:2027-02-01")


def test_p_alive_below_once_per_last_order(live, make_contact):
    drifting, alive, unknown = make_contact(), make_contact(), make_contact()
    ordered = timezone.now() - dt.timedelta(days=200)
    metrics(drifting, p_alive=0.2, last_order_at=ordered)
    metrics(alive, p_alive=0.8, last_order_at=ordered)
    metrics(unknown, p_alive=None)
    journey = live(steps({"type": "exit"}, trigger={"type": "p_alive_below",
                                                     "threshold": 0.3}), re_entry="always")
    now = timezone.now()
    assert enrol_daily(now) == {journey.pk: 1}
    assert sources(journey) == [(drifting.pk, f"p_alive<0.3:{ordered.date().isoformat()}")]
    assert enrol_daily(now + dt.timedelta(hours=3)) == {}  # the day is taken
    now = next_day(now)
    assert enrol_daily(now) == {journey.pk: 0}
    metrics(drifting, p_alive=0.1, last_order_at=timezone.now())  # bought, then drifted again
    now = next_day(now)
    assert enrol_daily(now) == {journey.pk: 1}
    assert Journey.objects.get(pk=journey.pk).checked_at == now


@pytest.mark.parametrize(("trigger", "path"), [
    ({"type": "overdue", "status": "lapsed"}, "trigger.status"),
    ({"type": "p_alive_below"}, "trigger.threshold"),
    ({"type": "p_alive_below", "threshold": 0}, "trigger.threshold"),
    ({"type": "p_alive_below", "threshold": 1.5}, "trigger.threshold"),
    ({"type": "p_alive_below", "threshold": "0.3"}, "trigger.threshold"),
    ({"type": "p_alive_below", "threshold": True}, "trigger.threshold"),
])
def test_the_grammar(trigger, path):
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger=trigger), templates=False)
    assert list(refused.value.errors) == [path]
