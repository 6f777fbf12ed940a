"""find_owners: one look-up for a batch of identity keys, the same answer on every database."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_create_contact, find_owners
from peyvand.contacts.models import Identity

pytestmark = pytest.mark.django_db


def test_owners_of_mixed_kinds_and_sources(system):
    ali = do_create_contact(system, {"email": "ali@example.com", "phone": "09123456789",
                                     "external_ids": [{"source": "shop", "id": "17"}]})
    sara = do_create_contact(system, {"email": "sara@example.com"})
    keys = [("email", "", "ali@example.com"), ("email", "", "sara@example.com"),
            ("email", "", "nobody@example.com"), ("phone", "", "+989123456789"),
            ("phone", "", "+989351234567"), ("external", "shop", "17"),
            ("external", "other", "17"), ("email", "", "ali@example.com")]
    assert find_owners(iter(keys)) == {
        ("email", "", "ali@example.com"): ali.pk,
        ("email", "", "sara@example.com"): sara.pk,
        ("phone", "", "+989123456789"): ali.pk,
        ("external", "shop", "17"): ali.pk,
    }


def test_no_keys_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert find_owners([]) == {}


def test_a_batch_is_one_query(system, django_assert_num_queries):
    do_create_contact(system, {"email": "u0@example.com"})
    keys = [("email", "", f"u{i}@example.com") for i in range(3000)]
    keys += [("phone", "", f"+98912{i:07d}") for i in range(3000)]
    with django_assert_num_queries(1):
        owners = find_owners(keys)
    assert owners == {("email", "", "u0@example.com"):
                      Identity.objects.get(value="u0@example.com").contact_id}
