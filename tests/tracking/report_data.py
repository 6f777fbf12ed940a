"""Constructed sendings and hits for the campaign-report tests: outbox rows, and spool rows
handed to the drain's `_store` with the times and readers a test needs."""

from __future__ import annotations

import datetime as dt
import secrets

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_create_contact
from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage
from peyvand.tracking import events
from peyvand.tracking.links import KIND_CLICK, KIND_OPEN

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # 11:30 in Tehran, 08:00 in London
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
APPLE_PROXY = "Mozilla/5.0"  # Apple Mail privacy protection: a machine's open
SCANNER = "Mozilla/5.0 (compatible; proofpoint-urldefense)"


def person(name: str, zone: str = "Asia/Tehran", **more):
    contact = do_create_contact(Actor.system("test"), {
        "first_name": name, "email": f"{name.lower()}@example.com", **more})
    if zone != contact.timezone:
        type(contact).objects.filter(pk=contact.pk).update(timezone=zone)
        contact.timezone = zone
    return contact


def broadcast(number: int, channel: str = "email") -> Broadcast:
    """Broadcast #number (its source "broadcast:<number>"), queued two days before T0."""
    found = Broadcast.objects.filter(pk=number).first()
    if found:
        return found
    template, _ = MessageTemplate.objects.get_or_create(
        name=f"report {channel}", defaults={"channel": channel, "subject": "Hi", "text": "Hi"})
    made = Broadcast.objects.create(pk=number, template=template, created_by="test",
                                    status=Broadcast.Status.QUEUED)
    Broadcast.objects.filter(pk=number).update(created_at=T0 - dt.timedelta(days=2))
    return made


def message(contact, source: str = "broadcast:1", state: str = "sent",
            channel: str = "email") -> OutboxMessage:
    """An outbox row of `source` (a broadcast's when it is "broadcast:<n>"), sent before T0."""
    number = source.split(":", 1)[1] if source.startswith("broadcast:") else ""
    made = broadcast(int(number), channel) if number.isdigit() else None
    return OutboxMessage.objects.create(
        source=source, broadcast=made, contact=contact, channel=channel,
        to_address=f"{contact.pk}@example.com", message_class="marketing", state=state,
        sent_at=T0 - dt.timedelta(days=1))


def hit(kind: str, msg: OutboxMessage, at: dt.datetime, url: str = "", ua: str = BROWSER,
        contact_id: int | None = None) -> tuple:
    """One spool row: (hit id, kind, message, contact, issued, url, topic, agent, time)."""
    return (secrets.token_hex(16), KIND_OPEN if kind == "open" else KIND_CLICK, msg.pk,
            contact_id if contact_id is not None else msg.contact_id,
            int((T0 - dt.timedelta(days=1)).timestamp()), url, "", ua, at.timestamp())


def drain(*rows: tuple) -> int:
    """Store rows as one drained batch (the same transaction `drain_spool` uses)."""
    return events._store(list(rows))


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)
