"""The one way any floor appends to a contact's timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.db import datetime_adapter, execute_many
from peyvand.contacts.bulk_insert import insert_rows
from peyvand.contacts.models import TimelineEvent


def append_event(contact_id: int, kind: str, data: dict[str, Any] | None = None, *,
                 actor: Actor | None = None, at: dt.datetime | None = None) -> TimelineEvent:
    return TimelineEvent.objects.create(
        contact_id=contact_id,
        kind=kind,
        at=at or timezone.now(),
        actor_label=actor.label if actor else "",
        data=data or {},
    )


def append_events(events: Iterable[tuple[int, str, dt.datetime, dict[str, Any]]]) -> None:
    """Many (contact_id, kind, at, data) at once, as one executemany: a sender records a
    group of messages per commit, and bulk_create costs more to compile than to run."""
    ops = connection.ops
    table = ops.quote_name(TimelineEvent._meta.db_table)
    adapt = datetime_adapter()
    rows = [(contact_id, kind, adapt(at), "", ops.adapt_json_value(data, None))
            for contact_id, kind, at, data in events]
    if rows:
        with transaction.atomic(savepoint=False):  # the caller's transaction, or one
            execute_many(f"INSERT INTO {table} (contact_id, kind, at, actor_label, data) "
                         "VALUES (%s, %s, %s, %s, %s)", rows)


def timeline_for(contact_id: int, *, kinds: list[str] | None = None):
    qs = TimelineEvent.objects.filter(contact_id=contact_id)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("-at", "-id")


def append_event_rows(rows: list[dict[str, Any]]) -> None:
    """Many events as column dicts (contact_id, kind, at, actor_label, data), by COPY on
    PostgreSQL: a bulk import appends a "contact.created" per new person."""
    insert_rows(TimelineEvent, rows)
