"""What support holds about a person, for merge, erasure and the subject-access export
(registered in contacts' hooks from SupportConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from peyvand.support.models import StaffTask


def move_tasks(survivor_id: int, merged_id: int) -> None:
    StaffTask.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)


def erase(contact_id: int) -> dict[str, int]:
    """Titles and notes may say anything about the person: emptied. Open tasks are cancelled
    (nobody is left to call)."""
    mine = StaffTask.objects.filter(contact_id=contact_id)
    cancelled = mine.filter(state=StaffTask.State.OPEN).update(
        state=StaffTask.State.CANCELLED, closed_at=timezone.now(), closed_by="erasure")
    emptied = mine.update(title="", note="", outcome_note="")
    return {"staff_tasks": emptied, "staff_tasks_cancelled": cancelled}


def export_sections(contact_id: int) -> dict[str, Any]:
    rows = StaffTask.objects.filter(contact_id=contact_id).select_related("assignee") \
        .order_by("created_at", "id")
    return {"staff_tasks": [{
        "title": t.title, "note": t.note, "kind": t.kind, "state": t.state,
        "assignee": t.assignee.get_username() if t.assignee else "", "due_at": t.due_at,
        "outcome": t.outcome, "outcome_note": t.outcome_note, "created_at": t.created_at,
        "created_by": t.created_by, "closed_at": t.closed_at, "source": t.source_label,
    } for t in rows]}
