"""Custom-field and tag management pages."""

from __future__ import annotations

import pytest

from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import CustomField, FieldValue, Tag

pytestmark = pytest.mark.django_db


def test_create_choice_field_with_one_choice_per_line(owner_client):
    response = owner_client.post("/contacts/fields/new/", {
        "label_fa": "اندازه", "label_en": "Shirt size", "key": "", "type": "choice",
        "choices": "S\nM\n\nL\nM"})
    assert response["Location"] == "/contacts/fields/"
    field = CustomField.objects.get()
    assert field.key == "shirt_size" and field.choices == ["S", "M", "L"]
    html = owner_client.get("/contacts/fields/").content.decode()
    assert "اندازه" in html and "Shirt size" in html and 'data-field="shirt_size"' in html


def test_field_errors_are_shown_next_to_the_field(owner_client):
    do_save_custom_field(owner_client.actor, key="size", label_fa="اندازه", label_en="Size",
                         type="text")
    response = owner_client.post("/contacts/fields/new/", {
        "label_fa": "", "label_en": "Size", "key": "size", "type": "text"})
    assert response.status_code == 200
    assert "exists" in " ".join(response.context["form"].errors["key"])
    response = owner_client.post("/contacts/fields/new/", {
        "label_fa": "رنگ", "label_en": "Colour", "key": "", "type": "choice", "choices": ""})
    assert "at least one choice" in " ".join(response.context["form"].errors["choices"])
    assert CustomField.objects.count() == 1


def test_edit_field(owner_client):
    field = do_save_custom_field(owner_client.actor, key="size", label_fa="اندازه",
                                 label_en="Size", type="text")
    page = owner_client.get(f"/contacts/fields/{field.pk}/edit/").content.decode()
    assert 'value="size"' in page
    response = owner_client.post(f"/contacts/fields/{field.pk}/edit/", {
        "label_fa": "سایز", "label_en": "Size", "key": "size", "type": "text"})
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.label_fa == "سایز"


def test_delete_field_confirms_how_many_values_go(owner_client, make_contact):
    field = do_save_custom_field(owner_client.actor, key="city", label_fa="شهر",
                                 label_en="City", type="text")
    make_contact(fields={"city": "Yazd"})
    make_contact(fields={"city": "Rasht"})
    confirm = owner_client.get(f"/contacts/fields/{field.pk}/delete/")
    assert confirm.context["count"] == 2
    assert "will be deleted with it: 2." in confirm.content.decode()
    assert CustomField.objects.exists()
    response = owner_client.post(f"/contacts/fields/{field.pk}/delete/", follow=True)
    assert not CustomField.objects.exists() and not FieldValue.objects.exists()
    assert "values removed with it: 2." in response.content.decode()


def test_tags_list_counts_link_to_the_filtered_list(owner_client, make_contact):
    make_contact(tags=["vip"])
    make_contact(tags=["vip", "لید"])
    html = owner_client.get("/contacts/tags/").content.decode()
    assert '<a href="/contacts/?tag=vip">2</a>' in html
    assert "/contacts/?tag=%D9%84%DB%8C%D8%AF" in html


def test_create_rename_and_delete_a_tag(owner_client, make_contact):
    assert owner_client.post("/contacts/tags/", {"name": " newsletter "}).status_code == 302
    tag = Tag.objects.get(name="newsletter")
    duplicate = owner_client.post("/contacts/tags/", {"name": "newsletter"})
    assert "exists already" in " ".join(duplicate.context["form"].errors["name"])
    empty = owner_client.post("/contacts/tags/", {"name": ""})
    assert empty.context["form"].errors["name"]

    assert owner_client.post(f"/contacts/tags/{tag.pk}/rename/", {"name": "news"}).status_code \
        == 302
    tag.refresh_from_db()
    assert tag.name == "news"

    make_contact(tags=["news"])
    confirm = owner_client.get(f"/contacts/tags/{tag.pk}/delete/").content.decode()
    assert "will lose it: 1." in confirm
    owner_client.post(f"/contacts/tags/{tag.pk}/delete/")
    assert not Tag.objects.exists()


def test_empty_states(owner_client):
    assert 'id="empty-state"' in owner_client.get("/contacts/tags/").content.decode()
    assert 'id="empty-state"' in owner_client.get("/contacts/fields/").content.decode()
