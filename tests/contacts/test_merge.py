"""Merging two contacts loses nothing: the survivor wins conflicts, blanks come from the other."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import (
    MERGE_RULE,
    ContactInvalid,
    contact_snapshot,
    do_add_note,
    do_create_contact,
    do_erase_contact,
    do_merge_contacts,
    merge_preview,
)
from peyvand.contacts.models import Contact, FieldValue, Identity, Note, TimelineEvent
from peyvand.contacts.queries import search_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(owner_actor, make_field):
    make_field("city")
    make_field("size", "choice", ["S", "M"])
    make_field("orders", "number")
    keep = do_create_contact(owner_actor, {
        "first_name": "Ali", "email": "ali@example.com", "tags": ["vip", "shared"],
        "fields": {"city": "Tehran", "orders": "3"}})
    other = do_create_contact(owner_actor, {
        "first_name": "Aly", "last_name": "Rezaei", "birthday": "1990-02-03",
        "national_id": "0499370899", "emails": ["ali.r@example.com"], "phone": "09121234567",
        "external_ids": [{"source": "shop", "id": "42"}], "tags": ["shared", "buyer"],
        "fields": {"city": "Shiraz", "size": "M"}})
    do_add_note(owner_actor, keep, "note on keep")
    do_add_note(owner_actor, other, "note on other")
    return Contact.objects.get(pk=keep.pk), Contact.objects.get(pk=other.pk)


def test_preview_reports_each_value_and_its_conflicts(pair):
    keep, other = pair
    rows = {r["field"]: r for r in merge_preview(keep, other)}
    assert rows["first_name"] == {"field": "first_name", "keep": "Ali", "other": "Aly",
                                  "result": "Ali", "conflict": True}
    assert rows["last_name"]["result"] == "Rezaei" and not rows["last_name"]["conflict"]
    assert rows["birthday"]["result"] == dt.date(1990, 2, 3)
    assert rows["fields.city"]["conflict"] and rows["fields.city"]["result"] == "Tehran"
    assert rows["fields.size"] == {"field": "fields.size", "keep": None, "other": "M",
                                   "result": "M", "conflict": False}
    assert not rows["fields.orders"]["conflict"]
    assert {r["field"] for r in rows.values() if r["conflict"]} == {"first_name", "fields.city"}
    assert "wins" in str(MERGE_RULE)


def test_merge_keeps_every_identity_tag_note_event_and_value(owner_actor, pair):
    keep, other = pair
    events_before = TimelineEvent.objects.count()
    other_id = other.pk
    result = do_merge_contacts(owner_actor, keep, [other])
    assert result.pk == keep.pk
    assert not Contact.objects.filter(pk=other_id).exists()
    keep.refresh_from_db()
    assert (keep.first_name, keep.last_name) == ("Ali", "Rezaei")
    assert keep.birthday == dt.date(1990, 2, 3) and keep.national_id == "0499370899"
    assert {(i.kind, i.source, i.value) for i in keep.identities.all()} == {
        ("email", "", "ali@example.com"), ("email", "", "ali.r@example.com"),
        ("phone", "", "+989121234567"), ("external", "shop", "42")}
    primaries = Identity.objects.filter(contact=keep, is_primary=True)
    assert sorted(primaries.values_list("value", flat=True)) == \
        ["+989121234567", "ali@example.com"]
    assert sorted(keep.tags.values_list("name", flat=True)) == ["buyer", "shared", "vip"]
    assert sorted(Note.objects.filter(contact=keep).values_list("body", flat=True)) == \
        ["note on keep", "note on other"]
    values = {fv.field.key: fv.value for fv in FieldValue.objects.filter(contact=keep)}
    assert values == {"city": "Tehran", "orders": 3, "size": "M"}
    # Every earlier event moved over, plus the merge itself.
    assert TimelineEvent.objects.count() == events_before + 1
    assert TimelineEvent.objects.filter(contact=keep).count() == events_before + 1
    merged = TimelineEvent.objects.get(contact=keep, kind="contact.merged")
    assert merged.data == {"merged_id": other_id, "conflicts": ["first_name", "fields.city"]}
    assert merged.actor_label == "owner"
    # The merged contact's names and addresses find the survivor.
    assert list(search_contacts(owner_actor, q="rezaei")) == [keep]
    assert list(search_contacts(owner_actor, q="09121234567")) == [keep]


def test_merge_audit_holds_the_merged_contacts_snapshot(owner_actor, pair):
    keep, other = pair
    snapshot = contact_snapshot(other)
    do_merge_contacts(owner_actor, keep, [other])
    entry = AuditEntry.objects.get(action="contact.merge")
    assert entry.target_type == "contact" and entry.target_id == str(keep.pk)
    assert entry.actor_label == "owner" and entry.via == "ui"
    assert entry.details["merged"] == snapshot
    assert entry.details["merged"]["emails"] == ["ali.r@example.com"]
    assert entry.details["merged"]["fields"] == {"city": "Shiraz", "size": "M"}
    resolution = {r["field"]: r for r in entry.details["resolution"]}
    assert resolution["birthday"]["result"] == "1990-02-03"
    json.dumps(entry.details)


def test_merging_a_contact_with_itself_is_refused(owner_actor, pair):
    keep, _other = pair
    with pytest.raises(ContactInvalid) as exc:
        do_merge_contacts(owner_actor, keep, [keep])
    assert "other" in exc.value.errors
    with pytest.raises(ContactInvalid):
        do_merge_contacts(owner_actor, keep, [])
    assert Contact.objects.count() == 2
    assert not AuditEntry.objects.filter(action="contact.merge").exists()


def test_erased_contacts_cannot_be_merged(owner_actor, pair):
    keep, other = pair
    do_erase_contact(owner_actor, other)
    with pytest.raises(ContactInvalid):
        do_merge_contacts(owner_actor, keep, [other])
    assert Contact.objects.filter(pk=other.pk).exists()


def test_merging_several_at_once(owner_actor):
    keep = do_create_contact(owner_actor, {"email": "k@example.com"})
    others = [do_create_contact(owner_actor, {"email": f"o{i}@example.com",
                                              "first_name": f"N{i}"}) for i in range(3)]
    do_merge_contacts(owner_actor, keep, others)
    keep.refresh_from_db()
    assert Contact.objects.count() == 1
    assert keep.first_name == "N0"  # the first blank-filler wins the later ones
    assert keep.identities.count() == 4
    assert AuditEntry.objects.filter(action="contact.merge").count() == 3
