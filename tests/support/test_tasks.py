"""Staff tasks: making, closing with an outcome on the timeline, roles, merge, erasure,
export and the menu's count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.contacts.models import TimelineEvent
from peyvand.contacts.templatetags.timeline import event_summary
from peyvand.support import actions, queries
from peyvand.support.hooks import TASK_CLOSED_HOOKS
from peyvand.support.models import StaffTask

pytestmark = pytest.mark.django_db

CLOSED: list[tuple] = []


def remember(task_id, contact_id, outcome, source):
    CLOSED.append((task_id, contact_id, outcome, source))


def test_create_writes_timeline_and_audit(make_contact, task_for, make_user):
    person = make_contact()
    anna = make_user("anna", "support")
    task = task_for(person, "  Call   about the refill ", assignee=anna,
                    due_at=timezone.now() + dt.timedelta(days=1), source="journey:3:s5",
                    source_label="Refill")
    assert (task.title, task.state, task.assignee, task.created_by) == (
        "Call about the refill", "open", anna, "test")
    event = TimelineEvent.objects.get(contact=person, kind="task.created")
    assert event.data["title"] == "Call about the refill"
    assert AuditEntry.objects.filter(action="task.created", target_id=str(task.pk)).exists()


@pytest.mark.parametrize("field,options,title", [
    ("title", {}, "   "),
    ("title", {}, "x" * 201),
    ("kind", {"kind": "visit"}, "Call"),
    ("assignee", {"assignee": "nobody"}, "Call"),
])
def test_bad_input_is_refused_by_field(make_contact, task_for, field, options, title):
    with pytest.raises(actions.TaskInvalid) as caught:
        task_for(make_contact(), title, **options)
    assert field in caught.value.errors
    assert not StaffTask.objects.exists()


def test_an_analyst_cannot_be_assigned(make_contact, task_for, make_user):
    make_user("ana", "analyst")
    with pytest.raises(actions.TaskInvalid) as caught:
        task_for(make_contact(), assignee="ana")
    assert "assignee" in caught.value.errors


def test_close_records_the_outcome_on_the_timeline(make_contact, task_for, actor_for,
                                                   django_capture_on_commit_callbacks):
    TASK_CLOSED_HOOKS.register("tests.support.test_tasks.remember")
    CLOSED.clear()
    person = make_contact()
    task = task_for(person, source="journey:3:s5")
    worker = actor_for("support")
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_close_task(worker, task, "reached", "said they will order next week")
    task.refresh_from_db()
    assert (task.state, task.outcome, task.outcome_note, task.closed_by) == (
        "done", "reached", "said they will order next week", worker.label)
    assert task.closed_at is not None
    event = TimelineEvent.objects.get(contact=person, kind="task.closed")
    assert event.actor_label == worker.label
    assert event_summary(event) == "Call: Reached — said they will order next week"
    assert [(task.pk, person.pk, "reached", "journey:3:s5")] == CLOSED


def test_a_task_cannot_be_closed_twice(make_contact, task_for, system):
    task = task_for(make_contact())
    actions.do_close_task(system, task, "no_answer")
    with pytest.raises(actions.TaskInvalid) as caught:
        actions.do_close_task(system, task, "reached")
    assert "state" in caught.value.errors and caught.value.status == 409
    with pytest.raises(actions.TaskInvalid):
        actions.do_cancel_task(system, task)
    assert TimelineEvent.objects.filter(kind="task.closed").count() == 1


def test_an_unknown_outcome_is_refused(make_contact, task_for, system):
    task = task_for(make_contact())
    with pytest.raises(actions.TaskInvalid) as caught:
        actions.do_close_task(system, task, "maybe")
    assert "outcome" in caught.value.errors
    task.refresh_from_db()
    assert task.state == "open"


def test_roles(make_contact, task_for, make_user):
    """tasks.work: create and close your own and the team's; tasks.manage: anyone's, cancel,
    assign others; reviewer and analyst only look."""
    person = make_contact()
    anna, reza = make_user("anna", "support"), make_user("reza", "marketer")
    as_anna, as_reza = Actor.for_user(anna, "ui"), Actor.for_user(reza, "ui")
    reviewer = Actor.for_user(make_user("rev", "reviewer"), "ui")
    analyst = Actor.for_user(make_user("ana", "analyst"), "ui")
    annas = task_for(person, assignee=anna)
    team = task_for(person)
    for actor in (reviewer, analyst):
        with pytest.raises(PermissionDenied):
            actions.do_create_task(actor, person, "Call")
        with pytest.raises(PermissionDenied):
            actions.do_close_task(actor, team, "reached")
        assert queries.tasks(actor, "all").count() == 2  # but they see them
    with pytest.raises(PermissionDenied):
        actions.do_close_task(as_reza, annas, "reached")  # someone else's
    with pytest.raises(PermissionDenied):
        actions.do_cancel_task(as_anna, team)
    with pytest.raises(PermissionDenied):
        actions.do_create_task(as_reza, person, "Call", assignee=anna)
    with pytest.raises(PermissionDenied):
        actions.do_reassign_task(as_reza, team, anna)
    assert actions.do_reassign_task(as_reza, team, reza).assignee == reza  # takes it
    actions.do_close_task(as_anna, annas, "declined")
    owner = Actor.for_user(make_user("boss", "owner"), "ui")
    actions.do_reassign_task(owner, team, anna)
    actions.do_cancel_task(owner, team)
    states = dict(StaffTask.objects.values_list("pk", "state"))
    assert states == {annas.pk: "done", team.pk: "cancelled"}
    assert event_summary(TimelineEvent.objects.filter(kind="task.closed").order_by("id").last()) \
        == "Call: cancelled"


def test_merge_moves_tasks_to_the_survivor(make_contact, task_for, owner_actor):
    from peyvand.contacts.actions import do_merge_contacts

    keep, other = make_contact(), make_contact()
    task = task_for(other)
    do_merge_contacts(owner_actor, keep, [other])
    task.refresh_from_db()
    assert task.contact_id == keep.pk


def test_erase_empties_and_cancels_their_tasks(make_contact, task_for, owner_actor, system):
    from peyvand.contacts.actions import do_erase_contact

    person, other = make_contact(), make_contact()
    open_task = task_for(person, note="lives at 12 Vali-Asr")
    done = task_for(person)
    actions.do_close_task(system, done, "reached", "their daughter answered")
    kept = task_for(other)
    do_erase_contact(owner_actor, person)
    rows = {t.pk: t for t in StaffTask.objects.all()}
    assert [(rows[t.pk].title, rows[t.pk].note, rows[t.pk].outcome_note)
            for t in (open_task, done)] == [("", "", ""), ("", "", "")]
    assert rows[open_task.pk].state == "cancelled" and rows[done.pk].state == "done"
    assert rows[kept.pk].title == "Call about the refill"
    person.refresh_from_db()
    with pytest.raises(actions.TaskInvalid):
        task_for(person)


def test_export_holds_their_tasks(make_contact, task_for):
    from peyvand.support.personal_data import export_sections

    person = make_contact()
    task_for(person, note="prefers evenings")
    section = export_sections(person.pk)["staff_tasks"]
    assert [(t["title"], t["note"], t["state"]) for t in section] == [
        ("Call about the refill", "prefers evenings", "open")]


def test_the_badge_counts_mine_and_the_teams_in_one_query(make_contact, task_for, make_user):
    person = make_contact()
    anna, reza = make_user("anna", "support"), make_user("reza", "support")
    task_for(person, assignee=anna)
    task_for(person, assignee=reza)
    task_for(person)
    closed = task_for(person)
    actions.do_close_task(Actor.system("t"), closed, "reached")
    with CaptureQueriesContext(connection) as ctx:
        assert queries.open_count(anna) == 2
    assert len(ctx.captured_queries) == 1 and "COUNT" in ctx.captured_queries[0]["sql"]
    assert queries.open_count(make_user("ana", "analyst")) == 0


def test_lists_and_counts(make_contact, task_for, make_user):
    person = make_contact()
    anna = make_user("anna", "support")
    past = timezone.now() - dt.timedelta(hours=1)
    late = task_for(person, "late", due_at=past)
    later = task_for(person, "later", due_at=timezone.now() + dt.timedelta(days=2))
    undated = task_for(person, "undated", assignee=anna)
    other = task_for(person, "someone's", assignee=make_user("reza", "support"))
    me = Actor.for_user(anna, "ui")
    assert list(queries.tasks(me, "mine")) == [late, later, undated]
    assert list(queries.tasks(me, "all")) == [late, later, undated, other]
    assert list(queries.tasks(me, "overdue")) == [late]
    assert queries.counts(me) == {"open": 3, "overdue": 1}
    actions.do_close_task(me, undated, "other")
    assert list(queries.tasks(me, "done")) == [undated]
