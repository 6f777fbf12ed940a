"""What messaging holds about a person: their messages, for the subject-access export and
for erasure. Registered in contacts' hooks from MessagingConfig.ready."""

from __future__ import annotations

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
               "gate_text", "smtp_code", "message_id", "resent_after_crash", "created_at")
EXPORTED = ("id", "source", "channel", "to_address", "topic", "message_class", "state",
            "created_at", "sent_at", "attempts", "gate_verdict", "gate_reason", "gate_text",
            "smtp_reply", "resent_after_crash", "subject", "body_text", "body_html")


def export_sections(contact_id: int) -> dict[str, Any]:
    """Every message queued for the person: to where, what (the template, or the words of a
    message Peyvand wrote itself), when, and how it ended."""
    rows = OutboxMessage.objects.filter(contact_id=contact_id).select_related("template") \
        .order_by("created_at", "id")
    return {"messages": [{**{name: getattr(m, name) for name in EXPORTED},
                          "template": m.template.name if m.template else None}
                         for m in rows]}


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
