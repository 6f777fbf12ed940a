"""Export gives everything we hold about a person; erase removes it and keeps an anonymous row."""

from __future__ import annotations

import json

import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import (
    do_add_note,
    do_create_contact,
    do_erase_contact,
    do_export_contact,
)
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    FieldValue,
    Identity,
    Note,
    TimelineEvent,
)
from peyvand.contacts.queries import search_contacts
from peyvand.contacts.timeline import append_event, timeline_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(owner_actor, make_field):
    make_field("city")
    make_field("orders", "number")
    make_field("since", "date")
    make_field("wholesale", "boolean")
    contact = do_create_contact(owner_actor, {
        "first_name": "مریم", "last_name": "Karimi", "email": "maryam@example.com",
        "phone": "09131234567", "external_ids": [{"source": "shop", "id": "9"}],
        "birthday": "1368/05/20", "national_id": "0499370899", "tags": ["vip"],
        "fields": {"city": "اصفهان", "orders": "12.5", "since": "1400/01/01",
                   "wholesale": "no"}})
    do_add_note(owner_actor, contact, "prefers phone calls")
    append_event(contact.pk, "order.placed", {"total": 120000, "items": ["shoe"]})
    return Contact.objects.get(pk=contact.pk)


def test_export_contains_everything_and_is_json(owner_actor, person):
    data = do_export_contact(owner_actor, person)
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text) == data
    assert data["id"] == person.pk
    assert (data["first_name"], data["last_name"]) == ("مریم", "Karimi")
    assert data["birthday"] == "1989-08-11"
    assert data["national_id"] == "0499370899"
    assert data["emails"] == ["maryam@example.com"]
    assert data["phones"] == ["+989131234567"]
    assert data["external_ids"] == [{"source": "shop", "id": "9"}]
    assert data["tags"] == ["vip"]
    assert data["fields"] == {"city": "اصفهان", "orders": "12.5000", "since": "2021-03-21",
                              "wholesale": False}
    assert [n["body"] for n in data["notes"]] == ["prefers phone calls"]
    assert [e["kind"] for e in data["timeline"]] == ["order.placed", "note.added",
                                                     "contact.created"]
    assert data["timeline"][0]["data"] == {"total": 120000, "items": ["shoe"]}
    entry = AuditEntry.objects.get(action="contact.export")
    assert entry.target_id == str(person.pk) and entry.actor_label == "owner"


def test_erase_removes_personal_data_and_keeps_an_anonymous_row(owner_actor, person):
    kinds_before = list(timeline_for(person.pk).values_list("kind", "at"))
    do_erase_contact(owner_actor, person)
    contact = Contact.objects.get(pk=person.pk)
    assert contact.erased_at is not None
    assert (contact.first_name, contact.last_name, contact.national_id, contact.source,
            contact.birthday, contact.search_text) == ("", "", "", "", None, "")
    assert str(person.pk) in contact.display_name
    for model in (Identity, FieldValue, Note, ContactTag):
        assert not model.objects.filter(contact=contact).exists(), model
    events = list(timeline_for(contact.pk))
    assert events[0].kind == "contact.erased"
    assert [(e.kind, e.at) for e in events[1:]] == kinds_before
    assert all(e.data == {} and e.actor_label == "" for e in events)
    entry = AuditEntry.objects.get(action="contact.erase")
    assert entry.target_id == str(person.pk) and entry.actor_label == "owner"
    assert entry.details == {"timeline_entries": len(kinds_before)}
    # Nothing of the person is left to find.
    assert not search_contacts(owner_actor, q="Karimi").exists()
    assert not search_contacts(owner_actor, q="09131234567").exists()
    assert not search_contacts(owner_actor, include_erased=True, q="maryam").exists()
    assert search_contacts(owner_actor, include_erased=True).filter(pk=person.pk).exists()
    export = do_export_contact(owner_actor, contact)
    assert "maryam" not in json.dumps(export) and "Karimi" not in json.dumps(export)


def test_erase_is_idempotent(owner_actor, person):
    do_erase_contact(owner_actor, person)
    erased_at = Contact.objects.get(pk=person.pk).erased_at
    events = TimelineEvent.objects.filter(contact=person).count()
    do_erase_contact(owner_actor, person)
    do_erase_contact(owner_actor, Contact.objects.get(pk=person.pk))
    assert Contact.objects.get(pk=person.pk).erased_at == erased_at
    assert TimelineEvent.objects.filter(contact=person).count() == events
    assert AuditEntry.objects.filter(action="contact.erase").count() == 1


def test_an_erased_contacts_identities_are_free_for_a_new_contact(owner_actor, person):
    do_erase_contact(owner_actor, person)
    fresh = do_create_contact(owner_actor, {"email": "MARYAM@example.com",
                                            "phone": "09131234567",
                                            "external_ids": [{"source": "shop", "id": "9"}]})
    assert fresh.pk != person.pk
    assert Identity.objects.filter(contact=fresh).count() == 3
    assert list(search_contacts(owner_actor, q="maryam@example.com")) == [fresh]
