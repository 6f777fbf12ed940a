"""Bounces (RFC 3464 DSN) and complaints (RFC 5965 ARF): parse, match to a message, suppress.

Each outgoing message carries its own return path, `bounce+<token>@<PEYVAND_BOUNCE_DOMAIN>`
(VERP), so a bounce names its message even when the report itself is mangled. The token is
sealed like tracking links but in lower-case base32: mail systems may change the case of a
local part.

A hard bounce or a complaint suppresses the channel through the consent ledger at once; soft
bounces are counted, and TRACKING_SOFT_BOUNCE_LIMIT of them (3) within
TRACKING_SOFT_BOUNCE_DAYS (30) suppress too. Reports we cannot read are kept, never fatal.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hmac
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from peyvand.contacts.models import Contact, Identity
from peyvand.contacts.timeline import append_event
from peyvand.tracking import consent_port, outbox
from peyvand.tracking.links import (
    BadToken,
    _keys,
    _keystream,
    _mac,
    _read_varint,
    _varint,
    _xor,
)
from peyvand.tracking.models import BounceReport

log = logging.getLogger(__name__)
CHANNEL = "email"
LOCAL_PREFIX = "bounce+"
_TAG = 8
MAX_RAW = 256 * 1024


# --- VERP addresses --------------------------------------------------------------------------

def bounce_domain() -> str:
    return settings.PEYVAND_BOUNCE_DOMAIN or "localhost"


def _stream_keys() -> tuple[bytes, bytes]:
    return _bounce_keys(settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _bounce_keys(secret: str) -> tuple[bytes, bytes]:
    tag_key, stream_key = _keys(secret)
    return _mac(tag_key, b"bounce"), _mac(stream_key, b"bounce")


def bounce_token(message_id: int, contact_id: int) -> str:
    payload = _varint(message_id) + _varint(contact_id)
    tag_key, stream_key = _stream_keys()
    tag = _mac(tag_key, payload)[:_TAG]
    sealed = tag + _xor(payload, _keystream(stream_key, tag, len(payload)))
    return base64.b32encode(sealed).decode("ascii").rstrip("=").lower()


def read_bounce_token(token: str) -> tuple[int, int]:
    token = token.strip().upper()
    if not token or len(token) > 60 or not re.fullmatch(r"[A-Z2-7]+", token):
        raise BadToken
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except ValueError:
        raise BadToken
    if len(raw) < _TAG + 2:
        raise BadToken
    tag, sealed = raw[:_TAG], raw[_TAG:]
    tag_key, stream_key = _stream_keys()
    payload = _xor(sealed, _keystream(stream_key, tag, len(sealed)))
    if not hmac.compare_digest(_mac(tag_key, payload)[:_TAG], tag):
        raise BadToken
    message_id, pos = _read_varint(payload, 0)
    contact_id, pos = _read_varint(payload, pos)
    if pos != len(payload):
        raise BadToken
    return message_id, contact_id


def bounce_address(message_id: int, *, contact_id: int | None = None) -> str:
    if contact_id is None:
        contact_id = outbox.contact_of(message_id)
    return f"{LOCAL_PREFIX}{bounce_token(message_id, contact_id)}@{bounce_domain()}"


_VERP = re.compile(r"bounce\+([a-z2-7]{10,60})@", re.IGNORECASE)


def message_for_bounce_address(address: str) -> tuple[int, int] | None:
    """(message id, contact id) of a VERP address we made, else None."""
    for token in _VERP.findall(address or ""):
        try:
            return read_bounce_token(token)
        except BadToken:
            continue
    return None


def is_bounce_address(address: str) -> bool:
    local, _at, domain = (address or "").strip("<>").rpartition("@")
    return local.lower().startswith(LOCAL_PREFIX) and domain.lower() == bounce_domain().lower()


# --- parsing ---------------------------------------------------------------------------------

@dataclass
class Recipient:
    recipient: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""


@dataclass
class Parsed:
    kind: str  # a BounceReport.Kind
    recipients: list[Recipient] = field(default_factory=list)
    subject: str = ""
    original_message_id: str = ""
    original_to: str = ""
    verp: str = ""  # text where a bounce+ address may be found
    feedback_type: str = ""
    problem: str = ""


def _fields(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, Message):
        return [payload]
    decoded = part.get_payload(decode=True)
    text = decoded if isinstance(decoded, bytes) else b""
    blocks = re.split(rb"\r?\n\r?\n", text.strip())
    return [email.message_from_bytes(b, policy=email.policy.compat32) for b in blocks if b]


def _address(value: str | None) -> str:
    """'rfc822; user@example.com' -> 'user@example.com'."""
    value = str(value or "").strip()
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip().strip("<>").strip()


def _header(msg: Message | None, name: str) -> str:
    if msg is None:
        return ""
    try:
        return " ".join(str(msg.get(name, "") or "").split())
    except Exception:  # noqa: BLE001 - a broken encoded-word must not stop the report
        return ""


def _original(report: Message) -> Message | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0] if isinstance(payload[0], Message) else None
            if isinstance(payload, Message):
                return payload
            raw = part.get_payload(decode=True)
            return email.message_from_bytes(raw if isinstance(raw, bytes) else b"",
                                            policy=email.policy.default)
    return None


def parse_report(raw: bytes) -> Parsed:
    """What a report says; kind "unparsed" (with a problem) when it is not one we can read."""
    try:
        return _parse(raw)
    except Exception as exc:  # noqa: BLE001 - a report must never crash the receiver
        log.info("unreadable report: %s", exc)
        return Parsed(BounceReport.Kind.UNPARSED, problem=f"{type(exc).__name__}: {exc}"[:200])


def _parse(raw: bytes) -> Parsed:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    subject = _header(msg, "Subject")[:500]
    verp = " ".join(_header(msg, h) for h in ("To", "Delivered-To", "X-Original-To",
                                               "Envelope-To", "X-Failed-Recipients"))
    if msg.get_content_type() != "multipart/report":
        return Parsed(BounceReport.Kind.UNPARSED, subject=subject, verp=verp,
                      problem="not a multipart/report")
    param = msg.get_param("report-type")
    report_type = (param if isinstance(param, str) else "").lower()
    original = _original(msg)
    parsed = Parsed(BounceReport.Kind.UNPARSED, subject=subject, verp=verp,
                    original_message_id=_header(original, "Message-ID"),
                    original_to=_address(_header(original, "To")))
    if original is not None:
        parsed.verp += " " + _header(original, "Return-Path") + " " + _header(original, "From")
    if report_type == "delivery-status":
        return _delivery_status(msg, parsed)
    if report_type == "feedback-report":
        return _feedback(msg, parsed)
    parsed.problem = f"report-type {report_type or '(none)'} not understood"
    return parsed


def _delivery_status(msg: Message, parsed: Parsed) -> Parsed:
    part = next((p for p in msg.walk() if p.get_content_type() == "message/delivery-status"),
                None)
    if part is None:
        parsed.problem = "no message/delivery-status part"
        return parsed
    for block in _fields(part):
        if not (block.get("Action") or block.get("Final-Recipient")):
            continue  # the per-message block
        parsed.recipients.append(Recipient(
            recipient=_address(block.get("Final-Recipient") or block.get("Original-Recipient")),
            action=str(block.get("Action", "")).strip().lower(),
            status=str(block.get("Status", "")).strip().split(" ")[0],
            diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split())[:1000]))
    if not parsed.recipients:
        parsed.problem = "no recipient in the delivery status"
        return parsed
    failed = [r for r in parsed.recipients if r.action == "failed"]
    if not failed:
        parsed.kind = BounceReport.Kind.DELAYED  # delayed, delivered, relayed, expanded
    elif any(r.status.startswith("5") for r in failed):
        parsed.kind = BounceReport.Kind.HARD
    elif any(r.status.startswith("4") for r in failed):
        parsed.kind = BounceReport.Kind.SOFT
    else:
        # Failed without a usable status: most MTAs mean permanent; trust the diagnostic.
        code = re.search(r"\b([245])\d\d\b", " ".join(r.diagnostic for r in failed))
        parsed.kind = (BounceReport.Kind.SOFT if code and code.group(1) == "4"
                       else BounceReport.Kind.HARD)
    return parsed


def _feedback(msg: Message, parsed: Parsed) -> Parsed:
    part = next((p for p in msg.walk() if p.get_content_type() == "message/feedback-report"),
                None)
    if part is None:
        parsed.problem = "no message/feedback-report part"
        return parsed
    blocks = _fields(part)
    fields = blocks[0] if blocks else None
    feedback_type = str(fields.get("Feedback-Type", "") if fields else "").strip().lower()
    parsed.feedback_type = feedback_type
    recipient = _address(fields.get("Original-Rcpt-To") if fields else "") or parsed.original_to
    parsed.recipients.append(Recipient(recipient=recipient, action="complaint"))
    if feedback_type in ("abuse", "fraud"):
        parsed.kind = BounceReport.Kind.COMPLAINT
    elif feedback_type:
        parsed.kind = BounceReport.Kind.DELAYED  # not-spam, virus, other: nothing to suppress
    else:
        parsed.problem = "feedback report without Feedback-Type"
    return parsed


# --- acting on a report ----------------------------------------------------------------------

def _identify(parsed: Parsed, envelope_to: list[str]) -> tuple[int | None, int | None]:
    for text in [*envelope_to, parsed.verp]:
        found = message_for_bounce_address(text)
        if found:
            message_id, contact_id = found
            return message_id, contact_id or outbox.contact_of(message_id) or None
    if parsed.original_message_id:
        found_row = outbox.by_header_message_id(parsed.original_message_id)
        if found_row:
            return found_row[0], found_row[1]
    # Last resort: the failed address itself, when exactly one contact holds it.
    for candidate in [r.recipient for r in parsed.recipients] + [parsed.original_to]:
        if "@" not in candidate:
            continue
        owners = list(Identity.objects.filter(kind=Identity.Kind.EMAIL,
                                              value__iexact=candidate.strip())
                      .values_list("contact_id", flat=True).distinct()[:2])
        if len(owners) == 1:
            return None, owners[0]
    return None, None


def soft_limit() -> tuple[int, dt.timedelta]:
    return (settings.TRACKING_SOFT_BOUNCE_LIMIT,
            dt.timedelta(days=settings.TRACKING_SOFT_BOUNCE_DAYS))


@transaction.atomic
def process_report(raw: bytes, envelope_to: list[str] | tuple = (), source: str = "") \
        -> BounceReport:
    """Parse one report, keep it, and suppress through the consent ledger when it says so."""
    parsed = parse_report(raw)
    message_id, contact_id = _identify(parsed, list(envelope_to))
    live = contact_id and Contact.objects.filter(pk=contact_id, erased_at__isnull=True).exists()
    first = parsed.recipients[0] if parsed.recipients else Recipient()
    report = BounceReport(
        kind=parsed.kind, message_id=message_id, contact_id=contact_id if live else None,
        recipient=(first.recipient or parsed.original_to)[:320], status=first.status[:16],
        diagnostic=first.diagnostic or parsed.feedback_type, subject=parsed.subject[:500],
        source=source[:16], problem=parsed.problem[:200],
        # Unread reports keep their bytes for a person to look at; the rest need not.
        raw=raw[:MAX_RAW] if parsed.kind == BounceReport.Kind.UNPARSED else b"")
    if contact_id and not live and Contact.objects.filter(pk=contact_id).exists():
        # About an erased person: the kind and status count, nothing names them.
        report.recipient = report.diagnostic = report.subject = report.problem = ""
        report.raw = b""
    report.save()
    if live:
        _act(report)
    return report


def _act(report: BounceReport) -> None:
    contact_id = report.contact_id
    if contact_id is None:  # only reports about a live contact are acted on
        return
    details = {"message_id": report.message_id, "status": report.status,
               "report_id": report.pk}
    kind = report.kind
    if kind == BounceReport.Kind.HARD:
        consent_port.record_bounce(contact_id, CHANNEL, True, details)
        report.suppressed = True
    elif kind == BounceReport.Kind.SOFT:
        consent_port.record_bounce(contact_id, CHANNEL, False, details)
        limit, window = soft_limit()
        since = timezone.now() - window
        recent = BounceReport.objects.filter(contact_id=contact_id,
                                             received_at__gte=since)
        already = recent.filter(suppressed=True).exclude(pk=report.pk).exists()
        count = recent.filter(kind=BounceReport.Kind.SOFT).count()
        if count >= limit and not already:
            consent_port.record_bounce(contact_id, CHANNEL, True,
                                       {**details, "soft_bounces": count,
                                        "days": window.days})
            report.suppressed = True
    elif kind == BounceReport.Kind.COMPLAINT:
        consent_port.record_complaint(contact_id, CHANNEL, details)
        report.suppressed = True
    if report.suppressed:
        report.save(update_fields=["suppressed"])
    if kind in (BounceReport.Kind.HARD, BounceReport.Kind.SOFT):
        outbox.mark_bounced(report.message_id, f"{report.status} {report.diagnostic}".strip(),
                            hard=kind == BounceReport.Kind.HARD)
        append_event(contact_id, "message.bounced",
                     {"message_id": report.message_id, "status": report.status,
                      "recipient": report.recipient, "hard": kind == BounceReport.Kind.HARD,
                      "suppressed": report.suppressed})
    elif kind == BounceReport.Kind.COMPLAINT:
        append_event(contact_id, "message.complained",
                     {"message_id": report.message_id})
