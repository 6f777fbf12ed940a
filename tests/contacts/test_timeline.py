"""A contact's timeline is one stream: newest first, and ties broken by insertion order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.contacts.actions import do_add_note, do_create_contact, do_update_contact
from peyvand.contacts.timeline import append_event, append_events, timeline_for

pytestmark = pytest.mark.django_db


def test_newest_first_whatever_order_events_arrive_in(owner_actor):
    contact = do_create_contact(owner_actor, {"email": "t@example.com"})
    now = timezone.now()
    old = append_event(contact.pk, "order.placed", {"n": 1}, at=now - dt.timedelta(days=3))
    new = append_event(contact.pk, "email.opened", {}, at=now + dt.timedelta(hours=1))
    mid = append_event(contact.pk, "order.placed", {"n": 2}, at=now - dt.timedelta(days=1))
    created = contact.timeline.get(kind="contact.created")
    assert list(timeline_for(contact.pk)) == [new, created, mid, old]


def test_events_at_the_same_moment_are_ordered_by_id(owner_actor):
    contact = do_create_contact(owner_actor, {"email": "t@example.com"})
    at = timezone.now() - dt.timedelta(days=1)
    same = [append_event(contact.pk, f"kind.{i}", at=at) for i in range(4)]
    stream = [e for e in timeline_for(contact.pk) if e.at == at]
    assert stream == list(reversed(same))


def test_every_floor_writes_into_the_same_stream_and_kinds_filter_it(owner_actor):
    contact = do_create_contact(owner_actor, {"email": "t@example.com"})
    do_add_note(owner_actor, contact, "hello")
    do_update_contact(owner_actor, contact, {"first_name": "Mina"})
    append_event(contact.pk, "campaign.sent", {"campaign": 5})
    kinds = [e.kind for e in timeline_for(contact.pk)]
    assert kinds == ["campaign.sent", "contact.updated", "note.added", "contact.created"]
    assert [e.kind for e in timeline_for(contact.pk, kinds=["note.added", "campaign.sent"])] \
        == ["campaign.sent", "note.added"]
    assert timeline_for(contact.pk).get(kind="note.added").actor_label == "owner"
    other = do_create_contact(owner_actor, {"email": "u@example.com"})
    assert [e.kind for e in timeline_for(other.pk)] == ["contact.created"]


def test_tagging_writes_a_timeline_entry_only_where_something_changed(owner_actor):
    from peyvand.contacts.actions import do_tag_contacts, do_upsert_contact
    from peyvand.contacts.models import TimelineEvent

    a = do_upsert_contact(owner_actor, {"email": "a@example.com", "tags": ["vip"]}).contact
    b = do_upsert_contact(owner_actor, {"email": "b@example.com"}).contact
    assert do_tag_contacts(owner_actor, [a.pk, b.pk], "vip") == 1
    assert list(TimelineEvent.objects.filter(kind="tag.added").values_list(
        "contact_id", flat=True)) == [b.pk]
    assert do_tag_contacts(owner_actor, [a.pk, b.pk], "vip") == 0
    assert do_tag_contacts(owner_actor, [a.pk, b.pk], "other", remove=True) == 0
    assert not TimelineEvent.objects.filter(kind="tag.removed").exists()


def test_append_events_stores_what_append_event_would(owner_actor):
    contact = do_create_contact(owner_actor, {"email": "t@example.com"})
    at = timezone.now() - dt.timedelta(hours=2)
    data = {"outbox": 7, "reason": "۵۵۰ صندوق پر است", "nested": {"a": [1, None, True]}}
    one = append_event(contact.pk, "message.failed", data, at=at)
    append_events([(contact.pk, "message.failed", at, data),
                   (contact.pk, "message.sent", at + dt.timedelta(seconds=1), {})])
    append_events([])  # nothing to write is fine
    stored = list(timeline_for(contact.pk, kinds=["message.failed", "message.sent"]))
    assert [e.kind for e in stored] == ["message.sent", "message.failed", "message.failed"]
    twin = stored[1]
    assert twin.pk != one.pk
    assert (twin.at, twin.data, twin.actor_label) == (one.at, one.data, one.actor_label)
