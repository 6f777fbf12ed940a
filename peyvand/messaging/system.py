"""Messages Peyvand writes itself (double opt-in confirmations) enter the outbox here, so they
pass the OutboundGate and the sender like every other message.

consent renders them (its templates, its words) and hands them over through its delivery
interface; this module is registered there when messaging starts (apps.ready).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peyvand.messaging import tasks
from peyvand.messaging.models import MessageClass, OutboxMessage

if TYPE_CHECKING:
    from peyvand.consent.delivery import SystemMessage


WRITTEN_CLASSES = (MessageClass.CONFIRMATION, MessageClass.TRANSACTIONAL)


def queue_system_message(message: SystemMessage) -> bool:
    """Queue one written message, once per key (a retried task queues nothing new).

    The gate decides when it is sent: a confirmation goes only while the subscription it
    confirms is pending; a transactional one (consent's reply to the person's own request)
    unless the address bounced."""
    if message.message_class not in WRITTEN_CLASSES:
        raise ValueError(f"a written message is one of {WRITTEN_CLASSES}")
    _row, created = OutboxMessage.objects.get_or_create(
        source=message.key[:64], contact_id=message.contact_id, channel=message.channel,
        defaults={"to_address": message.to, "message_class": message.message_class,
                  "subject": message.subject[:300], "body_text": message.text,
                  "body_html": message.html})
    if created:
        tasks.kick()
    return True
