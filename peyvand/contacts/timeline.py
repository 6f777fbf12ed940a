"""The one way any floor appends to a contact's timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from peyvand.base.actor import Actor
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


def timeline_for(contact_id: int, *, kinds: list[str] | None = None):
    qs = TimelineEvent.objects.filter(contact_id=contact_id)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("-at", "-id")
