"""SMS keywords (stop, resume) and replies arriving through a registered inbound gateway."""

from __future__ import annotations

import functools
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
from peyvand.contacts.timeline import append_event

MAX_REPLY = 1000  # characters of a reply kept on the timeline (an SMS is far shorter)

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
    """An SMS a person sent us: stop or resume words change their SMS consent; anything
    else from a known number is their reply (`_replied`).

    Returns what happened: "opted_out", "resumed", "not_resumed" (their last opt-out was not
    their own SMS), "unchanged", "replied" (not a keyword, from a contact's number),
    "ignored" (not a keyword, from a number we do not know, or empty) or "unknown" (a
    keyword from no number we know)."""
    keyword = parse_sms_keyword(text)
    try:
        phone = normalise_phone(sender, "from")
    except InvalidValue:
        return "unknown" if keyword else "ignored"
    owner = Identity.objects.filter(kind=Identity.Kind.PHONE, value=phone) \
        .values_list("contact_id", flat=True).first()
    if owner is None or Contact.objects.filter(pk=owner, erased_at__isnull=False).exists():
        return "unknown" if keyword else "ignored"
    if keyword is None:
        return _replied(owner, gateway, text)
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

def _replied(contact_id: int, gateway: str, text: str) -> str:
    """A person's answer: kept in their timeline ("sms.replied", emptied when they are
    erased, like every entry) and told to INBOUND_REPLY_HOOKS after commit, by length only:
    the words are theirs and go nowhere else, logs included."""
    words = normalise_text(str(text or "")).strip()[:MAX_REPLY]
    if not words:
        return "ignored"
    append_event(contact_id, "sms.replied", {"channel": Channel.SMS, "text": words,
                                             "gateway": gateway})
    from peyvand.consent.hooks import INBOUND_REPLY_HOOKS

    for hook in INBOUND_REPLY_HOOKS:
        transaction.on_commit(functools.partial(hook, contact_id, Channel.SMS, len(words)),
                              robust=True)
    return "replied"


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
