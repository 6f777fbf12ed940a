"""F7, "nobody is forgotten": the people a shop may talk to and has not, for too long.

A contact is forgotten after `days` when they are live, agree to hear from the shop on a
channel (consent "in" there, not suppressed, not paused) and have an address on it, and in
those days nothing reached them and nobody spoke with them: no message was sent to them (the
outbox's `sent_at`, any channel, any class) and no staff note was written about them. One
query; the journey trigger and the list page read it.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from peyvand.consent.models import ConsentState
from peyvand.contacts.models import Contact, Identity, Note
from peyvand.messaging.audience import address_kind
from peyvand.messaging.models import Channel, OutboxMessage

DEFAULT_DAYS = 90


def forgotten(days: int = DEFAULT_DAYS, *, channel: str | None = None,
              now: dt.datetime | None = None) -> QuerySet[Contact]:
    """Contacts nobody has reached or spoken with in `days` though they may be reached (on
    `channel`, or on any), the longest forgotten first (by their last message)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    channels = [channel] if channel else list(Channel.values)
    reachable = Q()
    for one in channels:
        reachable |= Exists(ConsentState.objects.filter(
            Q(paused_until__isnull=True) | Q(paused_until__lte=now),
            contact_id=OuterRef("pk"), channel=one, topic__isnull=True, status="in",
            suppression="")) & Exists(Identity.objects.filter(
                contact_id=OuterRef("pk"), kind=address_kind(one)))
    reached = OutboxMessage.objects.filter(contact_id=OuterRef("pk"), sent_at__gte=since)
    spoken = Note.objects.filter(contact_id=OuterRef("pk"), created_at__gte=since)
    return (Contact.objects.live().filter(reachable)
            .exclude(Exists(reached)).exclude(Exists(spoken))
            .filter(created_at__lt=since)  # someone new is not forgotten yet
            .order_by("pk"))
