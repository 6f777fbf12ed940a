from __future__ import annotations

import pytest

from peyvand.journeys.definition import DefinitionInvalid, check_definition


def refused(definition) -> str:
    with pytest.raises(DefinitionInvalid) as caught:
        check_definition(definition)
    return next(iter(caught.value.errors))


def ok(**extra):
    base = {"trigger": {"type": "manual"}, "start": "s1",
            "steps": {"s1": {"type": "send", "template": "welcome", "next": "s2"},
                      "s2": {"type": "wait", "days": 2, "next": "s3"},
                      "s3": {"type": "exit"}}}
    base.update(extra)
    return base


@pytest.mark.django_db
def test_a_good_definition_passes(template):
    template("welcome")
    assert check_definition(ok())["start"] == "s1"


@pytest.mark.django_db
def test_refusals_name_the_path(template):
    template("welcome")
    template("receipt", message_class="transactional")
    assert refused([]) == "definition"
    assert refused(ok(trigger={"type": "birthday"})) == "trigger.type"
    assert refused(ok(trigger={"type": "segment_entered", "segment": 999})) == "trigger.segment"
    assert refused(ok(start="nowhere")) == "start"
    assert refused(ok(colour="red")) == "colour"
    bad = ok()
    bad["steps"]["s1"]["next"] = "s9"
    assert refused(bad) == "steps.s1.next"
    bad = ok()
    bad["steps"]["s1"]["template"] = "missing"
    assert refused(bad) == "steps.s1.template"
    bad["steps"]["s1"]["template"] = "receipt"
    assert refused(bad) == "steps.s1.template"
    bad = ok()
    bad["steps"]["s2"] = {"type": "wait", "days": 2, "hours": 1, "next": "s3"}
    assert refused(bad) == "steps.s2"
    bad["steps"]["s2"] = {"type": "wait", "days": -1, "next": "s3"}
    assert refused(bad) == "steps.s2.days"
    bad["steps"]["s2"] = {"type": "wait_event", "event": "bounced", "timeout": {"days": 1}}
    assert refused(bad) == "steps.s2.event"
    bad["steps"]["s2"] = {"type": "wait_event", "event": "opened", "timeout": 3}
    assert refused(bad) == "steps.s2.timeout"
    bad["steps"]["s2"] = {"type": "split", "percent": 101, "a": "s3", "b": "s3"}
    assert refused(bad) == "steps.s2.percent"
    bad["steps"]["s2"] = {"type": "tag", "next": "s3"}
    assert refused(bad) == "steps.s2.add"
    bad["steps"]["s2"] = {"type": "teleport"}
    assert refused(bad) == "steps.s2.type"
    bad["steps"]["s2"] = {"type": "branch", "rule": {"field": "nope", "op": "eq", "value": 1},
                          "yes": "s3", "no": "s3"}
    assert refused(bad).startswith("steps.s2.rule")
    assert refused(ok(goal={"all": 3})).startswith("goal")


@pytest.mark.django_db
def test_unreachable_steps_and_loops_without_a_wait(template):
    template("welcome")
    bad = ok()
    bad["steps"]["lost"] = {"type": "exit"}
    assert refused(bad) == "steps.lost"
    loop = ok()
    loop["steps"]["s1"]["next"] = "t1"
    loop["steps"]["t1"] = {"type": "branch", "rule": {"field": "contact.tags", "op": "has",
                                                      "value": "vip"}, "yes": "s1", "no": "s2"}
    assert refused(loop) in ("steps.s1", "steps.t1")
    # the same loop through a wait is fine (a weekly reminder, say)
    loop["steps"]["t1"]["next"] = "s2"
    loop["steps"]["s2"]["next"] = "s1"
    loop["steps"]["s1"]["next"] = "t1"
    loop["steps"]["s3"] = {"type": "exit"}
    loop["steps"]["t1"] = {"type": "tag", "add": "x", "next": "s2"}
    loop["steps"]["s2"] = {"type": "wait", "days": 7, "next": "b"}
    loop["steps"]["b"] = {"type": "branch", "rule": {"field": "contact.tags", "op": "has",
                                                     "value": "vip"}, "yes": "s3", "no": "s1"}
    assert check_definition(loop)["start"] == "s1"
