"""F7: who may be reached and has not been, for N days (issue 18, item 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.consent.ledger import Change, append
from peyvand.contacts.actions import do_add_note, do_create_contact
from peyvand.contacts.models import Contact
from peyvand.journeys.forgotten import forgotten
from peyvand.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def person(name: str, *, consent: tuple[str, ...] = ("email",), phone: bool = False,
           age_days: int = 200):
    raw = {"first_name": name, "email": f"{name.lower()}@example.com"}
    if phone:
        raw["phone"] = "09121234567"
    contact = do_create_contact(SYSTEM, raw)
    Contact.objects.filter(pk=contact.pk).update(
        created_at=timezone.now() - dt.timedelta(days=age_days))
    if consent:
        append(contact.pk, [Change("opt_in", ch, None) for ch in consent],
               source="preferences", actor_label="test")
    return contact


def sent(contact, days_ago: int, channel: str = "email") -> None:
    OutboxMessage.objects.create(
        source=f"test:{contact.pk}:{days_ago}", contact=contact, channel=channel,
        to_address="x@example.com", message_class="marketing", state="sent",
        sent_at=timezone.now() - dt.timedelta(days=days_ago))


def test_who_may_be_reached_and_has_not_been():
    person("Quiet")  # agreed, never written to
    mailed = person("Mailed")
    sent(mailed, 10)
    long_ago = person("LongAgo")
    sent(long_ago, 120)
    noted = person("Noted")  # a staff member spoke with them
    do_add_note(SYSTEM, noted, "Called: happy with the last order")
    person("NoConsent", consent=())
    out = person("Out")
    append(out.pk, [Change("opt_out", "email", None)], source="preferences",
           actor_label="test")
    person("New", age_days=5)  # too new to be forgotten
    erased_id = person("Gone").pk
    from peyvand.contacts.actions import do_erase_contact

    do_erase_contact(SYSTEM, Contact.objects.get(pk=erased_id))
    assert set(forgotten(90).values_list("first_name", flat=True)) == {"Quiet", "LongAgo"}
    assert set(forgotten(150).values_list("first_name", flat=True)) == {"Quiet"}


def test_a_channel_needs_its_consent_and_its_address():
    sms_only = person("Sms", consent=("sms",), phone=True)
    no_phone = person("NoPhone", consent=("sms",))  # agreed to SMS, has no number
    assert set(forgotten(90, channel="sms").values_list("pk", flat=True)) == {sms_only.pk}
    assert no_phone.pk not in set(forgotten(90).values_list("pk", flat=True))
    sent(sms_only, 3, channel="sms")
    assert not forgotten(90, channel="sms").exists()
