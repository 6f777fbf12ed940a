import pytest

from peyvand.contacts.actions import do_upsert_contact
from peyvand.contacts.queries import search_contacts


@pytest.mark.django_db
def test_upsert_and_search(owner_actor):
    r = do_upsert_contact(owner_actor, {"email": "Ali@Example.COM", "first_name": "علي",
                                        "phone": "۰۹۱۲۳۴۵۶۷۸۹"})
    assert r.created
    again = do_upsert_contact(owner_actor, {"phone": "+989123456789"})
    assert not again.created and again.contact.pk == r.contact.pk
    assert list(search_contacts(owner_actor, q="علی")) == [r.contact]
    assert list(search_contacts(owner_actor, q="۰۹۱۲۳۴۵")) == [r.contact]
