"""Upsert: whatever form an e-mail or mobile arrives in, one person stays one contact."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import (
    IdentityConflict,
    apply,
    do_add_note,
    do_create_contact,
    do_upsert_contact,
    upsert,
)
from peyvand.contacts.models import Contact, Identity
from peyvand.contacts.queries import search_contacts
from peyvand.contacts.timeline import timeline_for


@pytest.mark.django_db
@pytest.mark.parametrize("first, again", [
    ({"email": "Ali@Example.COM"}, {"email": "ali@example.com"}),
    ({"email": "ali۱@example.com"}, {"emails": [" ALI1@EXAMPLE.COM "]}),
    ({"phone": "۰۹۱۲۳۴۵۶۷۸۹"}, {"phone": "+98 912 345 6789"}),
    ({"phone": "09123456789"}, {"phones": ["00989123456789"]}),
    ({"email": "a@example.com", "phone": "09123456789"}, {"phone": "9123456789"}),
    ({"email": "a@example.com", "phone": "09123456789"}, {"email": "A@example.com",
                                                          "phone": "٠٩١٢٣٤٥٦٧٨٩"}),
])
def test_same_email_or_mobile_is_the_same_contact(owner_actor, first, again):
    made = do_upsert_contact(owner_actor, {"first_name": "Ali", **first})
    found = do_upsert_contact(owner_actor, again)
    assert made.created and not found.created
    assert found.contact.pk == made.contact.pk
    assert found.merged_ids == []
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_upsert_fills_and_updates_but_never_wipes(owner_actor):
    made = do_upsert_contact(owner_actor, {"email": "a@example.com", "first_name": "Ali",
                                           "last_name": "Rezaei"})
    result = do_upsert_contact(owner_actor, {"email": "a@example.com", "first_name": "Ali",
                                             "last_name": "", "phone": "09123456789",
                                             "tags": ["newsletter"]})
    contact = Contact.objects.get(pk=made.contact.pk)
    assert contact.last_name == "Rezaei"
    assert set(contact.identities.values_list("value", flat=True)) == \
        {"a@example.com", "+989123456789"}
    assert list(contact.tags.values_list("name", flat=True)) == ["newsletter"]
    assert timeline_for(contact.pk).first().kind == "contact.updated"
    assert result.contact.pk == contact.pk
    # The mobile added by the upsert is searchable right away.
    assert list(search_contacts(owner_actor, q="0912 345 6789")) == [contact]


@pytest.mark.django_db
def test_identities_of_two_contacts_merge_into_the_oldest(owner_actor):
    old = do_create_contact(owner_actor, {"email": "sara@example.com"})
    new = do_create_contact(owner_actor, {"phone": "09351234567", "first_name": "Sara",
                                          "last_name": "Ahmadi"})
    do_add_note(owner_actor, new, "called about an order")
    result = do_upsert_contact(owner_actor, {"email": "SARA@example.com",
                                             "phone": "+989351234567", "source": "import"})
    assert not result.created
    assert result.contact.pk == old.pk
    assert result.merged_ids == [new.pk]
    assert list(Contact.objects.values_list("pk", flat=True)) == [old.pk]
    survivor = Contact.objects.get(pk=old.pk)
    assert set(survivor.identities.values_list("value", flat=True)) == \
        {"sara@example.com", "+989351234567"}
    assert survivor.first_name == "Sara" and survivor.last_name == "Ahmadi"
    assert survivor.notes.get().body == "called about an order"
    assert AuditEntry.objects.filter(action="contact.merge", target_id=str(old.pk)).exists()
    # The returned contact is the saved state and the merged name is searchable.
    assert result.contact.first_name == "Sara"
    assert list(search_contacts(owner_actor, q="ahmadi")) == [survivor]


@pytest.mark.django_db
def test_upsert_with_three_owners_keeps_only_the_oldest(owner_actor):
    a = do_create_contact(owner_actor, {"email": "a@example.com"})
    b = do_create_contact(owner_actor, {"phone": "09121111111"})
    c = do_create_contact(owner_actor, {"external_ids": [{"source": "shop", "id": "77"}],
                                        "email": "c@example.com"})
    result = do_upsert_contact(owner_actor, {
        "emails": ["a@example.com"], "phone": "09121111111",
        "external_ids": [{"source": "shop", "id": "77"}]})
    assert result.contact.pk == a.pk
    assert sorted(result.merged_ids) == [b.pk, c.pk]
    assert Contact.objects.count() == 1
    assert Identity.objects.filter(contact=a).count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_upserts_of_one_new_email_in_separate_transactions_make_one_contact(owner_actor):
    with transaction.atomic():
        first = do_upsert_contact(owner_actor, {"email": "new@example.com", "first_name": "A"})
    with transaction.atomic():
        second = do_upsert_contact(owner_actor, {"email": "NEW@example.com", "first_name": "B"})
    assert first.created and not second.created
    assert first.contact.pk == second.contact.pk
    assert Contact.objects.count() == 1
    assert Identity.objects.filter(value="new@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_racing_upsert_that_missed_the_identity_still_cannot_duplicate(owner_actor,
                                                                        monkeypatch):
    with transaction.atomic():
        first = do_upsert_contact(owner_actor, {"email": "race@example.com"})
    # The second request looked before the first committed: it sees no owner anywhere.
    for module in (upsert, apply):
        monkeypatch.setattr(module, "find_owners", lambda keys: {})
    with pytest.raises(IdentityConflict) as exc, transaction.atomic():
        do_upsert_contact(owner_actor, {"email": "race@example.com", "first_name": "Late"})
    assert exc.value.owner_id == first.contact.pk
    assert list(Contact.objects.values_list("pk", flat=True)) == [first.contact.pk]
    assert Contact.objects.get().first_name == ""


@pytest.mark.django_db(transaction=True)
def test_the_database_itself_refuses_a_second_owner_of_an_identity(owner_actor):
    contact = do_create_contact(owner_actor, {"email": "x@example.com"})
    other = Contact.objects.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Identity.objects.create(contact=other, kind="email", value="x@example.com")
    assert Identity.objects.get(value="x@example.com").contact_id == contact.pk
