"""An approved broadcast becomes outbox rows: one per contact of its frozen audience (a tag,
or an audience of segments and tags with exclusions) that has an address, each rendered
later from the frozen snapshot.

The outbox rows are the audience's snapshot: its members are resolved once, by the one query
this reads, when the broadcast is queued; whoever joins a segment afterwards is not sent it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from peyvand.contacts.models import Contact, ContactTag
from peyvand.messaging import consent_port
from peyvand.messaging.audience import audience_members, with_addresses
from peyvand.messaging.models import Broadcast, OutboxMessage

_CHUNK = 2000


def enqueue(broadcast: Broadcast) -> int:
    """Queue the broadcast's messages (once: the outbox key makes a second call a no-op)."""
    content = broadcast.snapshot
    if content is None:
        raise ValueError("a broadcast is queued only once approved (its snapshot frozen)")
    addresses = with_addresses(members_of(broadcast), content.channel)
    local = broadcast.local_hour is not None and broadcast.local_date is not None
    if local:
        addresses = addresses.values_list("pk", "address", "timezone")
    # Messages that will carry consent links: their keys are made now, once per contact,
    # rather than by the sender in the middle of a send.
    links = content.carries_consent_links(broadcast.message_class)
    queued, batch = 0, []
    source = broadcast.source

    def write(rows: list[OutboxMessage]) -> int:
        if links:
            consent_port.ensure_link_keys([row.contact_id for row in rows])
        return len(OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True))

    with transaction.atomic():
        total = 0
        for contact_id, value, *zone in addresses.iterator(chunk_size=_CHUNK):
            total += 1
            if value is None:
                continue  # no address on this channel: counted, not queued
            batch.append(OutboxMessage(
                source=source, broadcast=broadcast, template_id=broadcast.template_id,
                snapshot=content, contact_id=contact_id, channel=content.channel,
                to_address=value, topic=content.topic, message_class=broadcast.message_class,
                content_type=content.content_type,
                next_attempt_at=local_send_time(broadcast, zone[0]) if local
                else broadcast.send_after))
            if len(batch) >= _CHUNK:
                queued += write(batch)
                batch = []
        if batch:
            queued += write(batch)
        changes = {}
        if broadcast.audience_spec:
            changes["audience"] = {**broadcast.audience, "count": total}
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=Broadcast.Status.QUEUED, queued_count=queued,
            no_address_count=max(0, total - queued), **changes)
    broadcast.refresh_from_db()
    return queued


def local_send_time(broadcast: Broadcast, zone_name: str) -> dt.datetime:
    """When the message leaves for a contact in `zone_name`: the broadcast's local hour on its
    local date there (the shop's zone when the contact's is unknown), never before
    `send_after`. A wall time a clock change skips or repeats resolves as zoneinfo does
    (fold 0)."""
    try:
        zone = ZoneInfo(zone_name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    assert broadcast.local_date is not None and broadcast.local_hour is not None
    at = dt.datetime.combine(broadcast.local_date, dt.time(broadcast.local_hour), tzinfo=zone)
    return max(at, broadcast.send_after) if broadcast.send_after else at


def members_of(broadcast: Broadcast) -> QuerySet:
    """Its live contacts now: the frozen audience once approved, what was asked before."""
    if broadcast.audience_spec:
        return audience_members(broadcast.audience if broadcast.snapshot_id
                                else broadcast.audience_spec)
    tag_id = (broadcast.audience.get("tag_id") if broadcast.snapshot_id
              else broadcast.tag_id) or 0  # tag deleted: nobody
    return Contact.objects.live().filter(
        pk__in=ContactTag.objects.filter(tag_id=tag_id).values("contact_id"))
