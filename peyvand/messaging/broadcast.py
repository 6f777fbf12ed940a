"""A broadcast becomes outbox rows: one per contact of the tag that has an address."""

from __future__ import annotations

from django.db import transaction

from peyvand.contacts.models import ContactTag, Identity
from peyvand.messaging import consent_port
from peyvand.messaging.models import Broadcast, OutboxMessage

_CHUNK = 2000


def enqueue(broadcast: Broadcast) -> int:
    """Queue the broadcast's messages (once: the outbox key makes a second call a no-op)."""
    template = broadcast.template
    kind = Identity.Kind.EMAIL if template.channel == "email" else Identity.Kind.PHONE
    topic = "transactional" if broadcast.message_class == "transactional" else template.topic
    members = ContactTag.objects.filter(tag_id=broadcast.tag_id or 0,  # tag deleted: nobody
                                        contact__erased_at__isnull=True)
    addresses = (Identity.objects.filter(kind=kind, contact_id__in=members.values("contact_id"))
                 .order_by("contact_id", "-is_primary", "id")
                 .values_list("contact_id", "value"))
    # Messages that will carry consent links: their keys are made now, once per contact,
    # rather than by the sender in the middle of a send.
    links = template.carries_consent_links(broadcast.message_class)
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
                source=source, broadcast=broadcast, template=template, contact_id=contact_id,
                channel=template.channel, to_address=value, topic=topic,
                message_class=broadcast.message_class, content_type=template.content_type))
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
