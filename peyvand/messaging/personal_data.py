"""What messaging holds about a person: their messages, for the subject-access export and
for erasure. Registered in contacts' hooks from MessagingConfig.ready."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from peyvand.base.scrub import blank_columns
from peyvand.messaging.models import OutboxMessage

S = OutboxMessage.State
# Outbox columns an erasure keeps, for counts, caps and delivery statistics: what kind of
# message went when and how it ended. Every other column (address, written subject and body,
# the server's reply, and any column added later) is emptied. The Message-ID stays so a late
# bounce is still known to concern an erased person (tracking then keeps no address).
OUTBOX_KEPT = ("source", "broadcast", "template", "contact", "channel", "topic",
               "message_class", "content_type", "state", "next_attempt_at", "attempts",
               "claimed_by", "claimed_at", "sent_at", "gate_verdict", "gate_reason",
               "gate_text", "smtp_code", "message_id", "resent_after_crash", "created_at",
               "snapshot")  # the frozen words of a broadcast: no personal data
EXPORTED = ("id", "source", "channel", "to_address", "topic", "message_class", "state",
            "created_at", "sent_at", "attempts", "gate_verdict", "gate_reason", "gate_text",
            "smtp_reply", "resent_after_crash", "subject", "body_text", "body_html")


def export_sections(contact_id: int) -> dict[str, Any]:
    """Every message queued for the person: to where, what (the template, and the words they
    received rendered again from the approved snapshot and the merge data kept on the row, or
    the words of a message Peyvand wrote itself), when, and how it ended."""
    from peyvand.messaging.content import PLACEHOLDER_LINKS, prepare

    rows = OutboxMessage.objects.filter(contact_id=contact_id) \
        .select_related("template", "snapshot").order_by("created_at", "id")
    prepared: dict[int, Any] = {}
    out = []
    for m in rows:
        item = {**{name: getattr(m, name) for name in EXPORTED},
                "template": m.template.name if m.template else None}
        if m.snapshot_id and m.merge_data and not (m.body_text or m.body_html):
            if m.snapshot_id not in prepared:
                prepared[m.snapshot_id] = prepare(m.snapshot)
            subject, html, text = prepared[m.snapshot_id].render(
                {**json.loads(m.merge_data), **PLACEHOLDER_LINKS})
            item.update(subject=subject, body_text=text, body_html=html)
        out.append(item)
    return {"messages": out}


def addresses(contact_id: int) -> Iterable[str]:
    """Every address a message to the person went to (they may have changed it since)."""
    return set(OutboxMessage.objects.filter(contact_id=contact_id)
               .exclude(to_address="").values_list("to_address", flat=True))


def erase(contact_id: int) -> dict[str, int]:
    """contacts erase hook: unsent messages never go; every row keeps only OUTBOX_KEPT."""
    from peyvand.messaging.gate import REASON_TEXT

    rows = OutboxMessage.objects.filter(contact_id=contact_id)
    stopped = rows.filter(state__in=(S.QUEUED, S.DEFERRED, S.UNKNOWN)).update(
        state=S.FAILED, gate_verdict="deny", gate_reason="erased",
        gate_text=str(REASON_TEXT["erased"]))
    return {"messages": blank_columns(rows, OUTBOX_KEPT), "messages_stopped": stopped}
