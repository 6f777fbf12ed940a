"""The `task` step: a journey hands the person to staff with one StaffTask per visit."""

from __future__ import annotations

import datetime as dt

import pytest

from peyvand.journeys.actions import enrol
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from peyvand.support.models import StaffTask
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db

TASK = {"type": "task", "title": "Call about the refill", "kind": "call", "due_hours": 24}


def test_the_step_creates_one_task_per_enrolment(live, make_contact, make_user):
    make_user("anna", "support")
    journey = live(steps(dict(TASK, assign_to="anna"), {"type": "tag", "add": "handed"}))
    people = [make_contact() for _ in range(2)]
    items = [enrol(journey, p.pk, "test")[0] for p in people]
    before = dt.datetime.now(dt.UTC)
    run_due("w")
    tasks = list(StaffTask.objects.order_by("contact_id"))
    assert [t.contact_id for t in tasks] == sorted(p.pk for p in people)
    task = tasks[0]
    assert (task.title, task.kind, task.assignee.username, task.source, task.source_label,
            task.created_by) == ("Call about the refill", "call", "anna",
                                 f"journey:{journey.pk}:s1", "J", f"journey:{journey.pk}")
    assert dt.timedelta(hours=23) < task.due_at - before < dt.timedelta(hours=25)
    for item in items:
        item.refresh_from_db()
        assert item.state == Enrolment.State.DONE
        run = StepRun.objects.get(enrolment=item, node="s1")
        assert run.outcome == "created"
        assert run.detail["task"] in {t.pk for t in tasks}


def test_a_retried_step_makes_no_second_task(live, make_contact):
    """The step's run is lost after its task committed (a worker died between the two): the
    retry finds the task made under the same step run key."""
    journey = live(steps(TASK, {"type": "wait", "hours": 1}))
    person = make_contact()
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w1")
    task = StaffTask.objects.get()
    StepRun.objects.filter(enrolment=item).delete()
    Enrolment.objects.filter(pk=item.pk).update(node="s1", state=Enrolment.State.ACTIVE,
                                                next_run_at=item.entered_at)
    run_due("w2")
    assert StaffTask.objects.count() == 1
    assert StepRun.objects.get(enrolment=item, node="s1").detail["task"] == task.pk


def test_a_user_gone_since_leaves_the_task_to_the_team(live, make_contact, make_user):
    anna = make_user("anna", "support")
    journey = live(steps(dict(TASK, assign_to="anna")))
    anna.is_active = False
    anna.save()
    enrol(journey, make_contact().pk, "test")
    run_due("w")
    assert StaffTask.objects.get().assignee is None


@pytest.mark.parametrize("step,path", [
    ({"type": "task"}, "steps.s1.title"),
    ({"type": "task", "title": "x" * 201}, "steps.s1.title"),
    ({"type": "task", "title": "Call", "due_hours": 0}, "steps.s1.due_hours"),
    ({"type": "task", "title": "Call", "due_hours": 721}, "steps.s1.due_hours"),
    ({"type": "task", "title": "Call", "due_hours": 1.5}, "steps.s1.due_hours"),
    ({"type": "task", "title": "Call", "kind": "visit"}, "steps.s1.kind"),
    ({"type": "task", "title": "Call", "assign_to": "nobody"}, "steps.s1.assign_to"),
    ({"type": "task", "title": "Call", "colour": "red"}, "steps.s1.colour"),
])
def test_the_check_names_the_fault(db, step, path):
    from peyvand.journeys.definition import DefinitionInvalid

    with pytest.raises(DefinitionInvalid) as caught:
        check_definition(steps(step))
    assert list(caught.value.errors) == [path]


def test_a_good_step_passes(make_user):
    make_user("anna", "support")
    check_definition(steps(dict(TASK, assign_to="anna")))


def test_the_flow_names_the_task(make_user):
    from peyvand.journeys.views import step_summary

    assert step_summary(TASK) == "Task for the team: “Call about the refill”"
    assert step_summary(dict(TASK, assign_to="anna")) == \
        "Task for anna: “Call about the refill”"
