"""Reads for the messaging pages and API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from peyvand.accounts.roles import require
from peyvand.base.actor import Actor
from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage, StrategyRule
from peyvand.messaging.outbox import counts_by_state
from peyvand.messaging.templates_engine import compile_template, contexts_for


def templates(actor: Actor) -> QuerySet[MessageTemplate]:
    require(actor, "messages.view")
    return MessageTemplate.objects.all()


def template_of(actor: Actor, pk: int) -> MessageTemplate:
    require(actor, "messages.view")
    return get_object_or_404(MessageTemplate, pk=pk)


def broadcasts(actor: Actor) -> QuerySet[Broadcast]:
    require(actor, "messages.view")
    return Broadcast.objects.select_related("template")


def broadcast_of(actor: Actor, pk: int) -> Broadcast:
    require(actor, "messages.view")
    return get_object_or_404(Broadcast.objects.select_related("template"), pk=pk)


def progress(item: Broadcast) -> dict[str, Any]:
    """Counts by state and how far along the broadcast is (finished = not waiting any more)."""
    counts = counts_by_state(item.messages.all())
    total = sum(counts.values())
    waiting = counts["queued"] + counts["sending"] + counts["deferred"] + counts["unknown"]
    done = total - waiting
    # A queued broadcast's status stays "queued"; what people ask is whether it is still
    # going out or over.
    if item.status != Broadcast.Status.QUEUED:
        stage, label = item.status, item.get_status_display()
    elif waiting:
        stage, label = "sending", _("Sending")
    else:
        stage, label = "finished", _("Finished")
    return {"counts": counts, "total": total, "done": done,
            "percent": int(done * 100 / total) if total else 0,
            "flagged": item.messages.filter(resent_after_crash=True).count(),
            "stage": stage, "stage_label": label}


def outbox_rows(actor: Actor, item: Broadcast, state: str = "") -> QuerySet[OutboxMessage]:
    require(actor, "messages.view")
    qs = item.messages.select_related("contact").order_by("id")
    if state in OutboxMessage.State.values:
        qs = qs.filter(state=state)
    return qs


def rules(actor: Actor) -> QuerySet[StrategyRule]:
    require(actor, "messages.view")
    return StrategyRule.objects.all()


def preview(actor: Actor, template: MessageTemplate, contact_id: int | None) \
        -> dict[str, str]:
    """The template rendered for one contact (or sample data): subject, html, text."""
    require(actor, "messages.view")
    from peyvand.messaging.templates_engine import SAMPLE_CONTEXT

    compiled = compile_template(template)
    context = dict(SAMPLE_CONTEXT)
    if contact_id:
        from peyvand.contacts.queries import access_contact

        contact = access_contact(actor, contact_id)
        context = contexts_for([contact.pk]).get(contact.pk, context)
    subject, html, text = compiled.render_for_author(context)
    return {"subject": subject, "html": html, "text": text}
