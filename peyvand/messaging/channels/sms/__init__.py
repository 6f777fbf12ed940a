"""SMS gateways: `get_gateway()` returns the one PEYVAND_SMS_URL names.

    catcher://                                   default: kept as CaughtSms rows, never sent
    kavenegar://APIKEY@?sender=10004346          Kavenegar
    smsir://APIKEY@?line=30007732                SMS.ir
A `base=` query parameter points an adapter at another API root (tests, proxies).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from peyvand.messaging.channels.sms.base import (
    DELIVERED,
    FAILED,
    FINAL,
    QUEUED,
    SENT,
    UNKNOWN,
    SmsError,
    SmsGateway,
)
from peyvand.messaging.channels.sms.segments import count, ensure_stop_footer

__all__ = ["DELIVERED", "FAILED", "FINAL", "QUEUED", "SENT", "UNKNOWN", "SentSms", "SmsError",
           "SmsGateway", "count", "deliver", "ensure_stop_footer", "gateway_from_url",
           "get_gateway"]


def gateway_from_url(url: str) -> SmsGateway:
    parts = urlsplit(url.strip() or "catcher://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    key = unquote(parts.username or "")
    if parts.scheme == "catcher":
        from peyvand.messaging.channels.sms.catcher import CatcherGateway

        return CatcherGateway()
    if parts.scheme == "kavenegar":
        from peyvand.messaging.channels.sms.kavenegar import DEFAULT_BASE, KavenegarGateway

        return KavenegarGateway(key, query.get("sender", ""), query.get("base", DEFAULT_BASE))
    if parts.scheme == "smsir":
        from peyvand.messaging.channels.sms.smsir import DEFAULT_BASE, SmsIrGateway

        return SmsIrGateway(key, query.get("line", ""), query.get("base", DEFAULT_BASE))
    raise ValueError(f"unknown SMS gateway {parts.scheme!r}: use catcher, kavenegar or smsir")


def get_gateway() -> SmsGateway:
    from django.conf import settings

    url = settings.PEYVAND_SMS_URL
    return gateway_from_url(url or "catcher://")


@dataclass(frozen=True)
class SentSms:
    """One SMS a gateway accepted."""

    gateway: str  # the gateway's name
    provider_id: str  # the gateway's id for it, to ask about its delivery
    to: str  # E.164
    parts: int


def deliver(to: str, text: str, *, marketing: bool = False,
            gateway: SmsGateway | None = None) -> SentSms:
    """Hand one SMS to the gateway (the configured one unless given). Marketing texts get the
    stop footer here so no sender can forget it. Raises ValueError for a number that does not
    normalise, SmsError when the gateway refuses."""
    # Phone metadata is heavy: a sender process loads it with its first SMS, not at start.
    from peyvand.base.normalise import normalise_phone

    to_e164 = normalise_phone(to, "to")
    if marketing:
        text = ensure_stop_footer(text)
    gateway = gateway or get_gateway()
    provider_id = gateway.send(to_e164, text)
    return SentSms(gateway.name, provider_id, to_e164, count(text)[1])
