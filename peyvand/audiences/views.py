"""Segment pages: the list, the rule builder (new, edit), one segment, delete and refresh, and
the builder's two small JSON answers (the live count and the product search). Thin: parse,
call audiences.actions / queries, render."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from peyvand.audiences import queries
from peyvand.audiences.actions import (
    do_create_segment,
    do_delete_segment,
    do_refresh_segment,
    do_update_segment,
)
from peyvand.audiences.fields import GROUPS, Field
from peyvand.audiences.forms import SegmentForm, prefill, rules_text
from peyvand.audiences.models import Segment
from peyvand.audiences.predicates import OPS_BY_TYPE
from peyvand.audiences.rules import all_fields, check_rules
from peyvand.audiences.words import currency_info, describe, op_word
from peyvand.base.errors import Invalid
from peyvand.base.roles import can, require
from peyvand.base.templatetags.peyvand_ui import fadigits, isolate_text, page_language
from peyvand.base.views import paginate, ui_actor
from peyvand.commerce.queries import search_products

PER_PAGE = 25
MEMBERS_PER_PAGE = 50
PREVIEW_ITEMS = 10
CHANGES_SHOWN = 20
PRODUCTS_FOUND = 15


def _fields(language: str) -> dict[str, Field]:
    return {f.path: f for f in all_fields(language)}


def _strings() -> dict[str, str]:
    """The builder's own words (its ops' words come with the catalogue)."""
    return {
        "all": _("All of these hold"), "any": _("Any of these holds"), "not": _("Not"),
        "addCondition": _("Add condition"), "addGroup": _("Add group"),
        "remove": _("Remove"), "removeCondition": _("Remove this condition"),
        "removeGroup": _("Remove this group"), "chooseField": _("Choose a field…"),
        "field": _("Field"), "op": _("Comparison"), "value": _("Value"),
        "choose": _("Choose…"), "yes": _("Yes"), "no": _("No"), "days": _("days"),
        "and": _("and"), "inLast": _("in the last"), "inLastHint": _("empty: all time"),
        "commaList": _("separate several with commas"), "searchProducts": _("Find a product…"),
        "counting": _("Counting…"), "match": _("people match now"),
        "noneYet": _("Choose a field for each condition to count."),
        "fixRule": _("Fix the marked parts of the rule to count."),
        "failed": _("Could not count right now."), "badJson": _("Not valid JSON yet."),
        "datePlaceholder": "1403/05/12" if page_language() == "fa" else "2024-08-02",
        "empty": _("No conditions: everyone matches."), "more": _("and more…"),
    }


def _catalogue(actor, language: str, segment: Segment | None) -> dict[str, Any]:
    fields = all_fields(language)
    others = queries.segments(actor)
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    return {
        "language": language,
        "groups": [{"key": key, "label": str(label),
                    "fields": [f.describe() for f in fields if f.group == key]}
                   for key, label in GROUPS.items()],
        "ops": {kind: {op: str(op_word(kind, op)) for op in ops}
                for kind, ops in OPS_BY_TYPE.items()},
        "currency": currency_info(),
        "segments": [{"id": s.pk, "name": s.name} for s in others.order_by("name")],
        "strings": _strings(),
    }


def _rule_errors(errors: dict[str, Any]) -> dict[str, str]:
    return {key: str(reason) for key, reason in errors.items()}


# ---- pages ----------------------------------------------------------------------------------

@login_required
def segment_list(request):
    actor = ui_actor(request)
    page = paginate(request, queries.segments(actor), PER_PAGE)
    return render(request, "audiences/segment_list.html", {
        "page": page, "can_edit": can(actor, "segments.edit")})


def _form_page(request, actor, segment: Segment | None):
    language = page_language()
    rule_errors: dict[str, str] = {}
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if segment is None:
                    segment = do_create_segment(actor, data["name"], data["rules"],
                                                description=data["description"],
                                                auto_refresh=data["auto_refresh"])
                    messages.success(request, _("Segment “%(name)s” created.")
                                     % {"name": isolate_text(segment.name)})
                else:
                    segment = do_update_segment(actor, segment, name=data["name"],
                                                rules=data["rules"],
                                                description=data["description"],
                                                auto_refresh=data["auto_refresh"])
                    messages.success(request, _("Segment “%(name)s” saved.")
                                     % {"name": isolate_text(segment.name)})
                return redirect("audiences:detail", pk=segment.pk)
            except Invalid as exc:
                rule_errors = _rule_errors({k: v for k, v in exc.errors.items()
                                            if k.startswith("rules")})
                form.add_domain_errors({k: v for k, v in exc.errors.items()
                                        if not k.startswith("rules")})
                if rule_errors:
                    form.add_error(None, _("The rule has mistakes; they are marked below."))
    elif segment is not None:
        form = SegmentForm(initial={"name": segment.name, "description": segment.description,
                                    "auto_refresh": segment.auto_refresh,
                                    "rules": rules_text(segment.rules)})
    else:
        rules, name, left_out = prefill(request.GET, language)
        for part in left_out:
            messages.warning(request, _("No segment rule can say this part of the list yet, "
                                        "so it was left out: %(part)s.") % {"part": part})
        form = SegmentForm(initial={"name": name, "rules": rules_text(rules)})
    return render(request, "audiences/segment_form.html", {
        "form": form, "segment": segment, "rule_errors": rule_errors,
        "catalogue": _catalogue(actor, language, segment),
    })


@login_required
def segment_new(request):
    actor = ui_actor(request)
    require(actor, "segments.edit")
    return _form_page(request, actor, None)


@login_required
def segment_edit(request, pk: int):
    actor = ui_actor(request)
    require(actor, "segments.edit")  # before the lookup: no telling which ids exist
    return _form_page(request, actor, queries.access_segment(actor, pk))


@login_required
def segment_detail(request, pk: int):
    actor = ui_actor(request)
    segment = queries.access_segment(actor, pk)
    require(actor, "contacts.view")  # the members are people
    context: dict[str, Any] = {"segment": segment, "can_edit": can(actor, "segments.edit"),
                               "words": describe(segment.rules, _fields(page_language())),
                               "rules_json": rules_text(segment.rules),
                               "changes": list(queries.changes(segment)[:CHANGES_SHOWN])}
    try:
        members = queries.members_now(segment).order_by("-created_at", "-id")
        context["page"] = paginate(request, members, MEMBERS_PER_PAGE)
        context["live_count"] = context["page"].paginator.count
    except Invalid as exc:
        context["rule_errors"] = _rule_errors(exc.errors)
    return render(request, "audiences/segment_detail.html", context)


@login_required
def segment_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "segments.edit")
    segment = queries.access_segment(actor, pk)
    if request.method == "POST":
        try:
            do_delete_segment(actor, segment)
        except Invalid as exc:
            return render(request, "audiences/segment_delete.html", {
                "segment": segment, "refusal": exc.errors.get("segment", str(exc))},
                status=exc.status)
        messages.success(request, _("Segment “%(name)s” deleted.")
                         % {"name": isolate_text(segment.name)})
        return redirect("audiences:list")
    return render(request, "audiences/segment_delete.html", {"segment": segment})


@login_required
@require_POST
def segment_refresh(request, pk: int):
    actor = ui_actor(request)
    require(actor, "segments.edit")
    segment = queries.access_segment(actor, pk)
    try:
        result = do_refresh_segment(actor, segment)
    except Invalid:
        messages.error(request, _("The rule no longer holds; fix it before refreshing."))
        return redirect("audiences:detail", pk=segment.pk)
    if result["baseline"]:
        messages.success(request, _("Refreshed: %(count)s members. This first count is the "
                                    "baseline; later refreshes record who entered or left.")
                         % {"count": fadigits(result["count"])})
    else:
        messages.success(request, _("Refreshed: %(count)s members; %(entered)s entered, "
                                    "%(left)s left.")
                         % {k: fadigits(result[k]) for k in ("count", "entered", "left")})
    return redirect("audiences:detail", pk=segment.pk)


# ---- the builder's JSON ---------------------------------------------------------------------

@login_required
@require_POST
def preview(request):
    """POST {"rules": …, "segment": id?} → {count, items} or 400 {errors: {node: reason}}."""
    actor = ui_actor(request)
    require(actor, "segments.view")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or "rules" not in body:
        return JsonResponse({"errors": {"rules": _("Send {\"rules\": …} as JSON.")}},
                            status=400)
    rules, segment_id = body["rules"], body.get("segment")
    try:
        if isinstance(segment_id, int) and not isinstance(segment_id, bool):
            check_rules(rules, segment_id=segment_id)  # a rule naming its own segment
        found = queries.preview(actor, rules, page_size=PREVIEW_ITEMS)
    except Invalid as exc:
        return JsonResponse({"errors": _rule_errors(exc.errors)}, status=exc.status)
    return JsonResponse({
        "count": found["count"],
        "items": [{"id": c.pk, "name": c.display_name,
                   "url": reverse("contacts:contact_detail", args=[c.pk])}
                  for c in found["items"]]})


@login_required
@require_GET
def products(request):
    """GET ?q= → the products whose SKU or name holds it, for the "bought product" value."""
    actor = ui_actor(request)
    require(actor, "segments.view")
    q = request.GET.get("q", "").strip()
    found = search_products(actor, q=q)[:PRODUCTS_FOUND] if q else []
    language = page_language()
    return JsonResponse({"items": [{"sku": p.sku, "name": p.name(language)} for p in found]})
