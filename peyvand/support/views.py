"""Staff task pages: the list (mine and the team's, all, overdue, done) with a close form on
each open row, a small form for a new task about one contact, and cancelling. Thin:
support.actions and queries do the work and the role checks."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.roles import can, require
from peyvand.base.views import paginate, ui_actor
from peyvand.contacts.models import Contact
from peyvand.support import actions, queries
from peyvand.support.models import TITLE_MAX, StaffTask

PER_PAGE = 25


@login_required
def task_list(request):
    actor = ui_actor(request)
    view = request.GET.get("view", "mine")
    if view not in queries.VIEWS:
        view = "mine"
    page = paginate(request, queries.tasks(actor, view), PER_PAGE)
    rows = [{"task": t, "may_close": t.state == StaffTask.State.OPEN
             and actions.may_work(actor, t)} for t in page.object_list]
    return render(request, "support/task_list.html", {
        "page": page, "rows": rows, "view": view, "now": timezone.now(),
        "counts": queries.counts(actor), "outcomes": StaffTask.Outcome.choices,
        "may_manage": can(actor, "tasks.manage")})


def _back(request):
    """Where the form came from (the list with its tab and page), else the list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("support:list")


def _act(request, pk: int, act, done: str):
    """One of the list's buttons on one task: the action, its refusal or `done` as a
    message, then back where the form came from."""
    actor = ui_actor(request)
    task = queries.task_of(actor, pk)
    try:
        act(actor, task)
    except Invalid as exc:
        for reason in exc.errors.values():
            messages.error(request, reason)
    else:
        messages.success(request, done)
    return _back(request)


@login_required
@require_POST
def task_close(request, pk: int):
    return _act(request, pk, lambda actor, task: actions.do_close_task(
        actor, task, request.POST.get("outcome", ""), request.POST.get("note", "")),
        _("Task closed."))


@login_required
@require_POST
def task_take(request, pk: int):
    """The team's task becomes mine."""
    return _act(request, pk, lambda actor, task: actions.do_reassign_task(
        actor, task, request.user), _("The task is yours."))


@login_required
@require_POST
def task_cancel(request, pk: int):
    return _act(request, pk, actions.do_cancel_task, _("Task cancelled."))


def _end_of_day(day: dt.date) -> dt.datetime:
    """A task due on a day is overdue once that local day is over."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))


@login_required
def task_new(request):
    """A task about one contact (?contact=ID), for me or the team (anyone, for tasks.manage)."""
    actor = ui_actor(request)
    require(actor, "tasks.work")
    source = request.POST if request.method == "POST" else request.GET
    raw = str(source.get("contact", ""))
    contact = get_object_or_404(Contact.objects.live(),
                                pk=int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19
                                else 0)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            due = parse_date(request.POST.get("due", ""), "due")
            actions.do_create_task(
                actor, contact, request.POST.get("title", ""), note=request.POST.get("note", ""),
                kind=request.POST.get("kind", StaffTask.Kind.CALL),
                assignee=request.user if request.POST.get("assign") == "me" else None,
                due_at=_end_of_day(due) if due else None)
        except Invalid as exc:
            errors = {k: str(v) for k, v in exc.errors.items()}
        else:
            messages.success(request, _("Task created."))
            return redirect("contacts:contact_detail", contact.pk)
    return render(request, "support/task_new.html", {
        "contact": contact, "errors": errors, "posted": request.POST, "kinds":
        StaffTask.Kind.choices, "title_max": TITLE_MAX}, status=400 if errors else 200)
