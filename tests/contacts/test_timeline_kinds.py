"""Timeline kinds are worded by the app that owns them, and only by it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from peyvand.contacts.timeline import append_event, event_kind, kind_label, register_kind

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "failed", "sms_failed"), [
    ("en", "Message failed", "SMS not delivered"),
    ("fa", "ارسال پیام ناموفق بود", "پیامک تحویل نشد"),
])
def test_a_failed_email_is_not_called_an_undelivered_sms(client_for, make_contact, language,
                                                         failed, sms_failed):
    # The bug: tracking re-registered message.failed, so every failed e-mail read as SMS.
    contact = make_contact()
    append_event(contact.pk, "message.failed", {"channel": "email", "reason": "550 no such user"})
    html = client_for("owner", language).get(f"/contacts/{contact.pk}/").content.decode()
    assert failed in html
    assert sms_failed not in html
    append_event(contact.pk, "message.failed", {"channel": "sms", "gateway": "catcher"})
    html = client_for("owner", language, username="again").get(
        f"/contacts/{contact.pk}/").content.decode()
    assert failed in html and sms_failed in html


def test_each_kind_has_the_owner_that_writes_it():
    owners = {kind: event_kind(kind).owner for kind in (  # type: ignore[union-attr]
        "contact.created", "order.placed", "consent.opt_out", "message.sent", "message.failed",
        "message.bounced", "message.opened", "message.delivered")}
    assert owners == {"contact.created": "contacts", "order.placed": "commerce",
                      "consent.opt_out": "consent", "message.sent": "messaging",
                      "message.failed": "messaging", "message.bounced": "messaging",
                      "message.opened": "tracking", "message.delivered": "tracking"}


def test_a_second_owner_of_a_kind_is_refused():
    before = event_kind("message.failed")
    with pytest.raises(ImproperlyConfigured, match="belongs to 'messaging'"):
        register_kind("message.failed", "SMS not delivered", owner="tracking")
    assert event_kind("message.failed") == before


def test_the_owner_may_register_its_kind_again():
    register_kind("test.kind", "First", owner="contacts")
    register_kind("test.kind", "Second", owner="contacts")
    assert kind_label("test.kind") == "Second"
    assert kind_label("never.registered") == "never.registered"
