"""Journey pages: the list, one journey (its published steps as a flow with their counts,
publish / pause, enrolling people, the draft's JSON with its faults by path) and F7's
forgotten people. Thin: journeys.actions and queries do the work and the role checks."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from peyvand.base.errors import Invalid
from peyvand.base.normalise.text import ascii_digits
from peyvand.base.roles import can, require
from peyvand.base.views import paginate, ui_actor
from peyvand.journeys import actions, queries
from peyvand.journeys.definition import MAX_WAIT_DAYS, UNITS
from peyvand.journeys.forgotten import DEFAULT_DAYS
from peyvand.journeys.models import Journey

PER_PAGE = 50


def _days(raw: str | None) -> int:
    """The days filter: a whole number from 1 to MAX_WAIT_DAYS, else the default."""
    try:
        days = int(raw or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if 1 <= days <= MAX_WAIT_DAYS else DEFAULT_DAYS


@login_required
def forgotten_list(request):
    actor = ui_actor(request)
    days = _days(request.GET.get("days"))
    page = paginate(request, queries.forgotten_people(actor, days), PER_PAGE)
    sent = queries.last_sent([c.pk for c in page.object_list])
    rows = [{"contact": c, "last_sent": sent.get(c.pk)} for c in page.object_list]
    return render(request, "journeys/forgotten.html", {
        "page": page, "rows": rows, "days": days, "max_days": MAX_WAIT_DAYS})


@login_required
def journey_list(request):
    actor = ui_actor(request)
    page = paginate(request, queries.journeys(actor), PER_PAGE)
    ids = [j.pk for j in page.object_list]
    counts, versions = queries.state_counts(ids), queries.live_versions(ids)
    rows = [{"journey": j, "version": versions.get(j.pk), "counts": counts[j.pk]}
            for j in page.object_list]
    return render(request, "journeys/journey_list.html", {
        "page": page, "rows": rows, "may_edit": can(actor, "journeys.edit")})


@login_required
@require_POST
def journey_new(request):
    actor = ui_actor(request)
    require(actor, "journeys.edit")
    try:
        journey = actions.do_save_journey(actor, {"name": request.POST.get("name", "")})
    except Invalid as exc:
        for reason in exc.errors.values():
            messages.error(request, reason)
        return redirect("journeys:list")
    return redirect("journeys:detail", journey.pk)


WEEKDAYS = (gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
            gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"),
            gettext_lazy("Sunday"))  # ISO order: weekday 1 is Monday


def _duration(spec: dict[str, Any]) -> str:
    unit = next((u for u in UNITS if u in spec), "minutes")
    n = spec.get(unit, 0)
    return {"minutes": _("%(n)s minutes"), "hours": _("%(n)s hours"),
            "days": _("%(n)s days")}[unit] % {"n": n}


def step_summary(step: dict[str, Any]) -> str:
    """What a step does, in words, for the flow."""
    kind = step["type"]
    if kind == "send":
        text = _("Send “%(template)s”") % {"template": step["template"]}
        if step.get("best_hour"):
            text += " " + _("at the contact's best hour (at most %(hours)s hours later)") % {
                "hours": step.get("max_delay_hours", 24)}
        return text
    if kind == "wait":
        return _("Wait %(time)s") % {"time": _duration(step)}
    if kind == "wait_event":
        event = {"opened": _("an open"), "clicked": _("a click"),
                 "ordered": _("an order"), "replied": _("a reply")}.get(step["event"],
                                                                       step["event"])
        return _("Wait for %(event)s, at most %(time)s") % {
            "event": event, "time": _duration(step["timeout"])}
    if kind == "wait_until":
        if "weekday" in step:
            day = WEEKDAYS[step["weekday"] - 1]
            return _("Wait until %(day)s %(time)s in the contact's time zone") % {
                "day": day, "time": step["time"]}
        return _("Wait until %(time)s in the contact's time zone") % {"time": step["time"]}
    if kind == "update_field":
        if step.get("value") is None:
            return _("Clear the field “%(field)s”") % {"field": step["field"]}
        return _("Set the field “%(field)s” to “%(value)s”") % {
            "field": step["field"], "value": step["value"]}
    if kind == "webhook":
        return _("Call %(url)s") % {"url": step["url"]}
    if kind == "branch":
        on = step.get("on", "rule")
        if on == "response":
            return _("By what the contact did with the last message")
        if on == "event":
            return _("By whether the awaited event came")
        return _("If the contact matches the rule")
    if kind == "split":
        return _("Split: %(percent)s%% to a, the rest to b") % {"percent": step["percent"]}
    if kind == "tag":
        if "remove" in step:
            return _("Remove the tag “%(tag)s”") % {"tag": step["remove"]}
        return _("Add the tag “%(tag)s”") % {"tag": step["add"]}
    if kind == "task":
        if step.get("assign_to"):
            return _("Task for %(user)s: “%(title)s”") % {"user": step["assign_to"],
                                                         "title": step["title"]}
        return _("Task for the team: “%(title)s”") % {"title": step["title"]}
    return _("Exit the journey")


def _exit_label(key: str) -> str:
    return {"next": _("then"), "timeout_next": _("if no event"), "yes": _("yes"),
            "no": _("no"), "a": "a", "b": "b", "clicked": _("clicked"),
            "opened": _("opened"), "none": _("neither"), "event": _("the event came"),
            "timeout": _("timed out"), "else": _("otherwise")}.get(key, key)


def _detail(request, actor, journey: Journey, *, draft: str | None = None,
            errors: dict[str, str] | None = None, status: int = 200):
    flow = queries.flow(actor, journey)
    for row in flow["steps"]:
        row["summary"] = step_summary(row["step"])
        row["exits"] = [(_exit_label(key), target) for key, target in row["exits"]]
    if draft is None:
        draft = json.dumps(journey.definition, ensure_ascii=False, indent=2)
    return render(request, "journeys/journey_detail.html", {
        "journey": journey, "flow": flow, "draft": draft, "errors": errors or {},
        "may_edit": can(actor, "journeys.edit"),
        "may_publish": can(actor, "journeys.publish")}, status=status)


@login_required
def journey_detail(request, pk: int):
    actor = ui_actor(request)
    return _detail(request, actor, queries.journey_of(actor, pk))


@login_required
@require_POST
def journey_definition(request, pk: int):
    """Save the draft's JSON, or show it again with its first fault by path."""
    actor = ui_actor(request)
    require(actor, "journeys.edit")
    journey = queries.journey_of(actor, pk)
    text = request.POST.get("definition", "")
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        return _detail(request, actor, journey, draft=text, status=400, errors={
            "definition": _("This is not JSON (line %(line)s, column %(column)s).")
            % {"line": exc.lineno, "column": exc.colno}})
    try:
        actions.do_save_journey(actor, {"definition": raw}, journey)
    except Invalid as exc:
        return _detail(request, actor, journey, draft=text, errors=exc.errors, status=400)
    messages.success(request, _("Draft saved. Publish it to make it the journey people take."))
    return redirect("journeys:detail", journey.pk)


@login_required
@require_POST
def journey_publish(request, pk: int):
    actor = ui_actor(request)
    require(actor, "journeys.publish")
    journey = queries.journey_of(actor, pk)
    try:
        version = actions.do_publish(actor, journey)
    except Invalid as exc:
        for path, reason in exc.errors.items():
            messages.error(request, f"{path}: {reason}")
    else:
        messages.success(request, _("Published: version %(number)s is live.")
                         % {"number": version.number})
    return redirect("journeys:detail", journey.pk)


@login_required
@require_POST
def journey_pause(request, pk: int):
    actor = ui_actor(request)
    require(actor, "journeys.publish")
    actions.do_pause(actor, queries.journey_of(actor, pk))
    messages.success(request, _("Paused: no one enters and no step runs until it is "
                                "published again."))
    return redirect("journeys:detail", pk)


@login_required
@require_POST
def journey_enrol(request, pk: int):
    """Enrol contacts by number (spaces, commas or lines between them)."""
    actor = ui_actor(request)
    require(actor, "journeys.edit")
    journey = queries.journey_of(actor, pk)
    numbers = [int(n) for n in re.findall(r"\d+", ascii_digits(request.POST.get("contacts",
                                                                                 "")))]
    try:
        done = actions.do_enrol(actor, journey, numbers, source="ui")
    except Invalid as exc:
        for reason in exc.errors.values():
            messages.error(request, reason)
    else:
        refused = sum(done["refused"].values())
        messages.success(request, _("Enrolled %(n)s; refused %(refused)s.")
                         % {"n": done["enrolled"], "refused": refused})
    return redirect("journeys:detail", journey.pk)
