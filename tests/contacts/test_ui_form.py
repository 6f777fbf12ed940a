"""Creating and editing contacts: dates in the user's calendar, typed custom fields, the
actions' errors next to their fields, and identity conflicts that offer a merge."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import pytest

from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, FieldValue

pytestmark = pytest.mark.django_db

BASE = {"language": "fa", "timezone": "Asia/Tehran"}


def _field_block(html: str, field_id: str) -> str:
    """The <div class="field"> that holds the input with this id."""
    start = html.rindex('<div class="field', 0, html.index(f'id="{field_id}"'))
    return html[start:html.index("</div>", html.index(f'id="{field_id}"'))]


@pytest.mark.parametrize("language,typed", [("fa", "1370/05/12"), ("fa", "۱۳۷۰/۰۵/۱۲"),
                                            ("en", "1991-08-03")])
def test_birthday_in_the_users_calendar_is_the_same_date(client_for, language, typed):
    client = client_for("owner", language)
    response = client.post("/contacts/new/", {**BASE, "first_name": "Dara",
                                              "emails": "dara@example.com", "birthday": typed})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.birthday == dt.date(1991, 8, 3)
    # Shown back the way this language types it.
    edit = client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    expected = "1370/05/12" if language == "fa" else "1991-08-03"
    assert f'value="{expected}"' in _field_block(edit, "id_birthday")


def test_new_contact_with_lists_tags_and_typed_custom_fields(owner_client):
    actor = owner_client.actor
    do_save_custom_field(actor, key="size", label_fa="اندازه", label_en="Size", type="choice",
                         choices="S\nM\nL")
    do_save_custom_field(actor, key="orders", label_fa="سفارش", label_en="Orders", type="number")
    do_save_custom_field(actor, key="joined", label_fa="عضویت", label_en="Joined", type="date")
    do_save_custom_field(actor, key="vip", label_fa="ویژه", label_en="VIP", type="boolean")
    do_save_custom_field(actor, key="city", label_fa="شهر", label_en="City", type="text")
    form = owner_client.get("/contacts/new/").content.decode()
    assert '<select name="field_size"' in form and '<option value="M">' in form
    assert '<select name="field_vip"' in form
    assert 'name="field_joined"' in form and 'placeholder="1991-08-03"' in form

    response = owner_client.post("/contacts/new/", {
        **BASE, "first_name": "Mina", "last_name": "Karimi",
        "emails": "mina@example.com\nMINA.K@example.com\n", "phones": "0912 345 6789",
        "national_id": "", "tags": "vip, لید، newsletter",
        "field_size": "M", "field_orders": "۱۲", "field_joined": "2024-05-01",
        "field_vip": "yes", "field_city": "شيراز"})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert sorted(contact.identities.values_list("value", flat=True)) == [
        "+989123456789", "mina.k@example.com", "mina@example.com"]
    assert sorted(t.name for t in contact.tags.all()) == ["newsletter", "vip", "لید"]
    values = {fv.field.key: fv.value for fv in FieldValue.objects.select_related("field")}
    assert values == {"size": "M", "orders": decimal.Decimal("12"),
                      "joined": dt.date(2024, 5, 1), "vip": True, "city": "شیراز"}

    edit = owner_client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    assert '<option value="yes" selected>' in edit
    assert 'value="12"' in _field_block(edit, "id_field_orders")


def test_errors_show_next_to_their_fields(owner_client):
    response = owner_client.post("/contacts/new/", {
        **BASE, "first_name": "X", "emails": "not-an-address", "phones": "12",
        "birthday": "2999-01-01", "timezone": "Mars/Base"})
    assert response.status_code == 200
    assert Contact.objects.count() == 0
    html = response.content.decode()
    for field_id in ("id_emails", "id_phones", "id_birthday", "id_timezone"):
        block = _field_block(html, field_id)
        assert 'class="field has-error"' in block and 'class="field-error"' in block, field_id
    assert "not-an-address" in _field_block(html, "id_emails")
    assert "cannot be in the future" in _field_block(html, "id_birthday")
    # What was typed is kept.
    assert "Mars/Base" in _field_block(html, "id_timezone")


def test_an_identity_is_required(owner_client):
    response = owner_client.post("/contacts/new/", {**BASE, "first_name": "Nobody"})
    assert "An e-mail address or a mobile number is required" in \
        _field_block(response.content.decode(), "id_emails")


def test_bad_custom_field_value_is_shown_on_that_field(owner_client):
    do_save_custom_field(owner_client.actor, key="orders", label_fa="سفارش",
                         label_en="Orders", type="number")
    response = owner_client.post("/contacts/new/", {**BASE, "emails": "a@example.com",
                                                    "field_orders": "many"})
    assert "is not a number" in _field_block(response.content.decode(), "id_field_orders")


def test_conflict_on_create_links_the_owner_and_can_add_to_it(owner_client, make_contact):
    existing = make_contact(first_name="Reza", email="reza@example.com")
    data = {**BASE, "first_name": "Reza", "last_name": "Ahmadi",
            "emails": "reza@example.com", "phones": "09121234567"}
    response = owner_client.post("/contacts/new/", data)
    html = response.content.decode()
    assert response.status_code == 200 and Contact.objects.count() == 1
    assert 'id="identity-conflict"' in html
    assert f'href="/contacts/{existing.pk}/"' in html
    assert "already belongs to another contact" in _field_block(html, "id_emails")
    assert 'name="into_existing"' in html

    response = owner_client.post("/contacts/new/", {**data, "into_existing": "1"})
    assert response["Location"] == f"/contacts/{existing.pk}/"
    assert Contact.objects.count() == 1
    existing.refresh_from_db()
    assert existing.last_name == "Ahmadi"
    assert existing.identities.filter(value="+989121234567").exists()


def test_conflict_on_edit_offers_the_merge_preview(owner_client, make_contact):
    mine = make_contact(first_name="Mine", email="mine@example.com")
    theirs = make_contact(first_name="Theirs", email="theirs@example.com")
    response = owner_client.post(f"/contacts/{mine.pk}/edit/", {
        **BASE, "first_name": "Mine", "emails": "mine@example.com\ntheirs@example.com"})
    html = response.content.decode()
    assert f'href="/contacts/{mine.pk}/merge/{theirs.pk}/"' in html
    assert not mine.identities.filter(value="theirs@example.com").exists()


def test_edit_replaces_lists_and_clears_values(owner_client, make_contact):
    do_save_custom_field(owner_client.actor, key="city", label_fa="شهر", label_en="City",
                         type="text")
    contact = make_contact(first_name="Old", email="old@example.com", tags=["a", "b"],
                           birthday="1991-08-03", fields={"city": "Tabriz"})
    response = owner_client.post(f"/contacts/{contact.pk}/edit/", {
        **BASE, "first_name": "New", "emails": "new@example.com", "tags": "b",
        "birthday": "", "field_city": ""})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "New" and contact.birthday is None
    assert list(contact.identities.values_list("value", flat=True)) == ["new@example.com"]
    assert [t.name for t in contact.tags.all()] == ["b"]
    assert not FieldValue.objects.filter(contact=contact).exists()
    timeline = owner_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert re.search(r"Contact updated</div>\s*<div class=\"detail\" dir=\"auto\">[^<]*First name",
                     timeline)


def test_edit_cannot_drop_every_identity(owner_client, make_contact):
    contact = make_contact(email="keep@example.com")
    response = owner_client.post(f"/contacts/{contact.pk}/edit/", {**BASE, "emails": ""})
    assert response.status_code == 200
    assert "Keep at least one" in _field_block(response.content.decode(), "id_emails")
    assert contact.identities.filter(value="keep@example.com").exists()


def test_support_may_use_existing_tags_but_not_create_new_ones(client_for, make_contact):
    support = client_for("support")
    contact = make_contact(first_name="Sara", email="sara@example.com", tags=["vip"])
    response = support.post(f"/contacts/{contact.pk}/edit/", {
        **BASE, "first_name": "Sara", "emails": "sara@example.com", "tags": "vip, بدقول"})
    page = response.content.decode()
    assert response.status_code == 200 and "may not create tags" in page and "«بدقول»" in page
    contact.refresh_from_db()
    assert [t.name for t in contact.tags.all()] == ["vip"]
    assert support.post(f"/contacts/{contact.pk}/edit/", {
        **BASE, "first_name": "Sara", "emails": "sara@example.com", "tags": ""}).status_code == 302
