"""What tracking reads of messaging's outbox (the floor below): contact, send time and
Message-ID of a sent message, the messages of one sending; and the one write it asks of
messaging, that a message bounced."""

from __future__ import annotations

import datetime as dt

from peyvand.messaging.models import OutboxMessage
from peyvand.messaging.outbox import record_bounce


def facts(message_ids: set[int]) -> dict[int, tuple[int | None, dt.datetime | None]]:
    """message id -> (contact id, sent time), for the ids the outbox knows."""
    if not message_ids:
        return {}
    rows = (OutboxMessage.objects.filter(pk__in=message_ids)
            .values_list("pk", "contact_id", "sent_at"))
    return {pk: (contact_id, sent_at) for pk, contact_id, sent_at in rows}


def contact_of(message_id: int) -> int:
    found = facts({message_id}).get(message_id)
    return int(found[0] or 0) if found else 0


def by_header_message_id(value: str) -> tuple[int, int] | None:
    """(outbox id, contact id) of the message sent with this Message-ID header."""
    value = value.strip()
    if not value:
        return None
    bare = value.strip("<>")
    row = (OutboxMessage.objects.filter(message_id__in=[value, bare, f"<{bare}>"])
           .values_list("pk", "contact_id").first())
    return (row[0], row[1]) if row else None


def ids_for_source(source: str) -> list[int]:
    """Outbox ids of one sending (e.g. "broadcast:12")."""
    return list(OutboxMessage.objects.filter(source=source).values_list("pk", flat=True))


def mark_bounced(message_id: int | None, reply: str, *, hard: bool) -> None:
    """Tell the outbox its row bounced (state `bounced` when hard); messaging owns the row."""
    if message_id:
        record_bounce(message_id, reply, hard=hard)
