"""Huey tasks of the permission floor: confirmations, notes to people already subscribed and
preference links are queued after what asked for them has committed, into the outbound path
(see delivery)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from peyvand.consent import delivery
from peyvand.contacts.models import Contact


@db_task(retries=3, retry_delay=60)
def send_confirmation_email_task(contact_id: int, link: str, language: str, to: str,
                                 title: str = "", key: str = "") -> bool:
    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if contact is None:
        return False
    return delivery.send_confirmation_email(contact, link, language, to=to, title=title,
                                            key=key)


@db_task(retries=3, retry_delay=60)
def send_confirmation_sms_task(contact_id: int, text: str, to: str, key: str = "",
                               notice: bool = False) -> bool:
    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if contact is None:
        return False
    return delivery.send_confirmation_sms(contact, text, to=to, key=key, notice=notice)


@db_task(retries=3, retry_delay=60)
def send_subscribed_notice_task(contact_id: int, link: str, language: str, to: str,
                                title: str = "", key: str = "") -> bool:
    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if contact is None:
        return False
    return delivery.send_preferences_email(contact, link, language, reason="subscribed",
                                           to=to, title=title, key=key)


@db_task(retries=3, retry_delay=60)
def send_preference_link_task(contact_id: int, link: str, language: str, to: str,
                              key: str) -> bool:
    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if contact is None:
        return False
    return delivery.send_preferences_email(contact, link, language, reason="staff", to=to,
                                           key=key)
