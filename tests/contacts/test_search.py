"""search_contacts: typed queries meet stored text through the same normalisation."""

from __future__ import annotations

import pytest

from peyvand.base.normalise import InvalidValue
from peyvand.contacts.actions import do_create_contact, do_tag_contacts
from peyvand.contacts.queries import search_contacts, with_identities

pytestmark = pytest.mark.django_db


def found(actor, **query) -> set[str]:
    return {c.first_name for c in search_contacts(actor, **query)}


@pytest.fixture
def people(owner_actor):
    return {
        "علی": do_create_contact(owner_actor, {"first_name": "علي", "last_name": "كاظمي",
                                               "phone": "09123456789",
                                               "email": "ali.kazemi@example.com"}),
        "Sara": do_create_contact(owner_actor, {"first_name": "Sara", "last_name": "Ahmadi",
                                                "email": "sara@shop.ir",
                                                "phone": "+989351112233"}),
        "مهسا": do_create_contact(owner_actor, {"first_name": "مهسا",
                                                "last_name": "نیک\u200cپور",
                                                "email": "mahsa@example.com"}),
    }


@pytest.mark.parametrize("q", ["علی", "علي", "  عَلي ", "کاظمی", "كاظمي", "علی کاظمی"])
def test_arabic_and_persian_spellings_find_each_other(owner_actor, people, q):
    assert found(owner_actor, q=q) == {"علی"}


@pytest.mark.parametrize("q", ["۰۹۱۲۳۴۵۶۷۸۹", "09123456789", "+98 912 345 6789",
                               "+989123456789", "٠٩١٢٣٤٥٦٧٨٩", "0912-345-6789", "9123456789",
                               "00989123456789", "۰۹۱۲۳۴۵"])
def test_every_way_of_writing_the_mobile_finds_it(owner_actor, people, q):
    assert found(owner_actor, q=q) == {"علی"}


@pytest.mark.parametrize("q, expected", [
    ("sara@shop", {"Sara"}), ("SHOP.IR", {"Sara"}), ("@example.com", {"علی", "مهسا"}),
    ("ali.kaz", {"علی"}), ("sara ahmadi", {"Sara"}), ("ahmadi sara", {"Sara"}),
    ("نیک پور", {"مهسا"}), ("نیک\u200cپور", {"مهسا"}), ("nobody", set()), ("", None),
])
def test_partial_emails_and_names(owner_actor, people, q, expected):
    assert found(owner_actor, q=q) == (expected if expected is not None else set(people))


def test_tag_filter_combines_with_the_query(owner_actor, people):
    do_tag_contacts(owner_actor, [people["Sara"].pk, people["مهسا"].pk], "مشتري")
    assert found(owner_actor, tag="مشتری") == {"Sara", "مهسا"}
    assert found(owner_actor, tag="مشتری", q="sara") == {"Sara"}
    assert found(owner_actor, tag="nope") == set()


def test_results_are_distinct_and_prefetchable(owner_actor, people, django_assert_num_queries):
    # Two phone conditions match one contact; it is still listed once.
    results = with_identities(search_contacts(owner_actor, q="+98 912 345 6789"))
    with django_assert_num_queries(3):
        rows = [(c.first_name, [i.value for i in c.identities.all()], list(c.tags.all()))
                for c in results]
    assert rows == [("علی", ["ali.kazemi@example.com", "+989123456789"], [])]


@pytest.fixture
def typed(owner_actor, make_field):
    make_field("city")
    make_field("orders", "number")
    make_field("since", "date")
    make_field("size", "choice", ["S", "M", "L"])
    make_field("wholesale", "boolean")
    rows = {
        "A": {"city": "Tehran", "orders": "1", "since": "1402/01/01", "size": "S",
              "wholesale": "yes"},
        "B": {"city": "Tabriz", "orders": "۱۰", "since": "1403/06/15", "size": "M",
              "wholesale": "no"},
        "C": {"city": "Shiraz", "orders": "25.5", "since": "2025-01-01"},
        "D": {},
    }
    for name, fields in rows.items():
        do_create_contact(owner_actor, {"first_name": name, "email": f"{name}@example.com",
                                        "fields": fields})


@pytest.mark.parametrize("field, op, value, expected", [
    ("city", "eq", "Tehran", {"A"}),
    ("city", "contains", "t", {"A", "B"}),
    ("city", "contains", "RAZ", {"C"}),
    ("city", "empty", "", {"D"}),
    ("orders", "eq", "10", {"B"}),
    ("orders", "eq", "۱۰٫۰", {"B"}),
    ("orders", "gt", "1", {"B", "C"}),
    ("orders", "gte", "10", {"B", "C"}),
    ("orders", "lt", "10", {"A"}),
    ("orders", "lte", "25.5", {"A", "B", "C"}),
    ("orders", "empty", "", {"D"}),
    ("since", "eq", "1403/06/15", {"B"}),
    ("since", "eq", "۱۴۰۲/۰۱/۰۱", {"A"}),
    ("since", "eq", "2023-03-21", {"A"}),
    ("since", "gt", "1403/01/01", {"B", "C"}),
    ("since", "gte", "1403/06/15", {"B", "C"}),
    ("since", "lt", "1403/10/12", {"A", "B"}),  # 1403/10/12 is 2025-01-01
    ("since", "lte", "1403/10/12", {"A", "B", "C"}),
    ("since", "empty", "", {"D"}),
    ("size", "eq", "M", {"B"}),
    ("size", "empty", "", {"C", "D"}),
    ("wholesale", "eq", "yes", {"A"}),
    ("wholesale", "eq", "خیر", {"B"}),
    ("wholesale", "empty", "", {"C", "D"}),
])
def test_custom_field_filters(owner_actor, typed, field, op, value, expected):
    assert found(owner_actor, field=field, op=op, value=value) == expected


def test_bad_filter_values_name_the_field(owner_actor, typed):
    with pytest.raises(InvalidValue) as exc:
        list(search_contacts(owner_actor, field="since", op="gt", value="1403/13/01"))
    assert exc.value.field == "fields.since"
    with pytest.raises(InvalidValue) as exc:
        list(search_contacts(owner_actor, field="orders", op="gt", value="many"))
    assert exc.value.field == "fields.orders"
    with pytest.raises(InvalidValue) as exc:
        list(search_contacts(owner_actor, field="nope", value="x"))
    assert exc.value.field == "field"
    assert "nope" in str(exc.value.message)


@pytest.mark.parametrize(("field", "op"), [("orders", "contains"), ("size", "gt"),
                                           ("wholesale", "lte"), ("since", "contains"),
                                           ("orders", "like")])
def test_a_condition_the_field_type_has_not_is_refused(owner_actor, typed, field, op):
    from django.utils import translation

    with pytest.raises(InvalidValue) as exc:
        list(search_contacts(owner_actor, field=field, op=op, value="1"))
    assert exc.value.field == "op"
    with translation.override("fa"), pytest.raises(InvalidValue) as exc:
        list(search_contacts(owner_actor, field=field, op=op, value="1"))
    assert "شرط" in str(exc.value.message)
