"""Confirmations leave through the outbound path: queued in the outbox, passed by the
OutboundGate only while a subscription waits for them, sent by the sender."""

from __future__ import annotations

from peyvand.base.actor import Actor
from peyvand.consent import delivery
from peyvand.consent.delivery import send_confirmation_email, send_confirmation_sms
from peyvand.consent.ledger import Change, append
from peyvand.contacts.actions import do_create_contact
from peyvand.mailcatcher.models import CaughtSms
from peyvand.messaging.models import OutboxMessage
from peyvand.messaging.system import queue_system_message
from peyvand.tracking.models import SmsSend
from tests.outbound import body


def sara():
    return do_create_contact(Actor.system("t"), {
        "first_name": "Sara", "language": "en", "email": "sara@example.com",
        "phone": "09121234567"})


def test_messaging_is_the_registered_outbound_path(db):
    assert delivery.OUTBOUND[:] == [queue_system_message]


def test_text_and_html_in_the_persons_language_through_the_gate(db, deliver):
    contact = sara()
    append(contact.pk, [Change("opt_in", "email", None)], source="form", actor_label="test")
    assert send_confirmation_email(contact, "https://x.example/consent/c/tok/", "en",
                                   title="Spring newsletter", key="k1")
    [sent] = deliver()
    assert sent["To"].addresses[0].addr_spec == "sara@example.com"
    assert sent["Subject"] == "Please confirm your subscription: Spring newsletter"
    assert "https://x.example/consent/c/tok/" in body(sent)
    html = body(sent, "html")
    assert 'dir="ltr"' in html and "Hello Sara," in html
    assert "https://x.example/consent/c/tok/" in html  # the link itself, not a tracked one
    assert sent.defects == [] and all(not p.defects for p in sent.walk())
    # Queued once per key: a retried task sends nothing new.
    assert send_confirmation_email(contact, "https://x.example/consent/c/tok/", "en", key="k1")
    assert OutboxMessage.objects.count() == 1
    assert send_confirmation_email(contact, "https://x.example/c/", "fa", key="k2")
    assert 'dir="rtl"' in body(deliver()[-1], "html")


def test_nothing_to_confirm_means_nothing_is_sent(db, deliver):
    contact = sara()
    assert send_confirmation_email(contact, "https://x.example/c/1/", "en", key="a")
    append(contact.pk, [Change("opt_in", "sms", None)], source="preferences",
           actor_label="test")  # proven already: no code to send
    assert send_confirmation_sms(contact, "code 123456", key="b")
    assert deliver() == []
    assert not CaughtSms.objects.exists()
    rows = {r.channel: r for r in OutboxMessage.objects.all()}
    assert {(c, r.state, r.gate_verdict, r.gate_reason) for c, r in rows.items()} == {
        ("email", "failed", "deny", "nothing_to_confirm"),
        ("sms", "failed", "deny", "nothing_to_confirm")}


def test_sms_code_goes_through_the_gateway_and_confirms_phone_calls_too(db, deliver):
    contact = sara()
    # A sign-up for phone calls only: the texted code proves the number for calls as well.
    append(contact.pk, [Change("opt_in", "phone", None)], source="form", actor_label="test")
    assert send_confirmation_sms(contact, "کد تأیید: ۱۲۳۴۵۶", key="c")
    assert deliver() == []  # no e-mail
    sms = CaughtSms.objects.get()
    assert (sms.to, sms.text) == ("+989121234567", "کد تأیید: ۱۲۳۴۵۶")  # no stop footer
    row = OutboxMessage.objects.get()
    assert (row.state, row.gate_reason) == ("sent", "confirmation")
    assert SmsSend.objects.get().message_id == row.pk  # delivery is followed


def test_unconfirmed_people_get_nothing_but_the_confirmation(db, deliver):
    from peyvand.messaging.gate import check_outbound

    contact = sara()
    append(contact.pk, [Change("opt_in", "email", None)], source="form", actor_label="test")
    for message_class in ("marketing", "alert"):
        decision = check_outbound(contact.pk, "email", topic=None, message_class=message_class)
        assert (decision.verdict, decision.reason) == ("deny", "unconfirmed")
    decision = check_outbound(contact.pk, "email", topic=None, message_class="confirmation")
    assert (decision.verdict, decision.reason) == ("allow", "confirmation")
