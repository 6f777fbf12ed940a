"""Every write to staff tasks: create, close with an outcome, reassign, cancel. Each checks the
role (tasks.work; tasks.manage for cancelling, assigning others and anyone's tasks), writes
the timeline and audit rows in its transaction, and closing tells TASK_CLOSED_HOOKS after
commit."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.normalise.text import check_storable_text, normalise_text
from peyvand.base.roles import can, require, role_of
from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event
from peyvand.support.hooks import TASK_CLOSED_HOOKS
from peyvand.support.models import TITLE_MAX, StaffTask

logger = logging.getLogger(__name__)
NOTE_MAX = 5000


class TaskInvalid(Invalid):
    """A task refused: field → reason."""


def _user_id(actor: Actor) -> int | None:
    return actor.user.pk if actor.user is not None else None


def may_work(actor: Actor, task: StaffTask) -> bool:
    """Close or hand back: your own and the team's with tasks.work, anyone's with tasks.manage."""
    if can(actor, "tasks.manage"):
        return True
    return can(actor, "tasks.work") and task.assignee_id in (None, _user_id(actor))


def check_assignee(actor: Actor, assignee: Any) -> Any:
    """The user a task may go to (None: the team). A worker gives tasks to themselves or the
    team; only tasks.manage gives them to someone else, who must be active and work tasks."""
    if assignee in (None, ""):
        return None
    User = get_user_model()
    if not isinstance(assignee, User):
        assignee = User.objects.filter(username=str(assignee)).select_related("profile").first()
    if assignee is None or not can(role_of(assignee), "tasks.work"):
        raise TaskInvalid({"assignee": _("Choose an active user whose role works tasks.")})
    if assignee.pk != _user_id(actor) and not can(actor, "tasks.manage"):
        raise PermissionDenied(_("Your role may assign tasks only to yourself or the team."))
    return assignee


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TaskInvalid({field: _("Give text.")})
    # A title is one line; a note keeps its lines.
    value = normalise_text(value) if required else value.strip()
    check_storable_text(value, field)
    if required and not value:
        raise TaskInvalid({field: _("Give the task a title.")})
    if len(value) > limit:
        raise TaskInvalid({field: _("At most %(n)s characters.") % {"n": limit}})
    return value


def _choice(value: Any, field: str, choices: Any) -> str:
    if value not in choices.values:
        raise TaskInvalid({field: _("Choose one of: %(values)s.")
                           % {"values": ", ".join(choices.values)}})
    return value


def check_due(value: Any) -> dt.datetime | None:
    """A moment (ISO 8601 text, e.g. 2026-12-24T17:00+03:30; without an offset, the shop's
    time) or None."""
    if value is None or value == "" or isinstance(value, dt.datetime):
        moment = value or None
    else:
        try:
            moment = parse_datetime(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None:
            raise TaskInvalid({"due_at": _("Give the time as ISO 8601, e.g. "
                                           "2026-12-24T17:00+03:30.")})
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def do_create_task(actor: Actor, contact: Contact, title: Any, *, note: Any = "",
                   kind: Any = StaffTask.Kind.CALL, assignee: Any = None,
                   due_at: Any = None, source: str = "", source_label: str = "",
                   dedupe_key: str = "") -> StaffTask:
    """A new open task about `contact`. With `dedupe_key`, the task already made under that key
    is returned instead of a second one (a journey step retried)."""
    require(actor, "tasks.work")
    if dedupe_key:
        found = StaffTask.objects.filter(dedupe_key=dedupe_key).first()
        if found is not None:
            return found
    if contact.erased_at is not None:
        raise TaskInvalid({"contact": _("This person was erased.")})
    task = StaffTask(
        contact=contact, title=_text(title, "title", TITLE_MAX, required=True),
        note=_text(note, "note", NOTE_MAX), kind=_choice(kind, "kind", StaffTask.Kind),
        assignee=check_assignee(actor, assignee), due_at=check_due(due_at), created_by=actor.label,
        source=source[:100], source_label=source_label[:200], dedupe_key=dedupe_key[:100])
    try:
        with transaction.atomic():
            task.save()
            append_event(contact.pk, "task.created", {
                "task": task.pk, "kind": task.kind, "title": task.title,
                "source": task.source_label}, actor=actor)
            record_audit(actor, "task.created", target_type="task", target_id=task.pk,
                         summary=f"task {task.pk}",
                         details={"contact": contact.pk, "kind": task.kind,
                                  "assignee": task.assignee.get_username()
                                  if task.assignee else "", "source": task.source})
    except IntegrityError:
        if dedupe_key:  # made meanwhile under the same key
            return StaffTask.objects.get(dedupe_key=dedupe_key)
        raise
    return task


def _locked_open(task: StaffTask) -> StaffTask:
    """The task re-read under a row lock; refused (409) unless still open."""
    current = StaffTask.objects.select_for_update().get(pk=task.pk)
    if current.state != StaffTask.State.OPEN:
        raise TaskInvalid({"state": _("This task is already closed.")}, status=409)
    return current


def do_close_task(actor: Actor, task: StaffTask, outcome: Any, note: Any = "") -> StaffTask:
    """Done, with how it went; the outcome and note go on the contact's timeline."""
    require(actor, "tasks.work")
    if not may_work(actor, task):
        raise PermissionDenied(_("This task is someone else's."))
    outcome = _choice(outcome, "outcome", StaffTask.Outcome)
    note = _text(note, "note", NOTE_MAX)
    with transaction.atomic():
        task = _locked_open(task)
        task.state, task.outcome, task.outcome_note = StaffTask.State.DONE, outcome, note
        task.closed_at, task.closed_by = timezone.now(), actor.label
        task.save(update_fields=["state", "outcome", "outcome_note", "closed_at", "closed_by"])
        append_event(task.contact_id, "task.closed", {
            "task": task.pk, "kind": task.kind, "title": task.title, "state": task.state,
            "outcome": outcome, "note": note}, actor=actor)
        record_audit(actor, "task.closed", target_type="task", target_id=task.pk,
                     summary=f"task {task.pk}: {outcome}",
                     details={"contact": task.contact_id, "outcome": outcome})
        for hook in TASK_CLOSED_HOOKS:
            transaction.on_commit(functools.partial(
                _tell, hook, task.pk, task.contact_id, outcome, task.source))
    return task


def _tell(hook, *args: Any) -> None:
    try:
        hook(*args)
    except Exception:  # an upper floor's failure does not undo the closing
        logger.exception("task closed hook %r failed", hook)


def do_reassign_task(actor: Actor, task: StaffTask, assignee: Any) -> StaffTask:
    """Give an open task to someone (tasks.manage), take it or hand it back to the team."""
    require(actor, "tasks.work")
    if not may_work(actor, task):
        raise PermissionDenied(_("This task is someone else's."))
    assignee = check_assignee(actor, assignee)
    with transaction.atomic():
        task = _locked_open(task)
        task.assignee = assignee
        task.save(update_fields=["assignee"])
        record_audit(actor, "task.reassigned", target_type="task", target_id=task.pk,
                     summary=f"task {task.pk}",
                     details={"assignee": assignee.get_username() if assignee else ""})
    return task


def do_cancel_task(actor: Actor, task: StaffTask, note: Any = "") -> StaffTask:
    """Not needed any more (tasks.manage); recorded on the timeline as cancelled."""
    require(actor, "tasks.manage")
    note = _text(note, "note", NOTE_MAX)
    with transaction.atomic():
        task = _locked_open(task)
        task.state, task.outcome_note = StaffTask.State.CANCELLED, note
        task.closed_at, task.closed_by = timezone.now(), actor.label
        task.save(update_fields=["state", "outcome_note", "closed_at", "closed_by"])
        append_event(task.contact_id, "task.closed", {
            "task": task.pk, "kind": task.kind, "title": task.title, "state": task.state,
            "outcome": "", "note": note}, actor=actor)
        record_audit(actor, "task.cancelled", target_type="task", target_id=task.pk,
                     summary=f"task {task.pk}", details={"contact": task.contact_id})
    return task
