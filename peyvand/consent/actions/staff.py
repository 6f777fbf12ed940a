"""Staff changes: reduce only, and mailing a person their preference link."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import ascii_digits, normalise_text
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.consent import ledger
from peyvand.consent.actions.common import (
    FREQUENCY_ORDER,
    PAUSE_WEEKS,
    ConsentInvalid,
    ConsentRefused,
)
from peyvand.consent.actions.preferences import current_states
from peyvand.consent.ledger import Change
from peyvand.consent.models import (
    Action,
    Channel,
    ConsentChange,
    Format,
    Frequency,
    LinkReason,
    LinkSent,
    Source,
    Status,
    SuppressionReason,
    Topic,
)
from peyvand.contacts.models import Contact, Identity
from peyvand.contacts.timeline import append_event

# --- staff: reduce only --------------------------------------------------------------------------

STAFF_ACTIONS = ("opt_out", "pause", "preference_change")


def _refuse(message: str, field_name: str = "action") -> ConsentRefused:
    return ConsentRefused(message, field_name)


@transaction.atomic
def do_staff_change(actor: Actor, contact: Contact, raw: dict[str, Any]) -> ConsentChange:
    """A staff member records a change a person asked for (by phone, in the shop, …).

    Only toward less contact: an opt-out, a (longer) pause, a lower frequency or another
    format. Consent is never added back for someone; that is the person's own act.
    """
    require(actor, "consent.reduce")
    if contact.erased_at:
        raise ConsentInvalid({"contact": _("This contact was erased and cannot be changed.")})
    action = str(raw.get("action") or "")
    channel = str(raw.get("channel") or "")
    if action in ("opt_in", "confirm", "resume"):
        raise _refuse(_("Staff may only reduce contact. Subscribing someone, confirming or "
                        "resuming for them is the person's own act: send them the sign-up "
                        "form or their preference link."))
    if action not in STAFF_ACTIONS:
        raise _refuse(_("Choose one of: %(choices)s.") % {"choices": ", ".join(STAFF_ACTIONS)})
    if channel not in Channel.values:
        raise _refuse(_("Choose one of: %(choices)s.") % {"choices": ", ".join(Channel.values)},
                      "channel")
    topic = None
    if raw.get("topic"):
        topic = Topic.objects.filter(key=str(raw["topic"])).first()
        if topic is None:
            raise _refuse(_("There is no topic “%(key)s”.") % {"key": raw["topic"]}, "topic")
    states = current_states(contact.pk)
    row = states.get((channel, topic.pk if topic else None))
    note = normalise_text(str(raw.get("note") or ""))[:500]
    details: dict[str, Any] = {"reason": "staff", "via": actor.via}
    if note:
        details["note"] = note
    if action == "opt_out":
        if row is not None and row.status == Status.OUT:
            raise _refuse(_("Already unsubscribed: nothing to reduce."))
    elif row is None or row.status == Status.OUT:
        raise _refuse(_("There is no subscription here to change."))
    elif action == "pause":
        if topic is not None:
            raise _refuse(_("Pauses apply to a whole channel."), "topic")
        until = _pause_until(raw)
        if row.paused_until and until <= row.paused_until:
            raise _refuse(_("A pause can only be made longer by staff; ending it early is the "
                            "person's own act."), "paused_until")
        details["paused_until"] = until.isoformat()
    else:  # preference_change
        frequency = str(raw.get("frequency") or "")
        fmt = str(raw.get("format") or "")
        if not frequency and not fmt:
            raise _refuse(_("Give a frequency or a format."), "frequency")
        if frequency:
            if frequency not in Frequency.values:
                raise _refuse(_("Choose one of: %(choices)s.")
                              % {"choices": ", ".join(Frequency.values)}, "frequency")
            if topic is None:
                raise _refuse(_("Frequencies are chosen per topic."), "topic")
            current = row.frequency or Frequency.WEEKLY
            if FREQUENCY_ORDER.index(frequency) <= FREQUENCY_ORDER.index(current):
                raise _refuse(_("Staff may only make messages less frequent (now: %(now)s).")
                              % {"now": Frequency(current).label}, "frequency")
            details["frequency"] = frequency
        if fmt:
            if fmt not in Format.values or channel != Channel.EMAIL or topic is not None:
                raise _refuse(_("A format is chosen for the e-mail channel: html or text."),
                              "format")
            details["format"] = fmt
    if action == "pause":
        changes = [Change(Action.PAUSE, channel, None, details)]
    else:
        changes = [Change(action, channel, topic.pk if topic else None, details)]
    rows = ledger.append(contact, changes, source=Source.STAFF, actor_label=actor.label,
                         actor=actor)
    record_audit(actor, "consent.reduce", target_type="contact", target_id=contact.pk,
                 summary=f"{action} {channel}{'/' + topic.key if topic else ''}",
                 details={k: v for k, v in details.items() if k != "note"} | {
                     "action": action, "channel": channel,
                     "topic": topic.key if topic else None})
    return rows[0]


# At most this many preference links mailed by staff to one person a day.
LINKS_PER_DAY = 3


def mask_address(address: str) -> str:
    """a•••@example.com: enough for staff to recognise which address, not to copy it."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


@transaction.atomic
def do_send_preference_link(actor: Actor, contact: Contact) -> LinkSent:
    """Mail the person their own preference link, at their request (by phone, in the shop).

    Staff never see the link: it goes to the person's e-mail address through the outbound
    path, and whatever is changed through it is recorded as the person's act, through a link
    this member of staff had sent."""
    require(actor, "consent.send_link")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased_at:
        raise ConsentInvalid({"contact": _("This contact was erased and cannot be changed.")})
    from peyvand.consent.delivery import primary_address

    address = primary_address(contact, Identity.Kind.EMAIL)
    if not address:
        raise _refuse(_("This person has no e-mail address to send the link to."), "contact")
    states = current_states(contact.pk)
    email = states.get((Channel.EMAIL, None))
    if email is not None and email.suppression in (SuppressionReason.HARD_BOUNCE,
                                                   SuppressionReason.COMPLAINT):
        raise _refuse(_("Their e-mail address bounced or they marked our mail as spam: no "
                        "e-mail goes to it."), "contact")
    if not any(row.status != Status.OUT for (_c, topic_id), row in states.items()
               if topic_id is None):
        raise _refuse(_("This person is not subscribed to anything, so there is nothing to "
                        "change. To come back, they sign up again through a form."), "contact")
    since = timezone.now() - dt.timedelta(days=1)
    if LinkSent.objects.filter(contact=contact, reason=LinkReason.STAFF,
                               created_at__gte=since).count() >= LINKS_PER_DAY:
        raise _refuse(_("Their preference link was sent %(count)d times today already.")
                      % {"count": LINKS_PER_DAY}, "contact")
    sent = LinkSent.objects.create(contact=contact, nonce=secrets.token_urlsafe(16),
                                   reason=LinkReason.STAFF, sent_by=actor.label)
    from peyvand.consent.links import sent_preferences_url
    from peyvand.consent.tasks import send_preference_link_task

    link = sent_preferences_url(contact.pk, sent.nonce)
    language, key = contact.language, f"prefs-link:{sent.pk}"
    enqueue_on_commit(send_preference_link_task, contact.pk, link, language, address, key)
    masked = mask_address(address)
    record_audit(actor, "consent.send_link", target_type="contact", target_id=contact.pk,
                 summary=_("Preference link sent to %(address)s") % {"address": masked},
                 details={"to": masked})
    append_event(contact.pk, "consent.link_sent", {"to": masked}, actor=actor)
    return sent


def _pause_until(raw: dict[str, Any]) -> dt.datetime:
    weeks = raw.get("weeks")
    if weeks not in (None, ""):
        try:
            weeks = int(ascii_digits(str(weeks)))
        except ValueError:
            weeks = 0
        if weeks not in PAUSE_WEEKS:
            raise _refuse(_("Choose 2, 4, 8 or 12 weeks."), "weeks")
        return timezone.now() + dt.timedelta(weeks=weeks)
    raise _refuse(_("Say for how many weeks: 2, 4, 8 or 12."), "weeks")
