"""How consent reaches a person before any messaging exists: the confirmation e-mail and SMS.

A small interface this floor owns (messaging may later plug real gateways in behind it).
E-mail goes through django.core.mail (the local catcher, an SMTP relay, or locmem in tests);
SMS is recorded in the mail catcher until issue 5 brings real gateways.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from peyvand.contacts.models import Contact, Identity


def _primary(contact: Contact, kind: str) -> str:
    ident = (Identity.objects.filter(contact=contact, kind=kind)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    return ident or ""


def send_confirmation_email(contact: Contact, link: str, language: str, *, to: str = "",
                            title: str = "") -> bool:
    """Send the double opt-in e-mail (text and HTML, in `language`); False when there is no
    address to send it to."""
    address = to or _primary(contact, Identity.Kind.EMAIL)
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
    message = EmailMultiAlternatives(subject=subject, body=text, to=[address],
                                     from_email=settings.DEFAULT_FROM_EMAIL)
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def send_confirmation_sms(contact: Contact, text: str, *, to: str = "") -> bool:
    """Send an SMS with the confirmation code; for now it is kept in the mail catcher."""
    from peyvand.mailcatcher.models import CaughtSms

    number = to or _primary(contact, Identity.Kind.PHONE)
    if not number:
        return False
    CaughtSms.objects.create(to=number, text=text)
    return True
