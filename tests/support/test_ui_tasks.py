"""The /tasks/ page: tabs, the close form, empty states, pagination, the menu's badge, and a
new task from a contact's page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from peyvand.contacts.models import TimelineEvent
from peyvand.support.models import StaffTask

pytestmark = pytest.mark.django_db


def ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-task="(\d+)">', html)]


def badge(html: str) -> str | None:
    found = re.search(r'href="/tasks/"[^>]*>[^<]*<span class="navbadge" data-badge="(\d+)"',
                      html)
    return found.group(1) if found else None


def test_empty_states(client_for):
    client = client_for("support")
    html = client.get("/tasks/").content.decode()
    assert 'id="no-tasks"' in html and badge(html) is None
    assert 'id="no-tasks"' in client.get("/tasks/?view=done").content.decode()


def test_tabs_close_and_badge(client_for, make_contact, task_for, make_user):
    client = client_for("support", username="anna")
    other = make_user("reza", "support")
    person = make_contact(first_name="Sara")
    late = task_for(person, "Late call", due_at=timezone.now() - dt.timedelta(hours=2),
                    source="journey:1:s1", source_label="Refill")
    mine = task_for(person, "Mine", assignee=client.user)
    theirs = task_for(person, "Theirs", assignee=other)
    html = client.get("/tasks/").content.decode()
    assert ids(html) == [late.pk, mine.pk]
    assert badge(html) == "2"
    assert "from journey «<bdi>Refill</bdi>»" in html
    assert f'href="/contacts/{person.pk}/"' in html
    assert ids(client.get("/tasks/?view=all").content.decode()) == [late.pk, mine.pk,
                                                                     theirs.pk]
    assert ids(client.get("/tasks/?view=overdue").content.decode()) == [late.pk]
    response = client.post(f"/tasks/{late.pk}/close/", {
        "outcome": "reached", "note": "will order next week", "next": "/tasks/?view=overdue"})
    assert response.status_code == 302 and response["Location"] == "/tasks/?view=overdue"
    late.refresh_from_db()
    assert (late.state, late.outcome) == ("done", "reached")
    event = TimelineEvent.objects.get(kind="task.closed")
    assert event.data["note"] == "will order next week"
    html = client.get("/tasks/").content.decode()
    assert ids(html) == [mine.pk] and badge(html) == "1"
    done = client.get("/tasks/?view=done").content.decode()
    assert ids(done) == [late.pk] and "will order next week" in done
    # someone else's: no close form, and the close is refused
    assert client.post(f"/tasks/{theirs.pk}/close/", {"outcome": "reached"}).status_code == 403
    # the contact's page shows the closing on its timeline
    page = client.get(f"/contacts/{person.pk}/").content.decode()
    assert "will order next week" in page


def test_a_bad_close_is_reported_and_changes_nothing(client_for, make_contact, task_for):
    client = client_for("support")
    task = task_for(make_contact())
    response = client.post(f"/tasks/{task.pk}/close/", {"outcome": "maybe"}, follow=True)
    assert "Choose one of" in response.content.decode()
    task.refresh_from_db()
    assert task.state == "open"


def test_pagination(client_for, make_contact, task_for):
    client = client_for("owner")
    person = make_contact()
    for n in range(30):
        task_for(person, f"Call {n}")
    first = client.get("/tasks/").content.decode()
    second = client.get("/tasks/?page=2").content.decode()
    assert len(ids(first)) == 25 and len(ids(second)) == 5
    assert not set(ids(first)) & set(ids(second))
    assert 'rel="next"' in first


def test_badge_in_persian_digits(client_for, make_contact, task_for):
    client = client_for("support", language="fa")
    person = make_contact()
    for _ in range(3):
        task_for(person)
    html = client.get("/tasks/").content.decode()
    assert badge(html) == "3" and 'data-badge="3">۳<' in html


def test_the_list_costs_the_same_queries_for_more_rows(client_for, make_contact, task_for,
                                                       django_assert_max_num_queries):
    client = client_for("owner")
    person = make_contact()
    task_for(person)
    client.get("/tasks/")
    for _ in range(10):
        task_for(make_contact())
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/tasks/?view=all")
    for _ in range(10):
        task_for(make_contact())
    with CaptureQueriesContext(connection) as many:
        client.get("/tasks/?view=all")
    assert len(many) == len(few)


def test_new_task_from_the_contact_page(client_for, make_contact):
    client = client_for("support")
    person = make_contact()
    page = client.get(f"/contacts/{person.pk}/").content.decode()
    assert f'href="/tasks/new/?contact={person.pk}"' in page
    form = client.get(f"/tasks/new/?contact={person.pk}")
    assert form.status_code == 200
    refused = client.post("/tasks/new/", {"contact": person.pk, "title": ""})
    assert refused.status_code == 400 and not StaffTask.objects.exists()
    made = client.post("/tasks/new/", {"contact": person.pk, "title": "Call back",
                                       "kind": "call", "due": "2030-01-02", "assign": "me"})
    assert made.status_code == 302
    task = StaffTask.objects.get()
    assert (task.title, task.assignee, task.created_by) == ("Call back", client.user,
                                                            client.user.username)
    assert timezone.localtime(task.due_at).date() == dt.date(2030, 1, 2)
    assert client_for("analyst").get(f"/contacts/{person.pk}/").content.decode().count(
        "/tasks/new/") == 0


def test_take_a_team_task(client_for, make_contact, task_for):
    client = client_for("marketer")
    task = task_for(make_contact())
    assert f'action="/tasks/{task.pk}/take/"' in client.get("/tasks/").content.decode()
    assert client.post(f"/tasks/{task.pk}/take/", {"next": "/tasks/"}).status_code == 302
    task.refresh_from_db()
    assert task.assignee == client.user
    assert f'action="/tasks/{task.pk}/take/"' not in client.get("/tasks/").content.decode()
    # now it is someone else's for another worker
    other = client_for("support")
    assert other.post(f"/tasks/{task.pk}/take/").status_code == 403
