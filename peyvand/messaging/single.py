"""One marketing message to one person from frozen words: what a journey's send step queues.

Unlike a broadcast there is no audience to approve: the journey's publisher chose the words
(frozen per journey version) and the OutboundGate still decides, for this message as for any,
whether and when it leaves (consent, caps, spacing, quiet hours).
"""

from __future__ import annotations

import datetime as dt

from peyvand.contacts.models import Identity
from peyvand.messaging import consent_port, tasks
from peyvand.messaging.audience import address_kind
from peyvand.messaging.models import ContentSnapshot, MessageClass, OutboxMessage

MAX_SOURCE = 64  # OutboxMessage.source


def address_of(contact_id: int, channel: str) -> str | None:
    """The contact's primary (else oldest) address on the channel, as broadcasts choose it."""
    return addresses_of([contact_id], channel).get(contact_id)


def queue_marketing(snapshot: ContentSnapshot, contact_id: int, source: str, *,
                    send_after: dt.datetime | None = None,
                    kick: bool = True) -> OutboxMessage | None:
    """Queue the message once per (source, contact, channel): a second call with the same
    source returns the row already queued. None when the contact has no address on the
    snapshot's channel. Runs in the caller's transaction (the row commits with its step).
    A caller queuing many (the journey runner) passes kick=False and calls `kick` once."""
    if snapshot.message_class != MessageClass.MARKETING:
        raise ValueError("queue_marketing sends marketing snapshots only")
    if len(source) > MAX_SOURCE:
        raise ValueError(f"an outbox source is at most {MAX_SOURCE} characters")
    address = address_of(contact_id, snapshot.channel)
    if not address:
        return None
    if snapshot.carries_consent_links(MessageClass.MARKETING):
        consent_port.ensure_link_keys([contact_id])  # made now, not in the middle of a send
    # ignore_conflicts: a repeated source is a no-op without breaking the caller's transaction.
    OutboxMessage.objects.bulk_create([OutboxMessage(
        source=source, template_id=snapshot.template_id, snapshot=snapshot,
        contact_id=contact_id, channel=snapshot.channel, to_address=address,
        topic=snapshot.topic, message_class=MessageClass.MARKETING,
        content_type=snapshot.content_type, next_attempt_at=send_after)],
        ignore_conflicts=True)
    if kick:
        tasks.kick()
    return OutboxMessage.objects.get(source=source, contact_id=contact_id,
                                     channel=snapshot.channel)


def addresses_of(contact_ids: list[int], channel: str) -> dict[int, str]:
    """Each contact's primary (else oldest) address on the channel, in one query."""
    out: dict[int, str] = {}
    rows = (Identity.objects.filter(contact_id__in=contact_ids, kind=address_kind(channel))
            .order_by("contact_id", "-is_primary", "id").values_list("contact_id", "value"))
    for contact_id, value in rows:
        out.setdefault(contact_id, value)  # the first, as address_of: empty means none
    return {c: v for c, v in out.items() if v}


def queue_marketing_many(snapshot: ContentSnapshot, wanted: list[tuple[int, str]]) \
        -> dict[str, int | None]:
    """queue_marketing for many (contact id, source) pairs in a fixed number of queries:
    {source: the outbox row's id, or None when the contact has no address}. The caller
    kicks the sender once (`kick`)."""
    if snapshot.message_class != MessageClass.MARKETING:
        raise ValueError("queue_marketing sends marketing snapshots only")
    if any(len(source) > MAX_SOURCE for _c, source in wanted):
        raise ValueError(f"an outbox source is at most {MAX_SOURCE} characters")
    addresses = addresses_of([c for c, _s in wanted], snapshot.channel)
    addressed = [(c, s) for c, s in wanted if c in addresses]
    out: dict[str, int | None] = {s: None for _c, s in wanted}
    if not addressed:
        return out
    if snapshot.carries_consent_links(MessageClass.MARKETING):
        consent_port.ensure_link_keys([c for c, _s in addressed])
    OutboxMessage.objects.bulk_create([OutboxMessage(
        source=source, template_id=snapshot.template_id, snapshot=snapshot,
        contact_id=contact_id, channel=snapshot.channel, to_address=addresses[contact_id],
        topic=snapshot.topic, message_class=MessageClass.MARKETING,
        content_type=snapshot.content_type) for contact_id, source in addressed],
        ignore_conflicts=True, batch_size=500)
    pairs = set(addressed)
    for pk, contact_id, source in OutboxMessage.objects.filter(
            source__in=[s for _c, s in addressed], channel=snapshot.channel).values_list(
            "pk", "contact_id", "source"):
        if (contact_id, source) in pairs:
            out[source] = pk
    return out


def kick() -> None:
    """Wake the sender once the current transaction commits."""
    tasks.kick()
