"""Reads for the messaging pages and API."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.base.roles import require
from peyvand.messaging.audience import audience_members, check_audience, refusal_preview
from peyvand.messaging.broadcast import members_of
from peyvand.messaging.content import PLACEHOLDER_LINKS, lacks_unsubscribe_link, prepare
from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage, StrategyRule
from peyvand.messaging.outbox import WAITING_STATES, counts_by_state
from peyvand.messaging.templates_engine import SAMPLE_CONTEXT, contexts_for, sample_context


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
    """Counts by state and how far along the broadcast is (finished = not waiting any more),
    and whether what finished reached anyone: "finished" never stands for "all failed"."""
    counts = counts_by_state(item.messages.all())
    total = sum(counts.values())
    waiting = sum(counts[state] for state in WAITING_STATES)
    done = total - waiting
    reached = counts["sent"]
    # A queued broadcast's status stays "queued"; what people ask is whether it is still
    # going out or over, and whether it reached people.
    if item.status != Broadcast.Status.QUEUED:
        stage, label = item.status, item.get_status_display()
    elif waiting and not done and item.send_after and item.send_after > timezone.now():
        stage, label = "scheduled", _("Scheduled")
    elif waiting:
        stage, label = "sending", _("Sending")
    elif total and not reached:
        stage, label = "failed", _("Failed: none of %(total)s sent") % {"total": total}
    elif reached < total:
        stage, label = "finished_partly", _("Finished: %(sent)s of %(total)s sent") % {
            "sent": reached, "total": total}
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
    """The template rendered for one contact (or sample data): subject, html, text, as the
    sender would (with the unsubscribe footer where a marketing e-mail lacks the link)."""
    require(actor, "messages.view")
    context = sample_context(template.language)
    if contact_id:
        from peyvand.contacts.queries import access_contact

        contact = access_contact(actor, contact_id)
        # The contact's data, but sample consent links: whoever holds the real ones can
        # act as the person, and staff must not (issue 14).
        context = {**contexts_for([contact.pk], links=False,
                                  recommendations=True).get(contact.pk, context),
                   **{k: SAMPLE_CONTEXT[k] for k in ("preferences_url", "unsubscribe_url")}}
    subject, html, text = prepare(template).render(context, for_author=True)
    return {"subject": subject, "html": html, "text": text}


def _sample_member(item: Broadcast) -> int | None:
    """A contact of the audience with an address (the first), for the preview."""
    try:
        members = members_of(item)
    except Invalid:  # a segment deleted since: approval refuses it, the preview shows samples
        return None
    return (members.filter(identities__kind__in=("email", "phone"))
            .order_by("pk").values_list("pk", flat=True).first())


def audience_preview(actor: Actor, item: Broadcast) -> dict[str, Any]:
    """Whom the broadcast reaches: the audience now and how many the gate would refuse, by
    reason (before approval); once queued, what was resolved then (its outbox rows)."""
    require(actor, "messages.view")
    content = item.snapshot or item.template
    if item.snapshot_id:
        count = item.queued_count + item.no_address_count
        return {"count": count, "frozen": True, "queued": item.queued_count,
                "no_address": item.no_address_count}
    try:
        members = members_of(item)
    except Invalid as exc:
        return {"count": 0, "frozen": False, "refused": 0, "will_send": 0, "reasons": [],
                "error": exc.reason}
    return {**refusal_preview(members, content.channel, content.topic), "frozen": False}


def spec_preview(actor: Actor, spec: dict[str, Any], template: MessageTemplate) \
        -> dict[str, Any]:
    """The same for an audience not yet made into a broadcast (the form's preview button)."""
    require(actor, "messages.view")
    return {**refusal_preview(audience_members(check_audience(spec)), template.channel,
                              template.topic), "frozen": False}


def broadcast_preview(actor: Actor, item: Broadcast) -> dict[str, Any]:
    """What a broadcast sends, rendered for a sample contact of its audience (sample data
    when it has none) in Persian and in English (the template's language first), with the
    digest of the words: an approval names it. Before approval: the template as it is now;
    after: the frozen snapshot."""
    require(actor, "messages.view")
    content = item.snapshot or item.template
    prepared = prepare(content)
    sample = _sample_member(item)
    base = dict(SAMPLE_CONTEXT)
    if sample is not None:
        base = contexts_for([sample], links=False, recommendations=True).get(sample, base)
    base.update(PLACEHOLDER_LINKS)
    languages = [content.language] + [lang for lang in ("fa", "en")
                                      if lang != content.language]
    renders = []
    for language in languages:
        subject, html, text = prepared.render({**base, "language": language},
                                              for_author=True)
        renders.append({"language": language, "subject": subject, "html": html,
                        "text": text})
    return {"digest": prepared.digest, "frozen": item.snapshot is not None,
            "sample_contact": sample, "footer": prepared.footer
            and lacks_unsubscribe_link(content), "renders": renders}


def message_of(actor: Actor, pk: int) -> OutboxMessage:
    require(actor, "messages.view")
    return get_object_or_404(OutboxMessage.objects.select_related("snapshot", "contact"),
                             pk=pk)


def received(actor: Actor, row: OutboxMessage) -> dict[str, Any]:
    """What this person received in this message: its words rendered again from the frozen
    snapshot and the merge data kept on the row (links as placeholders), and whether that
    is the very content sent (`verified`: the digest recorded then matches).

    `how`: "rendered" (from the snapshot), "written" (a message Peyvand wrote, kept as
    sent), "not_rendered" (not sent yet, or its merge data erased) or "unknown" (sent
    before contents were recorded)."""
    require(actor, "messages.view")
    out: dict[str, Any] = {"how": "unknown", "subject": "", "html": "", "text": "",
                           "verified": None, "content_digest": row.content_digest,
                           "snapshot_digest": row.snapshot.digest if row.snapshot else ""}
    if row.body_text or row.body_html:
        out.update(how="written", subject=row.subject, html=row.body_html,
                   text=row.body_text)
    elif row.snapshot is not None and not row.merge_data:
        out["how"] = "not_rendered"
    elif row.snapshot is not None:
        prepared = prepare(row.snapshot)
        context = {**json.loads(row.merge_data), **PLACEHOLDER_LINKS}
        subject, html, text = prepared.render(context)
        out.update(how="rendered", subject=subject, html=html, text=text,
                   verified=prepared.record(context)[1] == row.content_digest)
    return out
