"""What tracking reads of messaging's outbox (the floor below): contact, send time and
Message-ID of a sent message, the messages of one sending and their states (the campaign
report); and the one write it asks of messaging, that a message bounced."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Coalesce

from peyvand.messaging.models import Broadcast, OutboxMessage
from peyvand.messaging.outbox import record_bounce

_BROADCAST = re.compile(r"broadcast:[0-9]{1,18}")


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


def sources_of(message_ids: set[int]) -> dict[int, str]:
    """message id -> its source, for the ids the outbox knows."""
    if not message_ids:
        return {}
    return dict(OutboxMessage.objects.filter(pk__in=message_ids).values_list("pk", "source"))


def with_sources(sources: list[str]) -> QuerySet:
    """A subquery: the ids of the outbox rows of `sources`, by their source column."""
    return OutboxMessage.objects.filter(source__in=sources).values("pk")


def _broadcasts(sources: list[str]) -> dict[int, str]:
    """Broadcast id -> source, for the sources that are broadcasts still there."""
    wanted = {int(s.split(":", 1)[1]): s for s in sources if _BROADCAST.fullmatch(s)}
    if not wanted:
        return {}
    return {pk: wanted[pk] for pk in Broadcast.objects.filter(pk__in=wanted).order_by()
            .values_list("pk", flat=True)}


def of_sources(sources: list[str]) -> QuerySet:
    """The outbox rows of these sendings. A broadcast's rows are read by `broadcast` (the
    (broadcast, state) index: messaging writes source "broadcast:<id>" with broadcast <id>),
    any other source by `source` (the front of the once-per-source key)."""
    broadcasts = _broadcasts(sources)
    others = [s for s in sources if s not in broadcasts.values()]
    where = Q(broadcast_id__in=list(broadcasts)) if broadcasts else Q(pk__in=[])
    if others:
        where |= Q(source__in=others)
    return OutboxMessage.objects.filter(where)


def state_counts(sources: list[str]) -> dict[str, dict[str, int]]:
    """channel -> {state: rows} over the sendings' outbox rows. A broadcast has one channel
    (its content's), so its states are counted from the index alone."""
    out: dict[str, dict[str, int]] = {}
    broadcasts = _broadcasts(sources)
    channel_of = dict(Broadcast.objects.filter(pk__in=broadcasts).values_list(
        "pk", Coalesce("snapshot__channel", "template__channel")))
    for pk, channel in channel_of.items():
        # COUNT(*), not COUNT(id): the index alone answers (no id in it).
        found = (OutboxMessage.objects.filter(broadcast_id=pk).values_list("state")
                 .annotate(n=Count("*")).order_by())
        for state, n in found:
            into = out.setdefault(channel, {})
            into[state] = into.get(state, 0) + n
    counted = {broadcasts[pk] for pk in channel_of}
    others = [s for s in sources if s not in counted]
    if others:
        for channel, state, n in (OutboxMessage.objects.filter(source__in=others)
                                  .values_list("channel", "state").annotate(n=Count("*"))
                                  .order_by()):
            into = out.setdefault(channel, {})
            into[state] = into.get(state, 0) + n
    return out


def first_created(sources: list[str]) -> dt.datetime | None:
    """When the earliest of these sendings was queued: nothing about them happened before."""
    broadcasts = _broadcasts(sources)
    found = [Broadcast.objects.filter(pk__in=broadcasts).aggregate(m=Min("created_at"))["m"]]
    others = [s for s in sources if s not in broadcasts.values()]
    if others:
        found.append(OutboxMessage.objects.filter(source__in=others)
                     .aggregate(m=Min("created_at"))["m"])
    return min((f for f in found if f is not None), default=None)


def table() -> str:
    """The outbox's table, for SQL that groups events by their message's source."""
    return OutboxMessage._meta.db_table


def source_of(message_id: Any) -> QuerySet:
    """A subquery: the source of the message `message_id` (an OuterRef)."""
    return OutboxMessage.objects.filter(pk=message_id).values("source")[:1]


def rows_among(sources: list[str], message_ids: set[int]) -> dict[int, tuple[str, str]]:
    """message id -> (state, channel) for those of `message_ids` that belong to `sources`:
    by primary key, a few at a time (a handful of bounce reports against a million rows)."""
    ids, found = sorted(message_ids), {}
    for start in range(0, len(ids), 2000):
        found.update({pk: (state, channel) for pk, state, channel in of_sources(sources)
                      .filter(pk__in=ids[start:start + 2000]).order_by()
                      .values_list("pk", "state", "channel")})
    return found
