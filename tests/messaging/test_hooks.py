"""Outbox rows follow a merged contact and lose their address when the contact is erased."""

from __future__ import annotations

from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import OutboxMessage


def test_merge_moves_rows_and_drops_a_second_copy(make_contact, template, owner_actor):
    from peyvand.contacts.actions import do_merge_contacts

    a = make_contact("a@example.com", tags=["vip"])
    b = make_contact("b@example.com", tags=["vip"])
    broadcast = do_create_broadcast(owner_actor, template("one"), "vip")  # both got it
    OutboxMessage.objects.create(source="other:1", contact=b, channel="email",
                                 to_address="b@example.com", message_class="marketing",
                                 state="sent")
    do_merge_contacts(owner_actor, a, [b])
    rows = OutboxMessage.objects.order_by("source")
    assert [(r.source, r.contact_id) for r in rows] == [(f"broadcast:{broadcast.pk}", a.pk),
                                                       ("other:1", a.pk)]


def test_erase_forgets_addresses_and_stops_unsent_rows(make_contact, template, owner_actor):
    from peyvand.contacts.actions import do_erase_contact

    contact = make_contact("gone@example.com", tags=["vip"])
    do_create_broadcast(owner_actor, template("one"), "vip")
    do_erase_contact(owner_actor, contact)
    row = OutboxMessage.objects.get()
    assert row.to_address == "" and row.state == "failed" and row.gate_reason == "erased"


def test_record_bounce_marks_the_row(make_contact):
    from peyvand.messaging.outbox import record_bounce

    contact = make_contact()
    row = OutboxMessage.objects.create(source="x:1", contact=contact, channel="email",
                                       to_address="a@example.com", message_class="marketing",
                                       state="sent")
    assert record_bounce(row.pk, "550 5.1.1 user unknown")
    row.refresh_from_db()
    assert row.state == "bounced" and row.smtp_reply.startswith("550")
    assert not record_bounce(row.pk + 1000, "x")
