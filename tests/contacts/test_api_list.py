"""GET /api/v1/contacts: search, filters, pages, and a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from peyvand.contacts.actions import do_create_contact, do_erase_contact

pytestmark = pytest.mark.django_db


def make_contacts(system, n: int, start: int = 0, **extra):
    return [do_create_contact(system, {
        "email": f"person{i}@example.com", "phone": f"0912{i:07d}", "first_name": f"P{i}",
        "tags": ["customer", f"t{i % 3}"], **extra}) for i in range(start, start + n)]


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {c["id"] for c in response.json()["items"]}


def test_search_normalises_letters_and_digits(api, system):
    ali = do_create_contact(system, {"first_name": "علی", "phone": "09123456789"})
    other = do_create_contact(system, {"first_name": "Maryam", "email": "m@example.com"})
    assert ids(api.get("/api/v1/contacts", {"q": "علي"})) == {ali.pk}  # Arabic yeh
    assert ids(api.get("/api/v1/contacts", {"q": "۰۹۱۲۳۴۵"})) == {ali.pk}  # Persian digits
    assert ids(api.get("/api/v1/contacts", {"q": "MARYAM"})) == {other.pk}
    assert ids(api.get("/api/v1/contacts")) == {ali.pk, other.pk}
    body = api.get("/api/v1/contacts", {"q": "علي"}).json()
    assert body["count"] == 1 and body["items"][0]["phones"] == ["+989123456789"]


def test_filter_by_tag_and_custom_field(api, system, size_field):
    small = do_create_contact(system, {"email": "s@example.com", "tags": ["vip"],
                                       "fields": {"size": 38}})
    large = do_create_contact(system, {"email": "l@example.com", "fields": {"size": "44"}})
    assert ids(api.get("/api/v1/contacts", {"tag": "vip"})) == {small.pk}
    assert ids(api.get("/api/v1/contacts", {"field": "size", "op": "gt", "value": "40"})) \
        == {large.pk}
    assert ids(api.get("/api/v1/contacts", {"field": "size", "value": "۳۸"})) == {small.pk}
    listed = api.get("/api/v1/contacts", {"tag": "vip"}).json()["items"][0]
    assert listed["fields"] == {"size": 38} and listed["tags"] == ["vip"]


def test_bad_filters_are_client_errors(api, size_field):
    unknown = api.get("/api/v1/contacts", {"field": "nope", "value": "1"})
    assert unknown.status_code == 400 and "field" in unknown.json()["errors"]
    not_a_number = api.get("/api/v1/contacts", {"field": "size", "op": "gt", "value": "big"})
    assert not_a_number.status_code == 400 and "fields.size" in not_a_number.json()["errors"]
    bad_op = api.get("/api/v1/contacts", {"field": "size", "op": "like", "value": "1"})
    assert bad_op.status_code == 422 and "op" in bad_op.json()["errors"]


def test_pages(api, system):
    made = make_contacts(system, 7)
    first = api.get("/api/v1/contacts", {"page_size": 3}).json()
    third = api.get("/api/v1/contacts", {"page_size": 3, "page": 3}).json()
    beyond = api.get("/api/v1/contacts", {"page_size": 3, "page": 9}).json()
    assert first["count"] == third["count"] == beyond["count"] == 7
    assert len(first["items"]) == 3 and len(third["items"]) == 1 and beyond["items"] == []
    # Newest first.
    assert first["items"][0]["id"] == made[-1].pk and third["items"][0]["id"] == made[0].pk
    assert api.get("/api/v1/contacts").json()["page_size"] == 50


@pytest.mark.parametrize("params", [{"page_size": 201}, {"page_size": 0}, {"page": 0},
                                    {"page": "x"}, {"page": 10**30}])
def test_page_limits(api, params):
    response = api.get("/api/v1/contacts", params)
    assert response.status_code == 422 and set(response.json()["errors"]) <= {"page",
                                                                               "page_size"}


def test_page_size_200_is_allowed(api):
    assert api.get("/api/v1/contacts", {"page_size": 200}).status_code == 200


def test_erased_contacts_are_not_listed(api, system):
    gone, kept = make_contacts(system, 2)
    do_erase_contact(system, gone)
    assert ids(api.get("/api/v1/contacts")) == {kept.pk}


def test_list_runs_a_fixed_number_of_queries(api, system, size_field):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/api/v1/contacts", {"page_size": 200})
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    api.get("/api/v1/contacts")  # first use of the token records last_used_at
    make_contacts(system, 5, fields={"size": 40})
    few, n_few = count_queries()
    make_contacts(system, 45, start=5, fields={"size": 41})
    many, n_many = count_queries()
    assert (n_few, n_many) == (5, 50)
    assert few == many
