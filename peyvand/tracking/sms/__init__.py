"""SMS gateways: `get_gateway()` returns the one PEYVAND_SMS_URL names.

    catcher://                                   default: kept as CaughtSms rows, never sent
    kavenegar://APIKEY@?sender=10004346          Kavenegar
    smsir://APIKEY@?line=30007732                SMS.ir
A `base=` query parameter points an adapter at another API root (tests, proxies).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from peyvand.tracking.sms.base import (
    DELIVERED,
    FAILED,
    FINAL,
    QUEUED,
    SENT,
    UNKNOWN,
    SmsError,
    SmsGateway,
)
from peyvand.tracking.sms.segments import count, ensure_stop_footer

__all__ = ["DELIVERED", "FAILED", "FINAL", "QUEUED", "SENT", "UNKNOWN", "SmsError",
           "SmsGateway", "count", "ensure_stop_footer", "gateway_from_url", "get_gateway"]


def gateway_from_url(url: str) -> SmsGateway:
    parts = urlsplit(url.strip() or "catcher://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    key = unquote(parts.username or "")
    if parts.scheme == "catcher":
        from peyvand.tracking.sms.catcher import CatcherGateway

        return CatcherGateway()
    if parts.scheme == "kavenegar":
        from peyvand.tracking.sms.kavenegar import DEFAULT_BASE, KavenegarGateway

        return KavenegarGateway(key, query.get("sender", ""), query.get("base", DEFAULT_BASE))
    if parts.scheme == "smsir":
        from peyvand.tracking.sms.smsir import DEFAULT_BASE, SmsIrGateway

        return SmsIrGateway(key, query.get("line", ""), query.get("base", DEFAULT_BASE))
    raise ValueError(f"unknown SMS gateway {parts.scheme!r}: use catcher, kavenegar or smsir")


def get_gateway() -> SmsGateway:
    from django.conf import settings

    url = settings.PEYVAND_SMS_URL
    return gateway_from_url(url or "catcher://")
