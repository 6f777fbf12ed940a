"""The contact list: Persian-aware search, tag and custom-field filters, pagination,
empty states, and a query count that does not grow with the page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from peyvand.base.dates import format_date
from peyvand.contacts.fields import do_save_custom_field

pytestmark = pytest.mark.django_db


def _rows(response) -> list[int]:
    return [c.pk for c in response.context["page"].object_list]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_5_and_30_contacts(owner_client, make_contact):
    def add(start, stop):
        for i in range(start, stop):
            make_contact(first_name=f"Q{i}", phone=f"0912{i:07d}", tags=["vip", f"t{i % 3}"])

    add(0, 5)
    small = _queries(owner_client, "/contacts/")
    add(5, 30)
    large = _queries(owner_client, "/contacts/")
    assert small == large
    assert _queries(owner_client, "/contacts/?q=Q&tag=vip") == \
        _queries(owner_client, "/contacts/?q=Q&tag=vip&page=2")


def test_search_matches_arabic_yeh_and_persian_digits(owner_client, make_contact):
    ali = make_contact(first_name="علی", last_name="رضایی", phone="+989121112233")
    make_contact(first_name="Sara", phone="09351234567")
    assert _rows(owner_client.get("/contacts/", {"q": "علي"})) == [ali.pk]
    assert _rows(owner_client.get("/contacts/", {"q": "۰۹۱۲۱۱۱"})) == [ali.pk]
    html = owner_client.get("/contacts/", {"q": "علي"}).content.decode()
    # The number is isolated so RTL text cannot reorder it.
    assert '<bdi dir="ltr">+989121112233</bdi>' in html


def test_filter_by_tag(owner_client, make_contact):
    vip = make_contact(tags=["vip"])
    make_contact(tags=["lead"])
    response = owner_client.get("/contacts/", {"tag": "vip"})
    assert _rows(response) == [vip.pk]
    assert '<option value="vip" selected>' in response.content.decode()


@pytest.mark.parametrize("language,typed", [("fa", "1403/02/12"), ("fa", "۱۴۰۳/۰۲/۱۲"),
                                            ("en", "2024-05-01")])
def test_filter_by_date_field_in_the_users_calendar(client_for, make_contact, language, typed):
    client = client_for("owner", language)
    do_save_custom_field(client.actor, key="joined", label_fa="عضویت", label_en="Joined",
                         type="date")
    early = make_contact(fields={"joined": "2024-05-01"})
    make_contact(fields={"joined": "2024-06-01"})
    response = client.get("/contacts/", {"field": "joined", "op": "eq", "value": typed})
    assert _rows(response) == [early.pk]
    later = client.get("/contacts/", {"field": "joined", "op": "gt", "value": typed})
    assert len(_rows(later)) == 1 and _rows(later) != [early.pk]


def test_filter_by_number_and_empty(owner_client, make_contact):
    do_save_custom_field(owner_client.actor, key="orders", label_fa="سفارش", label_en="Orders",
                         type="number")
    many = make_contact(fields={"orders": "12"})
    make_contact(fields={"orders": "2"})
    none = make_contact()
    assert _rows(owner_client.get("/contacts/", {"field": "orders", "op": "gte",
                                                 "value": "۱۰"})) == [many.pk]
    assert _rows(owner_client.get("/contacts/", {"field": "orders", "op": "empty"})) == [none.pk]


def test_a_bad_filter_value_is_explained_next_to_the_value(owner_client, make_contact):
    do_save_custom_field(owner_client.actor, key="joined", label_fa="عضویت", label_en="Joined",
                         type="date")
    make_contact(fields={"joined": "2024-05-01"})
    response = owner_client.get("/contacts/", {"field": "joined", "value": "someday"})
    assert response.status_code == 200
    assert "value" in response.context["form"].errors
    assert _rows(response) == []


def test_a_condition_the_field_cannot_take_is_explained_next_to_it(owner_client, make_contact):
    do_save_custom_field(owner_client.actor, key="orders", label_fa="سفارش", label_en="Orders",
                         type="number")
    make_contact(fields={"orders": "12"})
    response = owner_client.get("/contacts/", {"field": "orders", "op": "contains", "value": "1"})
    assert response.status_code == 200
    [message] = response.context["form"].errors["op"]
    assert "Orders" in message and "more than" in message  # the field, and what it can take
    assert _rows(response) == []


def test_pagination_keeps_filters(owner_client, make_contact):
    for i in range(30):
        make_contact(first_name=f"Page{i}", tags=["vip"])
    make_contact(first_name="Page-not-vip")
    first = owner_client.get("/contacts/", {"q": "page", "tag": "vip"})
    assert len(_rows(first)) == 25
    html = first.content.decode()
    assert "?q=page&amp;tag=vip&amp;page=2" in html
    second = owner_client.get("/contacts/", {"q": "page", "tag": "vip", "page": "2"})
    assert len(_rows(second)) == 5
    assert not set(_rows(first)) & set(_rows(second))
    # Persian digits in the page number work too.
    assert _rows(owner_client.get("/contacts/", {"q": "page", "tag": "vip", "page": "۲"})) \
        == _rows(second)


def test_empty_states(owner_client, client_for, make_contact):
    html = owner_client.get("/contacts/").content.decode()
    assert "No contacts yet" in html and "/contacts/new/" in html
    analyst_html = client_for("analyst").get("/contacts/").content.decode()
    assert "No contacts yet" in analyst_html and "/contacts/new/" not in analyst_html
    make_contact(first_name="Somebody")
    html = owner_client.get("/contacts/", {"q": "nobody-by-this-name"}).content.decode()
    assert "Nothing matches" in html and "No contacts yet" not in html


def test_list_shows_added_date_in_the_users_calendar(client_for, make_contact):
    contact = make_contact()
    day = timezone.localtime(contact.created_at).date()
    fa = client_for("owner", "fa").get("/contacts/").content.decode()
    en = client_for("support", "en").get("/contacts/").content.decode()
    assert format_date(day, "fa") in fa  # Jalali, Persian digits
    assert day.isoformat() in en
