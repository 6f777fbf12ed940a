"""A branch on the last message's response (clicked / opened / none, people only) and on
the last wait_event's outcome (event / timeout), with "else" for what has no arm."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.journeys.actions import enrol
from peyvand.journeys.definition import check_definition, targets
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due, wake
from peyvand.tracking.models import TrackingEvent
from tests.journeys.test_runner import later

pytestmark = pytest.mark.django_db
HITS = itertools.count()


def hit(item: Enrolment, kind: str, *, machine: bool = False) -> None:
    TrackingEvent.objects.create(hit_id=f"h{next(HITS)}", kind=kind,
                                 message_id=item.data["message"], contact_id=item.contact_id,
                                 at=timezone.now(), machine=machine)


def arm_taken(item: Enrolment, node: str = "b") -> str:
    return StepRun.objects.get(enrolment=item, node=node).outcome


RESPONSE = {"trigger": {"type": "manual"}, "start": "s", "steps": {
    "s": {"type": "send", "template": "hello", "next": "w"},
    "w": {"type": "wait", "days": 1, "next": "b"},
    "b": {"type": "branch", "on": "response", "clicked": "c", "opened": "o", "none": "n"},
    "c": {"type": "tag", "add": "clicker"}, "o": {"type": "tag", "add": "opener"},
    "n": {"type": "tag", "add": "silent"}}}


def test_branch_on_the_last_messages_response(live, make_contact):
    journey = live(RESPONSE)
    people = [make_contact() for _ in range(4)]
    items = [enrol(journey, p.pk, "t")[0] for p in people]
    run_due("w1")
    for item in items:
        item.refresh_from_db()
    clicker, opener, machine, silent = items
    hit(clicker, "open")
    hit(clicker, "click")
    hit(opener, "open")
    hit(machine, "open", machine=True)  # a privacy proxy's open is nobody's
    hit(machine, "click", machine=True)
    for item in items:
        later(item)
    run_due("w1")
    assert [arm_taken(i) for i in items] == ["clicked", "opened", "none", "none"]
    tags = [set(p.tags.values_list("name", flat=True)) for p in people]
    assert tags == [{"clicker"}, {"opener"}, {"silent"}, {"silent"}]


def test_else_takes_an_arm_not_given_and_no_message_is_none(live, make_contact):
    journey = live({"trigger": {"type": "manual"}, "start": "b", "steps": {
        "b": {"type": "branch", "on": "response", "clicked": "c", "else": "e"},
        "c": {"type": "tag", "add": "clicker"}, "e": {"type": "tag", "add": "other"}}})
    person = make_contact()
    item, _ = enrol(journey, person.pk, "t")
    run_due("w1")
    assert arm_taken(item) == "none"
    assert set(person.tags.values_list("name", flat=True)) == {"other"}


def test_branch_on_the_wait_events_outcome(live, make_contact):
    journey = live({"trigger": {"type": "manual"}, "start": "w", "steps": {
        "w": {"type": "wait_event", "event": "ordered", "timeout": {"days": 2},
              "next": "b", "timeout_next": "b"},
        "b": {"type": "branch", "on": "event", "event": "yes", "timeout": "no"},
        "yes": {"type": "tag", "add": "bought"}, "no": {"type": "tag", "add": "waited"}}})
    buyer, sleeper = make_contact(), make_contact()
    a, _ = enrol(journey, buyer.pk, "t")
    b, _ = enrol(journey, sleeper.pk, "t")
    run_due("w1")
    assert wake(buyer.pk, "ordered") == 1
    later(b)
    run_due("w1")
    run_due("w1")
    assert (arm_taken(a), arm_taken(b)) == ("event", "timeout")
    assert set(buyer.tags.values_list("name", flat=True)) == {"bought"}
    assert set(sleeper.tags.values_list("name", flat=True)) == {"waited"}


def test_the_grammar_knows_the_arms():
    body = {"trigger": {"type": "manual"}, "start": "b", "steps": {
        "b": {"type": "branch", "on": "response", "clicked": "x", "opened": "x",
              "none": "y", "else": "y"},
        "x": {"type": "exit"}, "y": {"type": "exit"}}}
    check_definition(body, templates=False)
    assert targets(body["steps"]["b"]) == ["x", "x", "y", "y"]
    for change, path in [({"clicked": "nowhere"}, "steps.b.clicked"),
                         ({"on": "mood"}, "steps.b.on"),
                         ({"yes": "x"}, "steps.b.yes"),
                         ({"rule": {"field": "contact.tags", "op": "has", "value": "v"}},
                          "steps.b.rule")]:
        wrong = {**body, "steps": {**body["steps"], "b": {**body["steps"]["b"], **change}}}
        with pytest.raises(Invalid) as refused:
            check_definition(wrong, templates=False)
        assert list(refused.value.errors) == [path], change
    # An arm naming a step makes it reachable; without arms the step is unreachable.
    unreachable = {**body, "steps": {**body["steps"], "b": {"type": "branch", "on": "event",
                                                           "event": "x"}}}
    with pytest.raises(Invalid) as refused:
        check_definition(unreachable, templates=False)
    assert list(refused.value.errors) == ["steps.y"]
