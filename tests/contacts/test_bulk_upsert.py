"""contacts.actions.BulkUpsert: many people at once, each outcome said per item."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from peyvand.contacts.actions import (
    BulkItem,
    BulkUpsert,
    check_contact_data,
    do_upsert_contact,
)
from peyvand.contacts.models import Contact, ContactTag, CustomField, FieldValue, Tag
from peyvand.contacts.timeline import timeline_for

pytestmark = pytest.mark.django_db


def item(position: int, **raw) -> BulkItem:
    return BulkItem(position, check_contact_data(raw, require_identity=True))


def test_new_people_are_written_in_bulk_with_identities_tags_fields_and_timeline(
        owner_actor):
    plan = CustomField.objects.create(key="plan", label_fa="طرح", label_en="Plan", type="text")
    writer = BulkUpsert(owner_actor, source="import", fields=[plan], tags=True)
    done = writer.write([
        item(2, email="a@example.com", phone="09121234567", first_name="Ann", tags=["vip"]),
        BulkItem(3, check_contact_data({"email": "b@example.com"}, require_identity=True)),
    ])
    assert [o.created for o in done.outcomes] == [True, True]
    assert done.refused == [] and done.owners == {}
    ann = Contact.objects.get(pk=done.outcomes[0].contact_id)
    assert (ann.first_name, ann.source) == ("Ann", "import")
    assert sorted(ann.identities.values_list("value", flat=True)) == \
        ["+989121234567", "a@example.com"]
    assert "09121234567" in ann.search_text
    assert list(ContactTag.objects.filter(contact=ann).values_list("tag__name", flat=True)) \
        == ["vip"]
    [event] = timeline_for(ann.pk)
    assert (event.kind, event.actor_label, event.data) == \
        ("contact.created", owner_actor.label, {"source": "import"})
    assert writer.created_here(ann.pk)


def test_field_values_of_new_people(owner_actor):
    plan = CustomField.objects.create(key="plan", label_fa="طرح", label_en="Plan", type="text")
    writer = BulkUpsert(owner_actor, source="import", fields=[plan])
    data = check_contact_data({"email": "a@example.com"}, require_identity=True)
    data.fields = {"plan": "gold"}
    [outcome] = writer.write([BulkItem(1, data)]).outcomes
    assert FieldValue.objects.get(contact_id=outcome.contact_id).text_value == "gold"


def test_known_people_are_upserted_and_an_unchanged_one_is_not_written(owner_actor):
    known = do_upsert_contact(owner_actor, {"email": "k@example.com",
                                            "first_name": "Kay"}).contact
    writer = BulkUpsert(owner_actor, source="import")
    same = writer.write([item(1, email="k@example.com", first_name="Kay")])
    assert same.outcomes[0].contact_id == known.pk and not same.outcomes[0].created
    assert same.owners == {("email", "", "k@example.com"): known.pk}
    assert [e.kind for e in timeline_for(known.pk)] == ["contact.created"]
    writer.write([item(5, email="k@example.com", last_name="Karimi")])
    known.refresh_from_db()
    assert known.last_name == "Karimi"
    assert not writer.created_here(known.pk)


def test_the_first_item_of_a_session_wins_later_ones_fill_blanks(owner_actor):
    writer = BulkUpsert(owner_actor, source="import")
    [first] = writer.write([item(2, email="p@example.com", first_name="First")]).outcomes
    writer.write([item(9, email="p@example.com", first_name="Later", last_name="Filled")])
    person = Contact.objects.get(pk=first.contact_id)
    assert (person.first_name, person.last_name) == ("First", "Filled")


def test_an_item_linking_two_contacts_merges_them(owner_actor):
    a = do_upsert_contact(owner_actor, {"email": "a@example.com"}).contact
    b = do_upsert_contact(owner_actor, {"phone": "09121234567"}).contact
    writer = BulkUpsert(owner_actor, source="import")
    [outcome] = writer.write([item(1, email="a@example.com", phone="09121234567")]).outcomes
    assert outcome.contact_id == a.pk and not outcome.created
    assert not Contact.objects.filter(pk=b.pk).exists()


def test_refusals_are_said_per_item_in_the_order_they_were_refused(actor_for, owner_actor):
    support = actor_for("support")
    Tag.objects.create(name="vip")
    known = do_upsert_contact(owner_actor, {"email": "k@example.com"}).contact
    writer = BulkUpsert(support, source="import", tags=True)
    done = writer.write([
        item(1, email="k@example.com", tags=["new-for-known"]),
        item(2, email="n@example.com", tags=["brand-new"]),
        item(3, email="ok@example.com", tags=["vip"]),
    ])
    assert done.refused == [1, 0]  # new people are refused before known ones are upserted
    assert [o.contact_id is None for o in done.outcomes] == [True, True, False]
    assert "may not create tags" in done.outcomes[1].refused
    assert "new-for-known" in done.outcomes[0].refused
    assert not Tag.objects.filter(name__in=["brand-new", "new-for-known"]).exists()
    assert ContactTag.objects.filter(contact=known).count() == 0


def test_a_collision_with_an_identity_attached_meanwhile_takes_the_careful_way(
        owner_actor):
    existing = do_upsert_contact(owner_actor, {"email": "taken@example.com"}).contact
    writer = BulkUpsert(owner_actor, source="import")
    # The caller's look-up missed the owner, as if it attached the identity just after.
    done = writer.write([item(1, email="taken@example.com", first_name="T"),
                         item(2, email="free@example.com")], owners={})
    assert done.outcomes[0].contact_id == existing.pk and not done.outcomes[0].created
    assert done.outcomes[1].created
    assert done.owners == {("email", "", "taken@example.com"): existing.pk}
    existing.refresh_from_db()
    assert existing.first_name == "T"
    assert Contact.objects.count() == 2


def test_a_role_that_may_not_edit_contacts_cannot_start_a_session(actor_for):
    with pytest.raises(PermissionDenied):
        BulkUpsert(actor_for("analyst"), source="import")
