"""Sending SMS through the configured gateway and following their delivery."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.contacts.timeline import append_event
from peyvand.messaging.channels.sms import FINAL, SentSms, SmsGateway, deliver, get_gateway
from peyvand.tracking.models import SmsSend

STATUS_WINDOW = dt.timedelta(days=3)  # gateways stop reporting on older messages


def send_sms(to: str, text: str, *, contact_id: int | None = None,
             message_id: int | None = None, marketing: bool = False,
             gateway: SmsGateway | None = None) -> SmsSend:
    """Hand one SMS to the gateway (messaging's channel) and keep a row to follow its delivery.

    The caller has already decided the person may get it (messaging's gate)."""
    sent = deliver(to, text, marketing=marketing, gateway=gateway)
    return record_sms(sent, contact_id=contact_id, message_id=message_id)


def record_sms(sent: SentSms, *, contact_id: int | None, message_id: int | None) -> SmsSend:
    """Follow the delivery of an SMS a gateway accepted (messaging's tracker calls this for
    every SMS the sender hands over)."""
    return SmsSend.objects.create(gateway=sent.gateway, provider_id=sent.provider_id,
                                  to=sent.to, contact_id=contact_id, message_id=message_id,
                                  parts=sent.parts, status=SmsSend.Status.QUEUED)


def do_send_test_sms(actor: Actor, to: str, text: str) -> SmsSend:
    """An operator's test of the gateway settings (`peyvand sms send`)."""
    require(actor, "channels.manage")
    sent = send_sms(to, text)
    record_audit(actor, "sms.test", target_type="sms", target_id=sent.pk,
                 summary=f"{sent.gateway} {sent.provider_id}")
    return sent


_EVENTS: dict[str, str] = {SmsSend.Status.DELIVERED: "message.delivered",
                           SmsSend.Status.FAILED: "message.failed"}


def poll_sms_statuses(gateway: SmsGateway | None = None, now: dt.datetime | None = None) -> int:
    """Ask the gateway about recent sends not yet final; returns how many changed status.

    A change to delivered/failed appends message.delivered / message.failed to the timeline."""
    gateway = gateway or get_gateway()
    now = now or timezone.now()
    pending = list(SmsSend.objects.filter(gateway=gateway.name, sent_at__gte=now - STATUS_WINDOW)
                   .exclude(status__in=FINAL).order_by("pk")[:5000])
    if not pending:
        return 0
    statuses = gateway.status([s.provider_id for s in pending])
    changed = 0
    for sms in pending:
        status = statuses.get(sms.provider_id)
        if status not in SmsSend.Status.values or status == sms.status:
            continue
        changed += _set_status(sms, status)
    return changed


@transaction.atomic
def _set_status(sms: SmsSend, status: str) -> int:
    # Row-locked: two pollers must not both write the timeline entry.
    fresh = SmsSend.objects.select_for_update().get(pk=sms.pk)
    if fresh.status == status or fresh.status in FINAL:
        return 0
    fresh.status = status
    fresh.save(update_fields=["status", "updated_at"])
    kind = _EVENTS.get(status)
    if kind and fresh.contact_id:
        append_event(fresh.contact_id, kind, {"message_id": fresh.message_id,
                                              "channel": "sms", "gateway": fresh.gateway})
    return 1



def do_poll_bounces(actor: Actor, url: str, kind: str, delete: bool = False):
    """Read bounce and complaint reports from a mailbox (`kind` "imap" or "pop")."""
    from peyvand.tracking import inbound

    require(actor, "channels.manage")
    result = inbound.poll_imap(url, delete=delete) if kind == "imap" else inbound.poll_pop(url)
    record_audit(actor, "bounces.poll", target_type="mailbox", summary=f"{kind}: "
                 f"{result.fetched}", details={"kinds": result.kinds or {}})
    return result


def do_drain(actor: Actor) -> int:
    """Move spooled opens and clicks into events now, rather than at the next minute."""
    from peyvand.tracking.events import drain_spool

    require(actor, "messages.view")
    return drain_spool()


def do_poll_sms(actor: Actor) -> int:
    require(actor, "channels.manage")
    return poll_sms_statuses()
