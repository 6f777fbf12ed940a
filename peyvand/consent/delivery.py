"""How a message about a person's own subscription reaches them: consent writes it, the
outbound path sends it.

Consent sits below messaging, so it owns this small interface and messaging plugs its
outbox in at start-up (`register_outbound`). Each message then passes the OutboundGate and
the sender like any other: a double opt-in confirmation (class `confirmation`) only while a
subscription waits for it; a note to someone already subscribed, or the preference link
staff send at the person's request (class `transactional`: no consent is asked for a reply
to the person's own request), unless the address bounced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from peyvand.consent.models import Channel
from peyvand.contacts.models import Contact, Identity

log = logging.getLogger("peyvand.consent")


@dataclass(frozen=True)
class SystemMessage:
    """A message Peyvand writes itself, ready to queue."""

    contact_id: int
    channel: str  # Channel.EMAIL or Channel.SMS
    to: str
    key: str  # once per key: a retried task queues nothing new
    subject: str
    text: str
    html: str = ""
    # "confirmation" (double opt-in) or "transactional" (a reply to the person's request).
    message_class: str = "confirmation"


# The outbound path (messaging.system.queue_system_message), registered in its apps.ready().
OUTBOUND: list[Callable[[SystemMessage], bool]] = []


def register_outbound(send: Callable[[SystemMessage], bool]) -> None:
    if send not in OUTBOUND:
        OUTBOUND[:] = [send]


def _hand_over(message: SystemMessage) -> bool:
    if not OUTBOUND:
        log.error("no outbound path is installed: message to %s not sent", message.to)
        return False
    return OUTBOUND[0](message)


def primary_address(contact: Contact, kind: str) -> str:
    """The person's primary address of this kind (e-mail or mobile), or ""."""
    ident = (Identity.objects.filter(contact=contact, kind=kind)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    return ident or ""


def send_confirmation_email(contact: Contact, link: str, language: str, *, to: str = "",
                            title: str = "", key: str = "") -> bool:
    """Queue the double opt-in e-mail (text and HTML, in `language`); False when there is no
    address to send it to."""
    address = to or primary_address(contact, Identity.Kind.EMAIL)
    if not address:
        return False
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"link": link, "title": title, "name": contact.first_name,
                   "language": language, "rtl": language == "fa"}
        subject = _("Please confirm your subscription")
        if title:
            subject = f"{subject}: {title}"
        text = render_to_string("consent/email/confirm.txt", context)
        html = render_to_string("consent/email/confirm.html", context)
    return _hand_over(SystemMessage(contact.pk, Channel.EMAIL, address,
                                    key or f"confirm:{contact.pk}:{link[-40:]}", subject, text,
                                    html))


def send_confirmation_sms(contact: Contact, text: str, *, to: str = "", key: str = "",
                          notice: bool = False) -> bool:
    """Queue an SMS with the confirmation code; False when there is no number. `notice`:
    the number is subscribed already, the text says so (and carries the code all the same,
    so the page asking for it behaves as for anyone)."""
    number = to or primary_address(contact, Identity.Kind.PHONE)
    if not number:
        return False
    return _hand_over(SystemMessage(contact.pk, Channel.SMS, number,
                                    key or f"code:{contact.pk}:{text[-24:]}", "", text,
                                    message_class="transactional" if notice
                                    else "confirmation"))


# Why a preference link is mailed outside a message.
LINK_REASONS = ("subscribed", "staff")


def send_preferences_email(contact: Contact, link: str, language: str, *, reason: str,
                           to: str = "", title: str = "", key: str = "") -> bool:
    """Queue the e-mail that hands a person their preference link: `reason` "subscribed"
    (they signed up again and nothing needs confirming) or "staff" (they asked us for it).
    False when there is no address."""
    if reason not in LINK_REASONS:
        raise ValueError(f"reason must be one of {LINK_REASONS}")
    address = to or primary_address(contact, Identity.Kind.EMAIL)
    if not address:
        return False
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"link": link, "title": title, "name": contact.first_name,
                   "language": language, "rtl": language == "fa", "reason": reason}
        if reason == "subscribed":
            subject = _("You are already subscribed")
            if title:
                subject = f"{subject}: {title}"
        else:
            subject = _("Your link to change what you receive from us")
        text = render_to_string("consent/email/preferences.txt", context)
        html = render_to_string("consent/email/preferences.html", context)
    return _hand_over(SystemMessage(contact.pk, Channel.EMAIL, address,
                                    key or f"prefs:{contact.pk}:{link[-40:]}", subject, text,
                                    html, message_class="transactional"))
