"""Insights pages: the dashboard, the due list, customers by tier/segment/stage, the rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.normalise import InvalidValue
from peyvand.base.roles import can, require
from peyvand.base.templatetags.peyvand_ui import page_language
from peyvand.base.views import paginate, ui_actor
from peyvand.commerce.money import RIAL, display_currency, unit_label
from peyvand.insights import charts, queries, rfm
from peyvand.insights.actions import do_save_settings, get_settings, queue_refresh
from peyvand.insights.forms import SettingsForm
from peyvand.insights.models import DueStatus, Relationship, Segment, Stage, Tier

PER_PAGE = 50
DUE_PREVIEW = 10


@login_required
def dashboard(request):
    actor = ui_actor(request)
    data = queries.summary(actor)
    lang = page_language()
    summary = data["summary"]
    context = {**data, "lang": lang}
    if summary:
        bins = summary["heatmap"]["bins"]
        currency = summary.get("currency") or RIAL

        def segment_of(r: int, f: int) -> str:
            seg = rfm.segments(np.array([r]), np.array([f]), bins)[0]
            return str(Segment(seg).label) if seg else ""

        stages = [{"stage": st, "label": str(Stage(st).label),
                   "count": summary["ladder"].get(st, 0)} for st in Stage.values]
        context.update({
            "pyramid_svg": charts.pyramid(summary["pyramid"], lang),
            "heatmap_svg": charts.heatmap(summary["heatmap"], lang, segment_of),
            "histogram_svg": charts.histogram(summary["histogram"], lang,
                                              unit_label(currency, lang),
                                              display_currency(currency)[1]),
            "funnel_svg": charts.funnel(stages, lang),
            "segments": [{"key": s, "label": Segment(s).label,
                          "help": rfm.SEGMENT_HELP[Segment(s)],
                          "count": summary["segments"].get(s, 0)} for s in Segment.values],
            "tier_rows": [{**rule, "stats": summary["tiers"].get(rule["tier"], {})}
                          for rule in data["tier_rules"]],
            "stage_rows": [{**d, "count": summary["ladder"].get(d["stage"], 0)}
                           for d in data["stages"]],
            "relationship": [{"key": k, "label": Relationship(k).label,
                              "count": summary["relationship"].get(k, 0)}
                             for k in Relationship.values],
            "moves": _moves(summary.get("movement") or {}),
            "due_preview": queries.due_list(actor)[:DUE_PREVIEW],
            "due_counts": summary.get("due", {}),
        })
    holdout = data["model"].get("holdout") or {}
    if holdout.get("ok"):
        context["holdout_svg"] = charts.holdout(holdout, lang)
        context["holdout_end"] = dt.date.fromisoformat(holdout["calibration_end"])
    context["can_configure"] = can(actor, "insights.configure")
    return render(request, "insights/dashboard.html", context)


def _moves(movement: dict) -> list[dict]:
    def label(tier: str) -> str:
        return str(Tier(tier).label) if tier else _("Not a customer")

    return [{"from": label(m["from"]), "to": label(m["to"]), "customers": m["customers"],
             "same": m["from"] == m["to"]}
            for m in sorted(movement.get("moves", []),
                            key=lambda m: (-m["customers"], m["from"], m["to"]))]


@login_required
def due_list(request):
    actor = ui_actor(request)
    status = request.GET.get("status", "")
    if status not in (DueStatus.DUE, DueStatus.OVERDUE):
        status = ""
    page = paginate(request, queries.due_list(actor, status), PER_PAGE)
    return render(request, "insights/due_list.html", {
        "page": page, "status": status,
        "statuses": [(DueStatus.DUE, DueStatus.DUE.label),
                     (DueStatus.OVERDUE, DueStatus.OVERDUE.label)],
    })


FILTERS = {"tier": Tier, "segment": Segment, "stage": Stage, "relationship": Relationship}


@login_required
def customer_list(request):
    actor = ui_actor(request)
    chosen = {name: request.GET.get(name, "") for name in FILTERS}
    chosen = {k: v if v in FILTERS[k].values else "" for k, v in chosen.items()}
    page = paginate(request, queries.customers(actor, **chosen), PER_PAGE)
    filters = [{"name": name, "choices": choices.choices, "value": chosen[name],
                "label": label}
               for (name, choices), label in zip(FILTERS.items(), [
                   _("Value tier"), _("RFM segment"), _("Loyalty stage"),
                   _("Relationship")], strict=True)]
    return render(request, "insights/customer_list.html", {"page": page, "filters": filters})


@login_required
def settings_view(request):
    actor = ui_actor(request)
    require(actor, "insights.configure")
    current = get_settings()
    form = SettingsForm(request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.fields}
        try:
            do_save_settings(actor, values)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Rules saved. The next refresh applies them."))
            return redirect("insights:settings")
    return render(request, "insights/settings.html", {"form": form, "settings": current})


@login_required
@require_POST
def refresh(request):
    actor = ui_actor(request)
    try:
        job = queue_refresh(actor, request.POST.get("as_of", ""))
    except InvalidValue as exc:
        messages.error(request, str(exc.message))
        return redirect("insights:dashboard")
    messages.success(request, _("Refresh queued (job #%(id)s); the dashboard shows it when "
                                "done.") % {"id": job.pk})
    return redirect("insights:dashboard")
