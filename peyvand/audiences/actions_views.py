"""The pages that act on people in bulk: a confirm page saying how many people an action will
reach (GET act/), and the form that starts it as a job (POST act/), then the jobs page.

The bulk bars post here: a segment's page (audiences/_segment_actions.html), the contact list
(ticked rows, or "all N matching" its search) and the insights lists (ticked rows, or all of
a filter, which is an obvious rule there). Included by audiences' urls.py
(`action_urlpatterns`).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from peyvand.audiences import bulk
from peyvand.base.errors import Invalid
from peyvand.base.roles import require
from peyvand.base.views import ui_actor

# The insights lists' filters, as the rule fields that mean the same.
INSIGHTS_FILTERS = {"tier": "insights.tier", "segment": "insights.rfm_segment",
                    "stage": "insights.ladder", "due": "insights.due"}
LISTED_DUE = ["due", "overdue"]  # the due list without a status: both


def _insights_rule(data) -> dict[str, Any]:
    """The rule an insights list's filter is: {"all": [conditions]}."""
    conditions: list[dict[str, Any]] = []
    for name, field in INSIGHTS_FILTERS.items():
        value = data.get(f"insights_{name}", "")
        if value:
            conditions.append({"field": field, "op": "eq", "value": value})
    if data.get("insights_list") == "due" and not data.get("insights_due"):
        conditions.append({"field": "insights.due", "op": "in", "value": LISTED_DUE})
    if not conditions:  # the whole customers list: everyone with metrics
        conditions.append({"field": "insights.ladder", "op": "is_set"})
    return {"all": conditions}


def target_from(data) -> dict[str, Any]:
    """The target a bulk bar's fields name (Invalid when they name none)."""
    kind = data.get("target", "")
    if kind == "segment":
        return {"segment": data.get("segment", "")}
    if kind == "contacts":
        return {"contacts": data.getlist("ids")}
    if kind == "search":
        search = {"q": data.get("q", ""), "tag": data.get("tag_filter", "")}
        if data.get("field"):
            search.update(field=data["field"], op=data.get("op", "eq"),
                          value=data.get("value", ""))
        return {"contact_search": search}
    if kind == "insights":
        return {"rules": _insights_rule(data)}
    if kind == "rules":
        try:
            return {"rules": json.loads(data.get("rules", ""))}
        except ValueError:
            raise Invalid({"rules": _("The rule is not valid JSON.")}) from None
    raise Invalid({"target": _("Say whom to act on.")})


def params_from(data) -> dict[str, Any]:
    action = data.get("action", "")
    if action in ("tag", "untag"):
        return {"tag": data.get("tag", "")}
    if action == "export":
        return {"format": data.get("format", "csv")}
    return {"template": data.get("template", "")}


# The fields a confirm page carries on to the form that starts the job.
CARRIED = ("target", "segment", "ids", "q", "tag_filter", "field", "op", "value", "rules",
           "insights_list", *(f"insights_{n}" for n in INSIGHTS_FILTERS), "action", "tag",
           "format", "template")


def _carried(data) -> list[tuple[str, str]]:
    return [(name, value) for name in CARRIED for value in data.getlist(name)
            if value != "" and not (name == "template" and data.get("action") != "broadcast")]


def _confirm(request, data, errors: dict[str, Any] | None = None):
    actor = ui_actor(request)
    action = data.get("action", "")
    require(actor, "segments.act")
    require(actor, bulk.CAPABILITIES.get(action, "segments.act"))
    errors = dict(errors or {})
    count, preview, templates, segment = None, None, [], ""
    try:
        target = bulk.check_target(actor, target_from(data))
        count = bulk.target_members(actor, target).count()
        segment = bulk._segment_name(target)
        if action == "broadcast":
            templates, preview = _broadcast_preview(actor, target, data.get("template", ""))
    except Invalid as exc:
        errors.update(exc.errors)
    return render(request, "audiences/act_confirm.html", {
        "action": action, "count": count, "preview": preview, "templates": templates,
        "carried": [(k, v) for k, v in _carried(data) if k != "template"],
        "chosen_template": data.get("template", ""), "tag": data.get("tag", ""),
        "format": data.get("format", "csv"), "segment_name": segment, "errors": errors,
        "back": request.META.get("HTTP_REFERER", ""),
    }, status=400 if errors else 200)


def _broadcast_preview(actor, target: dict[str, Any], chosen: str):
    """The marketing templates to choose from and, once one is chosen, whom the broadcast
    would reach and how many the gate would refuse."""
    from peyvand.messaging.audience import refusal_preview
    from peyvand.messaging.models import MessageClass, MessageTemplate

    templates = list(MessageTemplate.objects.filter(message_class=MessageClass.MARKETING)
                     .order_by("name"))
    template = next((t for t in templates if str(t.pk) == chosen or t.name == chosen), None)
    if template is None:
        return templates, None
    members = bulk.target_members(actor, target)
    return templates, refusal_preview(members, template.channel, template.topic)


@login_required
def act(request):
    """GET: how many people this would reach, asking to confirm; POST: start it."""
    if request.method != "POST" or not request.POST.get("confirm"):
        return _confirm(request, request.POST if request.method == "POST" else request.GET)
    actor = ui_actor(request)
    data = request.POST
    action = data.get("action", "")
    try:
        job = bulk.do_start_bulk_action(actor, action=action, target=target_from(data),
                                        params=params_from(data))
    except Invalid as exc:
        return _confirm(request, data, exc.errors)
    messages.success(request, _("Started: %(what)s. Its progress is shown here.")
                     % {"what": bulk.job_label(job)})
    return redirect(f"{_jobs_url()}#job-{job.pk}")


def _jobs_url() -> str:
    from django.urls import reverse

    return reverse("base:jobs")


action_urlpatterns = [
    path("act/", act, name="act"),
]
