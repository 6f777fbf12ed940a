"""The one way any floor appends to a contact's timeline, and the register of what each
kind of entry is called.

Each kind has one owner: the app that writes it registers its label (and, if it has one, a
one-line summary) with `register_kind` from its AppConfig.ready(). A second app registering
the same kind is refused, so two floors cannot word one event differently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import Promise

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


Label = str | Promise  # a lazy gettext string, so the page's language decides


@dataclass(frozen=True)
class EventKind:
    label: Label
    owner: str  # the app label of the app that writes this kind
    # One line of detail from the event's data; "" when there is nothing to add.
    summary: Callable[..., str] | None = None
    # Labels for one channel only (event.data["channel"]), e.g. {"sms": "SMS not delivered"}.
    channel_labels: Mapping[str, Label] = field(default_factory=dict)
    # The summary names contact fields: it is called as summary(event, labels), labels being
    # the readable names of those fields (contacts' own kinds).
    names_fields: bool = False


_KINDS: dict[str, EventKind] = {}


def register_kind(kind: str, label: Label, *, owner: str,
                  summary: Callable[..., str] | None = None,
                  channel_labels: Mapping[str, Label] | None = None,
                  names_fields: bool = False) -> None:
    """Declare a timeline kind. The same owner registering again replaces its entry; another
    owner is refused."""
    known = _KINDS.get(kind)
    if known is not None and known.owner != owner:
        raise ImproperlyConfigured(
            f"timeline kind {kind!r} belongs to {known.owner!r}; {owner!r} may not register it")
    _KINDS[kind] = EventKind(label=label, owner=owner, summary=summary,
                             channel_labels=dict(channel_labels or {}),
                             names_fields=names_fields)


def event_kind(kind: str) -> EventKind | None:
    return _KINDS.get(kind)


def kind_label(kind: str, channel: str = "") -> str:
    """What people call an entry of this kind (on this channel); unknown kinds show their key."""
    known = _KINDS.get(kind)
    if known is None:
        return kind
    return str(known.channel_labels.get(channel, known.label))
