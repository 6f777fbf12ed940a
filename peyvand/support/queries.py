"""Reads of staff tasks: the lists (mine and the team's, all open, overdue, closed), one task
with its permission check, and the menu's count."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.roles import can, require, role_of
from peyvand.support.models import StaffTask

VIEWS = ("mine", "all", "overdue", "done")


def _mine(user_id: int | None) -> Q:
    """Assigned to this user or to the team (the operator, without a user, sees the team's)."""
    team = Q(assignee__isnull=True)
    return (team | Q(assignee_id=user_id)) if user_id else team


def tasks(actor: Actor, view: str = "mine") -> QuerySet[StaffTask]:
    """One list of tasks: "mine" (open, mine and the team's), "all" (open), "overdue" (open
    and past due), "done" (closed or cancelled, newest first). Soonest due first; undated last."""
    require(actor, "tasks.view")
    qs = StaffTask.objects.select_related("contact", "assignee")
    if view == "done":
        return qs.exclude(state=StaffTask.State.OPEN).order_by("-closed_at", "-id")
    qs = qs.filter(state=StaffTask.State.OPEN)
    if view == "mine":
        qs = qs.filter(_mine(actor.user.pk if actor.user else None))
    elif view == "overdue":
        qs = qs.filter(due_at__lt=timezone.now())
    return qs.order_by(F("due_at").asc(nulls_last=True), "id")


def search(actor: Actor, *, state: str | None = None, mine: bool = False,
           overdue: bool = False) -> QuerySet[StaffTask]:
    """The API's and the CLI's list: any state (open by default), filtered; oldest first."""
    require(actor, "tasks.view")
    qs = StaffTask.objects.select_related("assignee").filter(state=state or StaffTask.State.OPEN)
    if mine:
        qs = qs.filter(_mine(actor.user.pk if actor.user else None))
    if overdue:
        qs = qs.filter(due_at__lt=timezone.now())
    return qs.order_by(F("due_at").asc(nulls_last=True), "id")


def task_of(actor: Actor, pk: int) -> StaffTask:
    require(actor, "tasks.view")
    return get_object_or_404(StaffTask.objects.select_related("contact", "assignee"), pk=pk)


def open_count(user: Any) -> int:
    """The menu badge: the user's open tasks and the team's; one COUNT on (state, …) indexes."""
    if user is None or not user.is_authenticated or not can(role_of(user), "tasks.work"):
        return 0  # a role that does not work tasks is not asked to
    return StaffTask.objects.filter(_mine(user.pk), state=StaffTask.State.OPEN).count()


def counts(actor: Actor) -> dict[str, int]:
    """Open (mine and the team's) and overdue among them."""
    require(actor, "tasks.view")
    mine = StaffTask.objects.filter(_mine(actor.user.pk if actor.user else None),
                                    state=StaffTask.State.OPEN)
    return {"open": mine.count(), "overdue": mine.filter(due_at__lt=timezone.now()).count()}


def task_data(task: StaffTask) -> dict[str, Any]:
    return {
        "id": task.pk, "contact": task.contact_id, "title": task.title, "note": task.note,
        "kind": task.kind, "assignee": task.assignee.get_username() if task.assignee else None,
        "due_at": task.due_at, "state": task.state, "outcome": task.outcome,
        "outcome_note": task.outcome_note, "created_at": task.created_at,
        "created_by": task.created_by, "closed_at": task.closed_at, "closed_by": task.closed_by,
        "source": task.source, "source_label": task.source_label,
    }
