"""do_update_contact: given values change, given lists replace, identities stay unique."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import (
    ContactInvalid,
    IdentityConflict,
    do_add_note,
    do_create_contact,
    do_erase_contact,
    do_tag_contacts,
    do_update_contact,
)
from peyvand.contacts.models import Contact, FieldValue, Identity
from peyvand.contacts.queries import search_contacts
from peyvand.contacts.timeline import timeline_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(owner_actor):
    return do_create_contact(owner_actor, {
        "first_name": "Ali", "emails": ["a1@example.com", "a2@example.com"],
        "phones": ["09121111111"], "tags": ["old", "keep"]})


def values(contact, kind):
    return sorted(Identity.objects.filter(contact=contact, kind=kind)
                  .values_list("value", flat=True))


def test_lists_replace_what_was_there(owner_actor, contact):
    changed = do_update_contact(owner_actor, contact, {
        "emails": ["A2@example.com", "a3@example.com"], "phones": ["۰۹۳۵۱۲۳۴۵۶۷"],
        "tags": ["keep", "new"]})
    assert values(contact, "email") == ["a2@example.com", "a3@example.com"]
    assert values(contact, "phone") == ["+989351234567"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["keep", "new"]
    assert "tags" in changed
    # Each kind keeps exactly one primary identity.
    for kind in ("email", "phone"):
        assert Identity.objects.filter(contact=contact, kind=kind, is_primary=True).count() == 1
    # The old addresses no longer find the contact; the new ones do.
    assert not search_contacts(owner_actor, q="a1@example.com").exists()
    assert list(search_contacts(owner_actor, q="0935 123 4567")) == [contact]


def test_changing_only_identities_is_recorded(owner_actor, contact):
    changed = do_update_contact(owner_actor, contact, {"emails": ["a9@example.com"]})
    assert "identities" in changed
    event = timeline_for(contact.pk).first()
    assert event.kind == "contact.updated" and "identities" in event.data["changed"]


def test_lists_not_given_are_left_alone(owner_actor, contact):
    changed = do_update_contact(owner_actor, contact, {"last_name": "رضائي"})
    assert changed == ["last_name"]
    assert Contact.objects.get(pk=contact.pk).last_name == "رضائی"
    assert values(contact, "email") == ["a1@example.com", "a2@example.com"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["keep", "old"]


def test_an_unchanged_update_writes_no_event(owner_actor, contact):
    before = timeline_for(contact.pk).count()
    assert do_update_contact(owner_actor, contact, {"first_name": "Ali"}) == []
    assert timeline_for(contact.pk).count() == before


def test_custom_fields_are_set_changed_and_cleared(owner_actor, contact, make_field):
    make_field("city")
    do_update_contact(owner_actor, contact, {"fields": {"city": "Tehran"}})
    assert do_update_contact(owner_actor, contact, {"fields": {"city": "Shiraz"}}) == \
        ["fields.city"]
    assert FieldValue.objects.get(contact=contact).text_value == "Shiraz"
    do_update_contact(owner_actor, contact, {"fields": {"city": ""}})
    assert not FieldValue.objects.filter(contact=contact).exists()


def test_attaching_another_contacts_identity_is_a_conflict(owner_actor, contact):
    other = do_create_contact(owner_actor, {"email": "other@example.com"})
    with pytest.raises(IdentityConflict) as exc:
        do_update_contact(owner_actor, contact, {"emails": ["OTHER@example.com"],
                                                 "first_name": "Changed"})
    assert exc.value.owner_id == other.pk
    assert exc.value.field == "email" and exc.value.value == "other@example.com"
    assert str(other.pk) in str(exc.value)
    # Nothing of the update stayed behind.
    assert values(contact, "email") == ["a1@example.com", "a2@example.com"]
    assert values(other, "email") == ["other@example.com"]
    assert Contact.objects.get(pk=contact.pk).first_name == "Ali"


def test_a_contact_keeps_at_least_one_email_or_mobile(owner_actor, contact):
    do_update_contact(owner_actor, contact, {"emails": []})
    assert values(contact, "email") == []
    with pytest.raises(ContactInvalid) as exc:
        do_update_contact(owner_actor, contact, {"phones": []})
    assert "email" in exc.value.errors
    assert values(contact, "phone") == ["+989121111111"]


def test_bad_values_change_nothing(owner_actor, contact):
    with pytest.raises(ContactInvalid) as exc:
        do_update_contact(owner_actor, contact, {"first_name": "Reza", "email": "nope"})
    assert set(exc.value.errors) == {"email"}
    assert Contact.objects.get(pk=contact.pk).first_name == "Ali"


def test_erased_contacts_cannot_be_changed(owner_actor, contact):
    do_erase_contact(owner_actor, contact)
    contact.refresh_from_db()
    with pytest.raises(ContactInvalid):
        do_update_contact(owner_actor, contact, {"first_name": "Back"})
    with pytest.raises(ContactInvalid):
        do_add_note(owner_actor, contact, "hello")
    assert do_tag_contacts(owner_actor, [contact.pk], "vip") == 0
    assert not contact.tags.exists()


def test_notes_are_validated(owner_actor, contact):
    with pytest.raises(ContactInvalid) as exc:
        do_add_note(owner_actor, contact, "   ")
    assert "body" in exc.value.errors
    with pytest.raises(ContactInvalid):
        do_add_note(owner_actor, contact, "x" * 10001)
    note = do_add_note(owner_actor, contact, " called ")
    assert note.body == "called" and note.author_label == "owner"
    assert timeline_for(contact.pk).first().data["note_id"] == note.pk


def test_tagging_many_contacts_counts_only_changes(owner_actor, contact):
    other = do_create_contact(owner_actor, {"email": "b@example.com"})
    assert do_tag_contacts(owner_actor, [contact.pk, other.pk], "keep") == 1
    assert do_tag_contacts(owner_actor, [contact.pk, other.pk], "keep") == 0
    assert do_tag_contacts(owner_actor, [contact.pk, other.pk], "keep", remove=True) == 2
    assert not other.tags.exists()
    with pytest.raises(ContactInvalid):
        do_tag_contacts(owner_actor, [contact.pk], "  ")
