"""An approved broadcast becomes outbox rows: one per contact of its frozen audience (a tag)
that has an address, each rendered later from the frozen snapshot."""

from __future__ import annotations

from django.db import transaction

from peyvand.contacts.models import ContactTag, Identity
from peyvand.messaging import consent_port
from peyvand.messaging.models import Broadcast, OutboxMessage

_CHUNK = 2000


def enqueue(broadcast: Broadcast) -> int:
    """Queue the broadcast's messages (once: the outbox key makes a second call a no-op)."""
    content = broadcast.snapshot
    if content is None:
        raise ValueError("a broadcast is queued only once approved (its snapshot frozen)")
    kind = Identity.Kind.EMAIL if content.channel == "email" else Identity.Kind.PHONE
    tag_id = broadcast.audience.get("tag_id") or 0  # tag deleted: nobody
    members = ContactTag.objects.filter(tag_id=tag_id, contact__erased_at__isnull=True)
    addresses = (Identity.objects.filter(kind=kind, contact_id__in=members.values("contact_id"))
                 .order_by("contact_id", "-is_primary", "id")
                 .values_list("contact_id", "value"))
    # Messages that will carry consent links: their keys are made now, once per contact,
    # rather than by the sender in the middle of a send.
    links = content.carries_consent_links(broadcast.message_class)
    queued, last, batch = 0, None, []
    source = broadcast.source

    def write(rows: list[OutboxMessage]) -> int:
        if links:
            consent_port.ensure_link_keys([row.contact_id for row in rows])
        return len(OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True))

    with transaction.atomic():
        for contact_id, value in addresses.iterator(chunk_size=_CHUNK):
            if contact_id == last:
                continue  # the primary (or oldest) address only
            last = contact_id
            batch.append(OutboxMessage(
                source=source, broadcast=broadcast, template_id=broadcast.template_id,
                snapshot=content, contact_id=contact_id, channel=content.channel,
                to_address=value, topic=content.topic, message_class=broadcast.message_class,
                content_type=content.content_type))
            if len(batch) >= _CHUNK:
                queued += write(batch)
                batch = []
        if batch:
            queued += write(batch)
        total = members.count()
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=Broadcast.Status.QUEUED, queued_count=queued,
            no_address_count=max(0, total - queued))
    broadcast.refresh_from_db()
    return queued
