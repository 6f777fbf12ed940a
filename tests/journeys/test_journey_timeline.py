"""Timeline entries "journey.entered" and "journey.left" (with the reason), the left ones
written together, one statement per round."""

from __future__ import annotations

import pytest
from django.utils import translation

from peyvand.contacts.models import TimelineEvent
from peyvand.contacts.templatetags.timeline import event_summary
from peyvand.contacts.timeline import kind_label
from peyvand.journeys.actions import enrol
from peyvand.journeys.runner import run_due, wake
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db


def entries(contact, kind):
    return list(TimelineEvent.objects.filter(contact=contact, kind=kind).order_by("id"))


def test_entered_and_left_with_the_reason(live, make_contact):
    journey = live(steps({"type": "tag", "add": "x"}, {"type": "exit"}))
    person = make_contact()
    item, _ = enrol(journey, person.pk, "manual:test")
    [entry] = entries(person, "journey.entered")
    assert entry.data == {"journey": journey.pk, "name": "J", "rotation": 1,
                          "source": "manual:test"}
    run_due("w1")
    [gone] = entries(person, "journey.left")
    assert (gone.data["journey"], gone.data["state"], gone.data["reason"],
            gone.data["node"]) == (journey.pk, "done", "exit", "s2")
    with translation.override("en"):
        assert kind_label("journey.left") == "Left a journey"
        assert event_summary(gone) == "J · reached an exit step"


def test_a_goal_and_an_erasure_say_why(live, make_contact, system):
    from peyvand.contacts.actions import do_erase_contact

    journey = live(steps({"type": "wait", "days": 0}, {"type": "wait", "days": 1},
                         {"type": "tag", "add": "never"}),
                   )
    a, b = make_contact(tags=["customer"]), make_contact()
    enrol(journey, a.pk, "t")
    enrol(journey, b.pk, "t")
    do_erase_contact(system, b)
    journey2 = live(steps({"type": "wait", "days": 1}, trigger={"type": "manual"},
                          goal={"field": "contact.tags", "op": "has", "value": "customer"}))
    enrol(journey2, a.pk, "t")
    run_due("w1")
    reasons = {(e.contact_id, e.data["journey"]): e.data["reason"]
               for e in TimelineEvent.objects.filter(kind="journey.left")}
    assert reasons == {(b.pk, journey.pk): "erased", (a.pk, journey2.pk): "goal"}


def test_a_wake_that_ends_the_journey_says_so(live, make_contact):
    journey = live({"trigger": {"type": "manual"}, "start": "w", "steps": {
        "w": {"type": "wait_event", "event": "ordered", "timeout": {"days": 1}}}})
    person = make_contact()
    enrol(journey, person.pk, "t")
    run_due("w1")
    assert wake(person.pk, "ordered") == 1
    [gone] = entries(person, "journey.left")
    assert (gone.data["state"], gone.data["reason"]) == ("done", "completed")


def test_one_statement_writes_a_rounds_left_entries(live, make_contact, monkeypatch):
    from peyvand.contacts import timeline

    calls = []
    real = timeline.execute_many
    monkeypatch.setattr(timeline, "execute_many",
                        lambda sql, rows: calls.append(len(rows)) or real(sql, rows))
    journey = live(steps({"type": "exit"}))
    people = [make_contact() for _ in range(6)]
    for person in people:
        enrol(journey, person.pk, "t")
    run_due("w1")
    assert calls == [6]  # one executemany for the round, however many people
    assert TimelineEvent.objects.filter(kind="journey.left").count() == 6
