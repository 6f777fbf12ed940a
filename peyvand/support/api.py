"""REST API for staff tasks: the list (state, mine, overdue), a new task, closing one with its
outcome. Thin: role checks in support.actions / queries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (
    DB_INT,
    ERRORS,
    Body,
    ErrorOut,
    Input,
    Paging,
    Status,
    api_actor,
    one_of,
    page_of,
)
from peyvand.base.roles import require
from peyvand.contacts.models import Contact
from peyvand.support import actions, queries

router = Router(tags=["tasks"])


class SupportTaskFilter(Input):
    state: Literal["open", "done", "cancelled"] | None = None
    mine: bool = Field(False, description="only mine and the team's (unassigned)")
    overdue: bool = Field(False, description="only those past their due time")


class SupportTaskIn(Body):
    contact: DB_INT
    title: str = Field(description="at most 200 characters")
    note: str = ""
    kind: Annotated[str, one_of("call", "email", "other")] = "call"
    assignee: str | None = Field(None, description="a username; null: the team")
    due_at: str | None = Field(None, description="ISO 8601, e.g. 2026-12-24T17:00+03:30 "
                                                 "(without an offset: the shop's time)")


class SupportTaskCloseIn(Body):
    outcome: Annotated[str, one_of("reached", "no_answer", "declined", "other")]
    note: str = ""


class SupportTaskOut(Schema):
    id: int
    contact: int
    title: str
    note: str
    kind: str
    assignee: str | None
    due_at: dt.datetime | None
    state: str
    outcome: str
    outcome_note: str
    created_at: dt.datetime
    created_by: str
    closed_at: dt.datetime | None
    closed_by: str
    source: str
    source_label: str


class SupportTaskPage(Schema):
    items: list[SupportTaskOut]
    count: int
    page: int
    page_size: int


@router.get("/tasks", response={200: SupportTaskPage, ERRORS: ErrorOut})
def list_tasks(request, filters: Query[SupportTaskFilter], paging: Query[Paging]):
    """Open tasks by default, soonest due first."""
    qs = queries.search(api_actor(request), state=filters.state, mine=filters.mine,
                        overdue=filters.overdue)
    page, count = page_of(qs, paging)
    return {"items": [queries.task_data(t) for t in page], "count": count,
            "page": paging.page, "page_size": paging.page_size}


@router.post("/tasks", response={201: SupportTaskOut, ERRORS: ErrorOut})
def create_task(request, payload: SupportTaskIn):
    """A task about a contact, for a user (tasks.manage for someone else) or the team."""
    actor = api_actor(request)
    require(actor, "tasks.work")  # before the contact is looked up: a 403 reveals nothing
    contact = get_object_or_404(Contact.objects.live(), pk=payload.contact)
    task = actions.do_create_task(actor, contact, payload.title, note=payload.note,
                                  kind=payload.kind, assignee=payload.assignee,
                                  due_at=payload.due_at)
    return Status(201, queries.task_data(task))


@router.post("/tasks/{int:task_id}/close", response={200: SupportTaskOut, ERRORS: ErrorOut})
def close_task(request, task_id: int, payload: SupportTaskCloseIn):
    """Done, with its outcome: written on the contact's timeline (409 when already closed)."""
    actor = api_actor(request)
    task = actions.do_close_task(actor, queries.task_of(actor, task_id), payload.outcome,
                                 payload.note)
    return queries.task_data(task)
