"""Tag vocabulary, tagging many contacts at once, and custom field definitions."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import ContactTag, CustomField, FieldValue, Tag
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(system):
    return [do_create_contact(system, {"email": f"p{i}@example.com",
                                       "tags": ["vip"] if i == 0 else []}) for i in range(3)]


def test_list_tags_with_counts(api, people):
    Tag.objects.create(name="unused")
    body = api.get("/api/v1/tags").json()
    assert body == {"items": [{"name": "unused", "contact_count": 0},
                              {"name": "vip", "contact_count": 1}], "count": 2}


def test_create_tag(api):
    response = send(api, "post", "/api/v1/tags", {"name": "  مشتري  ويژه "})
    assert response.status_code == 201
    assert response.json() == {"name": "مشتری ویژه", "contact_count": 0}
    again = send(api, "post", "/api/v1/tags", {"name": "مشتری ویژه"})
    assert again.status_code == 400 and "name" in again.json()["errors"]
    empty = send(api, "post", "/api/v1/tags", {"name": " "})
    assert empty.status_code == 400 and "name" in empty.json()["errors"]
    too_long = send(api, "post", "/api/v1/tags", {"name": "x" * 65})
    assert too_long.status_code == 400
    assert list(Tag.objects.values_list("name", flat=True)) == ["مشتری ویژه"]


def test_rename_and_delete_tag(api, people):
    renamed = send(api, "patch", "/api/v1/tags/vip", {"name": "gold"})
    assert renamed.status_code == 200 and renamed.json() == {"name": "gold", "contact_count": 1}
    deleted = api.delete("/api/v1/tags/gold")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": "gold",
                                                             "contact_count": 1}
    assert not Tag.objects.exists() and not ContactTag.objects.exists()
    assert api.delete("/api/v1/tags/gold").status_code == 404


def test_tag_and_untag_many_contacts(api, people):
    ids = [p.pk for p in people]
    added = send(api, "post", "/api/v1/tags/vip/contacts", {"contact_ids": ids})
    assert added.status_code == 200 and added.json() == {"tag": "vip", "changed": 2}
    assert ContactTag.objects.filter(tag__name="vip").count() == 3
    removed = send(api, "post", "/api/v1/tags/vip/contacts",
                   {"contact_ids": ids[:2], "remove": True})
    assert removed.json() == {"tag": "vip", "changed": 2}
    assert list(ContactTag.objects.values_list("contact_id", flat=True)) == [ids[2]]
    listed = api.get("/api/v1/contacts", {"tag": "vip"}).json()
    assert [c["id"] for c in listed["items"]] == [ids[2]]


def test_tag_names_may_hold_a_slash(api, people):
    # Jalali dates are written with slashes; a tag such as this must stay addressable.
    response = send(api, "post", "/api/v1/tags/کمپین ۱۴۰۳/۰۲/contacts",
                    {"contact_ids": [people[1].pk]})
    assert response.status_code == 200 and response.json()["tag"] == "کمپین 1403/02"
    assert api.get(f"/api/v1/contacts/{people[1].pk}").json()["tags"] == ["کمپین 1403/02"]
    assert api.delete("/api/v1/tags/کمپین 1403/02").status_code == 200


def test_tagging_unknown_ids_changes_nothing(api, people):
    response = send(api, "post", "/api/v1/tags/vip/contacts", {"contact_ids": [999999]})
    assert response.status_code == 200 and response.json()["changed"] == 0


def test_custom_fields_lifecycle(api, system):
    created = send(api, "post", "/api/v1/fields", {
        "label_fa": "رنگ", "label_en": "Favourite colour", "type": "choice",
        "choices": ["قرمز", "آبی"]})
    assert created.status_code == 201, created.json()
    assert created.json() == {"key": "favourite_colour", "label_fa": "رنگ",
                              "label_en": "Favourite colour", "type": "choice",
                              "choices": ["قرمز", "آبی"], "position": 0}
    listed = api.get("/api/v1/fields").json()
    assert listed["count"] == 1 and listed["items"][0]["key"] == "favourite_colour"

    patched = send(api, "patch", "/api/v1/fields/favourite_colour",
                   {"label_en": "Colour", "choices": "قرمز، آبی، سبز"})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["label_en"] == "Colour" and patched.json()["label_fa"] == "رنگ"
    assert patched.json()["choices"] == ["قرمز", "آبی", "سبز"]

    do_create_contact(system, {"email": "c@example.com",
                               "fields": {"favourite_colour": "سبز"}})
    retype = send(api, "patch", "/api/v1/fields/favourite_colour", {"type": "number"})
    assert retype.status_code == 400 and "type" in retype.json()["errors"]

    deleted = api.delete("/api/v1/fields/favourite_colour")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": "favourite_colour", "values_removed": 1}
    assert not CustomField.objects.exists() and not FieldValue.objects.exists()
    assert api.delete("/api/v1/fields/favourite_colour").status_code == 404
    assert send(api, "patch", "/api/v1/fields/nope", {"label_en": "x"}).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"key": "9lives", "label_en": "Lives", "type": "number"}, "key"),
    ({"label_en": "Size", "type": "colour"}, "type"),
    ({"label_en": "Pick", "type": "choice"}, "choices"),
    ({"key": "blank", "type": "text"}, "label_fa"),
])
def test_bad_field_definitions_are_named(api, body, field):
    response = send(api, "post", "/api/v1/fields", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not CustomField.objects.exists()


def test_duplicate_field_key_is_refused(api, size_field):
    response = send(api, "post", "/api/v1/fields", {"key": "size", "label_en": "Size 2",
                                                   "type": "text"})
    assert response.status_code == 400 and "key" in response.json()["errors"]


def test_field_labels_are_bounded(api):
    response = send(api, "post", "/api/v1/fields", {"label_en": "L" * 101, "type": "text"})
    assert response.status_code == 422 and "label_en" in response.json()["errors"]
    assert not CustomField.objects.exists()
