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
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from peyvand.base.errors import Invalid
from peyvand.base.normalise.text import ascii_digits
from peyvand.base.roles import can, require
from peyvand.base.views import paginate, ui_actor
from peyvand.journeys import actions, builder_forms, queries
from peyvand.journeys import builder as builder_module
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
    if kind == "exit":
        return _("Exit the journey")
    return _("Step of type “%(type)s”") % {"type": kind}


def _exit_label(key: str) -> str:
    return {"next": _("then"), "timeout_next": _("if no event"), "yes": _("yes"),
            "no": _("no"), "a": "a", "b": "b", "clicked": _("clicked"),
            "opened": _("opened"), "none": _("neither"), "event": _("the event came"),
            "timeout": _("timed out"), "else": _("otherwise")}.get(key, key)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def goal_words(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """queries.goal_report with its sentence: the journey's arm against the holdout, or the
    overall conversion and why there is no comparison."""
    if report is None:
        return None
    overall = report["overall"]
    if report["split"] is None:
        report["words"] = _("Overall, %(converted)s of %(people)s people reached the goal "
                            "(%(rate)s). A comparison with a holdout needs a split step.") % {
            "converted": overall["converted"], "people": overall["people"],
            "rate": _pct(overall["rate"])}
    elif report["difference"] is None:
        report["words"] = _("Not enough people yet: each arm needs someone in it.")
    else:
        report["words"] = _("The journey's arm converted %(treated)s vs %(holdout)s for the "
                            "holdout: %(diff)s points, 95%% interval %(low)s to %(high)s.") % {
            "treated": _pct(report["journey"]["rate"]),
            "holdout": _pct(report["holdout"]["rate"]),
            "diff": f"{report['difference'] * 100:+.1f}",
            "low": f"{report['low'] * 100:+.1f}", "high": f"{report['high'] * 100:+.1f}"}
    for arm in (report["journey"], report["holdout"], overall):
        if arm is not None:
            arm["percent"] = _pct(arm["rate"])
    if report.get("ratio") is not None:
        report["ratio_text"] = f"{report['ratio']:.2f}×"
    return report


def _choices() -> dict[str, Any]:
    """What the builder's selects offer: marketing templates and custom fields' keys."""
    from peyvand.contacts.fields import fields_by_key
    from peyvand.messaging.models import MessageClass, MessageTemplate

    return {"templates": list(MessageTemplate.objects.filter(
        message_class=MessageClass.MARKETING).order_by("name").values_list("name", flat=True)),
        "fields": sorted(fields_by_key())}


def _detail(request, actor, journey: Journey, *, draft: str | None = None,
            errors: dict[str, str] | None = None, status: int = 200,
            shown: dict[str, Any] | None = None):
    """The journey page; `shown` is a draft the builder could not save (shown with its
    faults, the saved draft unchanged)."""
    errors = errors or {}
    flow = queries.flow(actor, journey)
    for row in flow["steps"]:
        row["summary"] = step_summary(row["step"])
        row["exits"] = [(_exit_label(key), target) for key, target in row["exits"]]
    if draft is None:
        draft = json.dumps(journey.definition, ensure_ascii=False, indent=2)
    definition = journey.definition if shown is None else shown
    may_edit = can(actor, "journeys.edit")
    builder: dict[str, Any] | None = None
    if may_edit:
        rows = builder_forms.step_forms(definition, queries.flow_order(definition),
                                        _choices(), errors)
        for row in rows:
            try:
                row["summary"] = step_summary(row["step"])
            except (KeyError, IndexError, TypeError):  # an unsaved step with a fault
                row["summary"] = row["type"]
        # Faults of no step shown here (a new step refused, the definition's own keys).
        here = {row["node"] for row in rows} | {"trigger"}
        loose = [(path, reason) for path, reason in errors.items()
                 if builder_module.fault_place(path)[0] not in here]
        builder = {"steps": rows, "trigger": builder_forms.trigger_form(definition, errors),
                   "types": builder_forms.step_types(), "unsaved": shown is not None,
                   "loose": loose}
    return render(request, "journeys/journey_detail.html", {
        "journey": journey, "flow": flow, "draft": draft, "errors": errors,
        "builder": builder, "goal": goal_words(queries.goal_report(journey)),
        "may_edit": may_edit, "may_test": can(actor, "contacts.view"),
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


@login_required
@require_POST
def journey_builder(request, pk: int):
    """One step's form (edit, add after, delete), the trigger's, or an empty draft's first
    step: the draft patched (builder.py) and saved through do_save_journey; a fault shows
    next to the field it names, the draft unchanged."""
    actor = ui_actor(request)
    require(actor, "journeys.edit")
    journey = queries.journey_of(actor, pk)
    post, op = request.POST, request.POST.get("op", "")
    node = post.get("node", "")
    candidate: dict[str, Any] | None = None
    dropped: list[str] = []
    try:
        if op == "edit":
            candidate, dropped = builder_module.edit_step(journey.definition, node, post)
        elif op == "add":
            candidate, node = builder_module.add_after(
                journey.definition, node, post.get("type", ""), post.get("exit", ""),
                _defaults())
        elif op == "delete":
            candidate = builder_module.delete_step(journey.definition, node)
        elif op == "trigger":
            candidate = builder_module.edit_trigger(journey.definition, post)
        elif op == "first":
            candidate = builder_module.first_step(journey.definition, post.get("type", ""),
                                           _defaults())
        else:
            raise builder_module.BuilderInvalid({"op": _("Unknown change.")})
        actions.do_save_journey(actor, {"definition": candidate}, journey)
    except Invalid as exc:
        return _detail(request, actor, journey, errors=exc.errors, status=exc.status,
                       shown=candidate if op in ("edit", "trigger") else None)
    messages.success(request, _("Draft saved. Publish it to make it the journey people take."))
    if dropped:
        messages.warning(request, _("No step led to %(steps)s any more: removed from the "
                                    "draft.") % {"steps": ", ".join(dropped)})
    anchor = "#journey-builder" if op in ("delete", "trigger") else f"#step-{node}"
    return redirect(reverse("journeys:detail", args=[journey.pk]) + anchor)


def _defaults() -> dict[str, str]:
    """A new send step's template and a new update_field step's field: the first offered."""
    offered = _choices()
    return {"default_template": next(iter(offered["templates"]), ""),
            "default_field": next(iter(offered["fields"]), "")}


@login_required
def journey_test(request, pk: int):
    """Test mode: find a contact (name, phone, e-mail), then a dry run of the draft or a
    version for them (testrun.py: nothing queued or written)."""
    from peyvand.contacts.queries import search_contacts
    from peyvand.journeys.testrun import dry_run

    actor = ui_actor(request)
    require(actor, "journeys.view")
    require(actor, "contacts.view")
    journey = queries.journey_of(actor, pk)
    versions = list(journey.versions.order_by("-number").values_list("number", flat=True))
    q = request.GET.get("q", "").strip()
    found = list(search_contacts(actor, q=q).order_by("id")[:20]) if q else []
    chosen = request.GET.get("version", "draft")
    assume = bool(request.GET.get("assume"))
    result, contact = None, None
    contact_id = ascii_digits(request.GET.get("contact", "")).strip()
    if contact_id.isdigit():
        contact = search_contacts(actor).filter(pk=int(contact_id)).first()
    if contact is not None:
        version = journey.versions.filter(number=int(chosen)).first() \
            if chosen.isdigit() else None
        definition = version.definition if version else journey.definition
        result = dry_run(contact.pk, definition, assume_events=assume,
                         snapshots=version.snapshots if version else None)
        steps = definition.get("steps") or {}
        for row in result["rows"]:
            try:
                row["summary"] = step_summary(steps[row["node"]])
            except (KeyError, IndexError, TypeError):
                row["summary"] = row["type"]
    return render(request, "journeys/test.html", {
        "journey": journey, "q": q, "found": found, "contact": contact, "result": result,
        "versions": versions, "chosen": chosen, "assume": assume})
