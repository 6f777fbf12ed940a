"""Messaging pages: templates (edit, preview), broadcasts (progress, approval, outbox rows),
contact-strategy rules and sending settings. Thin: parse, call actions/queries, render."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.errors import Invalid
from peyvand.base.language import page_language
from peyvand.base.roles import can, require
from peyvand.base.views import paginate, ui_actor
from peyvand.contacts.models import Tag
from peyvand.contacts.queries import access_contact, search_contacts, with_identities
from peyvand.messaging import queries
from peyvand.messaging.actions import (
    MARKED_CLASSES,
    MessagingInvalid,
    do_approve_broadcast,
    do_create_broadcast,
    do_delete_template,
    do_reject_broadcast,
    do_save_sending_settings,
    do_save_template,
)
from peyvand.messaging.audience import audience_from_input, choices_of
from peyvand.messaging.blocks import SIMPLE as SIMPLE_BLOCKS
from peyvand.messaging.blocks import TYPES as BLOCK_TYPES
from peyvand.messaging.blocks import type_label as _type_label
from peyvand.messaging.content import lacks_unsubscribe_link
from peyvand.messaging.models import (
    AUTHORED_CLASSES,
    Channel,
    MessageClass,
    MessageTemplate,
    OutboxMessage,
    SendingSettings,
    StrategyRule,
)
from peyvand.messaging.strategy import RuleInvalid, do_delete_rule, do_save_rule
from peyvand.messaging.templates_engine import TemplateInvalid

TEMPLATE_FIELDS = ("name", "language", "channel", "topic", "message_class", "content_type",
                   "subject", "html", "text", "blocks")
PRODUCTS_LISTED = 500  # the block editor's product picker (a datalist)
CONTACTS_FOUND = 10  # the preview's contact search
PREVIEW_WIDTHS = {"desktop": 600, "phone": 375}


def _editor_config() -> dict[str, Any]:
    """What the block editor (messaging/blocks.js) needs: its words and the catalogue."""
    from peyvand.commerce.models import Product

    language = page_language()
    products = Product.objects.filter(active=True).order_by("sku")[:PRODUCTS_LISTED]
    return {"language": language,
            "products": [{"sku": p.sku, "name": p.name(language)} for p in products],
            "types": {kind: _type_label(kind) for kind in BLOCK_TYPES},
            "simple": list(SIMPLE_BLOCKS), "strings": {
                "add": _("Add a block"), "addInColumn": _("Add to this column"),
                "up": _("Move up"), "down": _("Move down"), "remove": _("Delete"),
                "confirmRemove": _("Delete this block?"), "text": _("Text"),
                "headingText": _("Heading"), "level": _("Size"),
                "levels": [_("Large"), _("Medium"), _("Small")],
                "src": _("Image address (https://… or /media/…)"),
                "alt": _("Describe the image (for those who cannot see it)"),
                "href": _("Link (https://…)"), "label": _("Button text"),
                "columns": _("Number of columns"), "column": _("Column %(n)s"),
                "sku": _("Product (SKU)"), "link": _("Link (optional)"),
                "addProduct": _("Add a product"), "removeProduct": _("Remove product"),
                "limit": _("How many products"), "title": _("Title (optional)"),
                "crossSellHelp": _("Each contact sees products often bought with what they "
                                   "bought; nothing shows for someone without any."),
                "code": _("Code (optional)"), "couponText": _("Text above the code"),
                "couponHelp": _("Leave the code empty for each contact’s own code "
                                "({{ coupon_code }}): it comes with the loyalty programme, and "
                                "until then the block shows only with a code written here."),
                "footerText": _("Shop’s address and details"),
                "footerHelp": _("An unsubscribe link is added under it."),
                "empty": _("No blocks yet: add a heading, text or a button to start."),
                "badJson": _("The blocks below are not valid JSON; fix them or start again."),
            }}


@login_required
def template_list(request):
    actor = ui_actor(request)
    return render(request, "messaging/template_list.html",
                  {"templates": queries.templates(actor),
                   "may_author": can(actor, "messages.author")})


@login_required
def template_edit(request, pk: int | None = None):
    actor = ui_actor(request)
    template = queries.template_of(actor, pk) if pk else None
    require(actor, "messages.author")
    errors: dict[str, str] = {}
    if request.method == "POST":
        raw = {k: request.POST.get(k, "") for k in TEMPLATE_FIELDS}
        # Designed with blocks, or written as HTML (then the blocks box is not read).
        raw["mode"] = mode = "blocks" if request.POST.get("mode") == "blocks" else "html"
        if mode == "html":
            raw["blocks"] = "[]"
        try:
            template = do_save_template(actor, raw, template)
        except MessagingInvalid as exc:
            errors = exc.errors
            values = raw
        else:
            messages.success(request, _("Template saved."))
            return redirect("messaging:template_edit", template.pk)
    else:
        values = {k: getattr(template, k) for k in TEMPLATE_FIELDS} if template else \
            {"language": "fa", "channel": "email", "message_class": "marketing", "blocks": []}
        values["blocks"] = json.dumps(values["blocks"], ensure_ascii=False, indent=1)
        # A new template starts designed; one written as HTML stays so.
        mode = "blocks" if template is None or template.blocks else "html"
    may_mark = can(actor, "messages.transactional")
    return render(request, "messaging/template_edit.html", {
        "template": template, "values": values, "errors": errors, "mode": mode,
        "block_errors": [(k, v) for k, v in errors.items() if k.startswith("blocks")],
        "editor": _editor_config(),
        "languages": MessageTemplate.Language.choices, "channels": Channel.choices,
        # Only the owner marks a template transactional or alert (see actions).
        "classes": [(c.value, c.label) for c in AUTHORED_CLASSES
                    if may_mark or c == MessageClass.MARKETING],
        "owner_only": bool(template and template.message_class in MARKED_CLASSES
                           and not may_mark),
        "footer_added": lacks_unsubscribe_link(template) if template else False})


@login_required
def template_preview(request, pk: int):
    actor = ui_actor(request)
    template = queries.template_of(actor, pk)
    contact = request.GET.get("contact", "").strip()
    q = request.GET.get("q", "").strip()
    width = "phone" if request.GET.get("width") == "phone" else "desktop"
    error, rendered = "", None
    chosen = access_contact(actor, int(contact)) if contact.isdigit() else None
    try:
        rendered = queries.preview(actor, template, chosen.pk if chosen else None)
    except TemplateInvalid as exc:
        error = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    found = list(with_identities(search_contacts(actor, q=q))[:CONTACTS_FOUND]) if q else []
    return render(request, "messaging/template_preview.html", {
        "template": template, "rendered": rendered, "error": error, "contact": contact,
        "chosen": chosen, "q": q, "found": found, "width": width,
        "width_px": PREVIEW_WIDTHS[width]})


@login_required
@require_POST
def template_delete(request, pk: int):
    actor = ui_actor(request)
    try:
        do_delete_template(actor, queries.template_of(actor, pk))
    except MessagingInvalid as exc:
        messages.error(request, " ".join(exc.errors.values()))
        return redirect("messaging:template_edit", pk)
    messages.success(request, _("Template deleted."))
    return redirect("messaging:template_list")


def _posted_audience(post) -> dict | None:
    """The audience the form chose: None for a broadcast to one tag (the older form)."""
    if not any(post.getlist(k) for k in ("segments", "exclude_segments", "exclude_tags")):
        return None
    return audience_from_input(segments=post.getlist("segments"),
                               exclude_segments=post.getlist("exclude_segments"),
                               exclude_tags=post.getlist("exclude_tags"),
                               tags=[post["tag"]] if post.get("tag") else [])


@login_required
def broadcast_list(request):
    actor = ui_actor(request)
    errors: dict[str, str] = {}
    audience = None
    if request.method == "POST":
        try:
            spec = _posted_audience(request.POST)
            if "preview" in request.POST:
                # Whom it would reach, and whom the gate would refuse, before anything exists.
                template = MessageTemplate.objects.filter(
                    name=request.POST.get("template", "")).first()
                if template is None:
                    raise MessagingInvalid({"template": _("Choose a template.")})
                audience = queries.spec_preview(
                    actor, spec or audience_from_input(tags=[request.POST.get("tag", "")]),
                    template)
            else:
                item = do_create_broadcast(actor, request.POST.get("template", ""),
                                           request.POST.get("tag", ""),
                                           request.POST.get("class") or None, audience=spec)
                messages.success(request, _("Broadcast created."))
                return redirect("messaging:broadcast_detail", item.pk)
        except Invalid as exc:
            errors = {("audience" if k in ("segments", "tags") else k): v
                      for k, v in exc.errors.items()}
    page = paginate(request, queries.broadcasts(actor), 25)
    rows = [(b, queries.progress(b)) for b in page.object_list]
    return render(request, "messaging/broadcast_list.html", {
        "page": page, "rows": rows, "errors": errors, "audience": audience,
        "chosen": request.POST if request.method == "POST" else {},
        "chosen_segments": request.POST.getlist("segments"),
        "chosen_excluded": request.POST.getlist("exclude_segments"),
        "chosen_excluded_tags": request.POST.getlist("exclude_tags"),
        # broadcasts are always marketing: only marketing templates are offered
        "templates": queries.templates(actor).filter(message_class=MessageClass.MARKETING),
        "tags": Tag.objects.order_by("name"), "segments": choices_of("segment"),
        "may_send": can(actor, "messages.send")})


@login_required
def broadcast_detail(request, pk: int):
    actor = ui_actor(request)
    item = queries.broadcast_of(actor, pk)
    progress = queries.progress(item)
    awaiting = item.status == "awaiting_approval"
    shown, preview_error = None, ""
    if awaiting or item.snapshot_id:  # what will be sent, or what was approved
        try:
            shown = queries.broadcast_preview(actor, item)
        except TemplateInvalid as exc:
            preview_error = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    return render(request, "messaging/broadcast_detail.html", {
        "item": item, "progress": progress, "shown": shown, "preview_error": preview_error,
        "audience": queries.audience_preview(actor, item),
        "state_rows": [(v, label, progress["counts"][v]) for v, label in
                       OutboxMessage.State.choices],
        "may_approve": can(actor, "messages.approve") and awaiting and shown is not None})


@login_required
@require_POST
def broadcast_decide(request, pk: int, decision: str):
    actor = ui_actor(request)
    item = queries.broadcast_of(actor, pk)
    try:
        if decision == "approve":
            do_approve_broadcast(actor, item, request.POST.get("digest", ""))
            messages.success(request, _("Broadcast approved; sending starts now."))
        else:
            do_reject_broadcast(actor, item)
            messages.success(request, _("Broadcast rejected."))
    except MessagingInvalid as exc:
        messages.error(request, " ".join(exc.errors.values()))
    return redirect("messaging:broadcast_detail", pk)


@login_required
def broadcast_outbox(request, pk: int):
    actor = ui_actor(request)
    item = queries.broadcast_of(actor, pk)
    state = request.GET.get("state", "")
    page = paginate(request, queries.outbox_rows(actor, item, state), 50)
    return render(request, "messaging/broadcast_outbox.html", {
        "item": item, "page": page, "state": state, "states": OutboxMessage.State.choices})


@login_required
def message_detail(request, pk: int):
    """What one person received in one message."""
    actor = ui_actor(request)
    row = queries.message_of(actor, pk)
    return render(request, "messaging/message_detail.html", {
        "row": row, "got": queries.received(actor, row)})


@login_required
def rule_list(request):
    actor = ui_actor(request)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            do_save_rule(actor, values)
        except RuleInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Rule saved."))
            return redirect("messaging:rule_list")
    return render(request, "messaging/rule_list.html", {
        "rules": queries.rules(actor), "errors": errors, "values": values,
        "kinds": StrategyRule.Kind.choices, "channels": Channel.choices,
        "may_author": can(actor, "messages.author")})


@login_required
@require_POST
def rule_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "messages.author")  # before the lookup: no role learns which ids exist
    do_delete_rule(actor, get_object_or_404(StrategyRule, pk=pk))
    messages.success(request, _("Rule deleted."))
    return redirect("messaging:rule_list")


@login_required
def sending_settings(request):
    actor = ui_actor(request)
    if not can(actor, "channels.manage"):
        raise PermissionDenied
    row = SendingSettings.objects.order_by("id").first() or SendingSettings()
    errors: dict[str, str] = {}
    values = {f: getattr(row, f) for f in ("smtp_url", "from_address", "from_name",
                                            "connections", "rate_per_second",
                                            "domain_rate_per_second")}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            do_save_sending_settings(actor, values)
        except MessagingInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Sending settings saved."))
            return redirect("messaging:settings")
    return render(request, "messaging/settings.html", {
        "values": values, "errors": errors, "from_env": settings.PEYVAND_SMTP is not None})
