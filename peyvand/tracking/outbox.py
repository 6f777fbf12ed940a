"""The one place tracking reads messaging's outbox, lazily: messaging may be absent or not
migrated yet, and tracking must keep recording hits either way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import DatabaseError, transaction


def model():
    try:
        from peyvand.messaging.models import OutboxMessage
    except ImportError:
        return None
    return OutboxMessage


def _safely(query) -> Any:
    try:
        with transaction.atomic():  # a savepoint: a missing table must not spoil the caller
            return query()
    except DatabaseError:
        return None


def facts(message_ids: set[int]) -> dict[int, tuple[int | None, dt.datetime | None]]:
    """message id -> (contact id, sent time), for the ids the outbox knows."""
    outbox = model()
    if outbox is None or not message_ids:
        return {}
    rows = _safely(lambda: list(outbox.objects.filter(pk__in=message_ids)
                                .values_list("pk", "contact_id", "sent_at")))
    return {pk: (contact_id, sent_at) for pk, contact_id, sent_at in rows or []}


def contact_of(message_id: int) -> int:
    found = facts({message_id}).get(message_id)
    return int(found[0] or 0) if found else 0


def by_header_message_id(value: str) -> tuple[int, int] | None:
    """(outbox id, contact id) of the message sent with this Message-ID header."""
    outbox = model()
    value = value.strip()
    if outbox is None or not value:
        return None
    bare = value.strip("<>")
    row = _safely(lambda: outbox.objects.filter(message_id__in=[value, bare, f"<{bare}>"])
                  .values_list("pk", "contact_id").first())
    return tuple(row) if row else None


def ids_for_source(source: str) -> list[int] | None:
    """Outbox ids of one sending (e.g. "broadcast:12"); None when there is no outbox."""
    outbox = model()
    if outbox is None:
        return None
    rows = _safely(lambda: list(outbox.objects.filter(source=source)
                                .values_list("pk", flat=True)))
    return rows


def mark_bounced(message_id: int | None, reply: str, *, hard: bool) -> None:
    """Tell the outbox its row bounced (state `bounced` when hard); messaging owns the row."""
    if not message_id or model() is None:
        return
    from peyvand.messaging.outbox import record_bounce

    record_bounce(message_id, reply, hard=hard)
