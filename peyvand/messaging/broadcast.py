"""An approved broadcast becomes outbox rows: one per contact of its frozen audience (a tag,
or an audience of segments and tags with exclusions) that has an address, each rendered
later from the frozen snapshot.

The outbox rows are the audience's snapshot: its members are resolved once, by the one query
this reads, when the broadcast is queued; whoever joins a segment afterwards is not sent it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.dates import zone_of
from peyvand.base.errors import Invalid
from peyvand.contacts.models import Contact, ContactTag
from peyvand.messaging import consent_port, tasks
from peyvand.messaging.audience import (
    audience_members,
    check_audience,
    describe_audience,
    with_addresses,
)
from peyvand.messaging.models import Broadcast, ContentSnapshot, MessageClass, OutboxMessage

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
    zone = zone_of(zone_name)
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


@transaction.atomic
def start_broadcast(*, snapshot: ContentSnapshot, audience: dict[str, Any], created_by: str,
                    approved_by: str, send_after: Any = None, local_date: Any = None,
                    local_hour: int | None = None, is_test: bool = False) -> Broadcast:
    """Queue frozen words to an audience spec now: the caller (campaigns) holds the approval
    (its reviewer saw these words, by digest) and the audience check. Marketing only, as
    every broadcast; the OutboundGate still decides for each message when it leaves."""
    if snapshot.message_class != MessageClass.MARKETING or snapshot.template_id is None:
        raise Invalid({"template": _("Only a marketing template goes to an audience.")})
    spec = check_audience(audience)
    item = Broadcast.objects.create(
        template_id=snapshot.template_id, audience_spec=spec,
        audience={**spec, "names": describe_audience(spec)}, snapshot=snapshot,
        message_class=MessageClass.MARKETING, status=Broadcast.Status.QUEUED,
        created_by=created_by, approved_by=approved_by, approved_at=timezone.now(),
        send_after=send_after, local_date=local_date, local_hour=local_hour, is_test=is_test)
    enqueue(item)
    tasks.kick()
    return item


@transaction.atomic
def cancel_broadcast(item: Broadcast) -> int:
    """Stop what has not left yet (queued, deferred): those rows end `cancelled` and are never
    claimed; rows being sent finish as they are. Returns how many were cancelled."""
    waiting = (OutboxMessage.State.QUEUED, OutboxMessage.State.DEFERRED)
    cancelled = item.messages.filter(state__in=waiting).update(
        state=OutboxMessage.State.CANCELLED, next_attempt_at=None)
    Broadcast.objects.filter(pk=item.pk).exclude(status=Broadcast.Status.REJECTED).update(
        status=Broadcast.Status.CANCELLED)
    return cancelled
