"""SMS keywords (stop, resume) arriving through a registered inbound gateway."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.text import slugify
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_phone, normalise_text
from peyvand.base.roles import require
from peyvand.consent import ledger
from peyvand.consent.actions.common import ConsentInvalid
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Channel, ConsentState, SmsInbound, Source, Status
from peyvand.contacts.models import Contact, Identity

_STOP = {"11", "لغو", "stop", "لغو11", "11لغو"}
_RESUME = {"12"}


def parse_sms_keyword(text: str) -> str | None:
    """"stop" for «۱۱», «11», «لغو», STOP, «لغو ۱۱» (any digits, spacing, case), "resume" for
    «۱۲»/12, else None."""
    compact = re.sub(r"\s+", "", normalise_text(ascii_digits(str(text or ""))).casefold())
    if compact in _STOP:
        return "stop"
    if compact in _RESUME:
        return "resume"
    return None


def sms_gateway(token: str) -> str | None:
    """The name of the gateway a hook token belongs to, or None."""
    if not token:
        return None
    configured = settings.PEYVAND_SMS_INBOUND_TOKEN
    if configured and constant_time_compare(configured, token):
        return "default"
    row = SmsInbound.objects.filter(token=token, active=True).values_list("name", flat=True)
    return row.first()


@transaction.atomic
def do_sms_inbound(gateway: str, sender: str, text: str) -> str:
    """An SMS a person sent us: stop or resume words change their SMS consent.

    Returns what happened: "opted_out", "resumed", "not_resumed" (their last opt-out was not
    their own SMS), "unchanged", "ignored" (not a keyword) or "unknown" (no such number)."""
    keyword = parse_sms_keyword(text)
    if keyword is None:
        return "ignored"
    try:
        phone = normalise_phone(sender, "from")
    except InvalidValue:
        return "unknown"
    owner = Identity.objects.filter(kind=Identity.Kind.PHONE, value=phone) \
        .values_list("contact_id", flat=True).first()
    if owner is None:
        return "unknown"
    contact = Contact.objects.get(pk=owner)
    row = ConsentState.objects.filter(contact=contact, channel=Channel.SMS,
                                      topic__isnull=True).first()
    label = f"sms:{gateway}"
    keyword_text = normalise_text(str(text))[:40]
    if keyword == "stop":
        # Recorded even when already out: the proof that they asked.
        was_out = row is not None and row.status == Status.OUT
        ledger.append(contact, [Change(Action.OPT_OUT, Channel.SMS, None,
                                       {"reason": "sms_stop", "keyword": keyword_text})],
                      source=Source.SMS_KEYWORD, actor_label=label)
        return "unchanged" if was_out else "opted_out"
    if row is None or row.status != Status.OUT:
        return "unchanged"
    if row.out_source != Source.SMS_KEYWORD:
        return "not_resumed"
    ledger.append(contact, [Change(Action.RESUME, Channel.SMS, None, {"keyword": keyword_text})],
                  source=Source.SMS_KEYWORD, actor_label=label)
    return "resumed"

# --- SMS gateways -------------------------------------------------------------------------------

@transaction.atomic
def do_add_sms_gateway(actor: Actor, name: str) -> SmsInbound:
    """Register a gateway that posts incoming SMS; its secret URL token is made here."""
    require(actor, "sources.manage")
    name = slugify(name or "")[:64]
    if not name:
        raise ConsentInvalid({"name": _("Give the gateway a short Latin name, e.g. kavenegar.")})
    if SmsInbound.objects.filter(name=name).exists():
        raise ConsentInvalid({"name": _("A gateway with this name exists already.")})
    gateway = SmsInbound.objects.create(name=name, token=secrets.token_urlsafe(24))
    record_audit(actor, "consent.sms_gateway", target_type="sms_gateway", target_id=gateway.pk,
                 summary=name)
    return gateway
