"""The tasks API: list with filters, create, close."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.contacts.models import TimelineEvent
from peyvand.support.models import StaffTask
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db


def test_create_list_and_close(api_for, make_contact):
    api = api_for("support", "anna")
    person = make_contact()
    made = send(api, "post", "/api/v1/tasks", {
        "contact": person.pk, "title": "Call about the refill", "assignee": "anna",
        "due_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()})
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["title"], body["assignee"], body["state"], body["kind"]) == (
        "Call about the refill", "anna", "open", "call")
    send(api, "post", "/api/v1/tasks", {"contact": person.pk, "title": "Later"})
    listed = api.get("/api/v1/tasks?overdue=true").json()
    assert [t["title"] for t in listed["items"]] == ["Call about the refill"]
    assert listed["count"] == 1
    assert api.get("/api/v1/tasks?mine=true&page_size=1").json()["count"] == 2
    closed = send(api, "post", f"/api/v1/tasks/{body['id']}/close",
                  {"outcome": "no_answer", "note": "rang twice"})
    assert closed.status_code == 200
    assert (closed.json()["state"], closed.json()["outcome"]) == ("done", "no_answer")
    assert TimelineEvent.objects.filter(contact=person, kind="task.closed").count() == 1
    again = send(api, "post", f"/api/v1/tasks/{body['id']}/close", {"outcome": "reached"})
    assert again.status_code == 409 and "state" in again.json()["errors"]
    done = api.get("/api/v1/tasks?state=done").json()
    assert [t["id"] for t in done["items"]] == [body["id"]]


def test_refusals_name_the_field(api_for, make_contact):
    api = api_for("owner")
    person = make_contact()
    empty = send(api, "post", "/api/v1/tasks", {"contact": person.pk, "title": " "})
    assert empty.status_code == 400 and "title" in empty.json()["errors"]
    nobody = send(api, "post", "/api/v1/tasks", {"contact": person.pk, "title": "Call",
                                                  "assignee": "ghost"})
    assert nobody.status_code == 400 and "assignee" in nobody.json()["errors"]
    late = send(api, "post", "/api/v1/tasks", {"contact": person.pk, "title": "Call",
                                                "due_at": "tomorrow"})
    assert late.status_code == 400 and "due_at" in late.json()["errors"]
    missing = send(api, "post", "/api/v1/tasks", {"contact": 999999, "title": "Call"})
    assert missing.status_code == 404
    assert send(api, "post", "/api/v1/tasks/999999/close",
                {"outcome": "reached"}).status_code == 404
    assert not StaffTask.objects.exists()


def test_a_marketer_may_not_assign_someone_else(api_for, make_contact, make_user):
    make_user("anna", "support")
    response = send(api_for("marketer"), "post", "/api/v1/tasks",
                    {"contact": make_contact().pk, "title": "Call", "assignee": "anna"})
    assert response.status_code == 403
    assert not StaffTask.objects.exists()


def test_cli_lists_and_closes(cli, make_contact, system):
    from peyvand.support.actions import do_create_task

    task = do_create_task(system, make_contact(), "Call about the refill")
    code, out, _err = cli("tasks", "list")
    assert code == 0 and "Call about the refill" in out
    code, out, _err = cli("tasks", "close", str(task.pk), "--outcome", "reached",
                          "--note", "ok")
    assert code == 0
    task.refresh_from_db()
    assert (task.state, task.outcome, task.outcome_note) == ("done", "reached", "ok")
    code, out, _err = cli("tasks", "list", "--overdue")
    assert code == 0 and "Call about the refill" not in out
    code, _out, _err = cli("tasks", "close", str(task.pk), "--outcome", "reached")
    assert code == 1
