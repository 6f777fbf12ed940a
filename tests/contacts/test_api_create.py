"""POST /api/v1/contacts creates, or upserts onto the contact holding an identity."""

from __future__ import annotations

import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, Identity, Tag
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db

CONTACT_KEYS = {"id", "emails", "phones", "external_ids", "first_name", "last_name", "language",
                "timezone", "birthday", "national_id", "tags", "fields", "created_at",
                "updated_at", "source", "erased_at", "display_name"}


def test_create_returns_201_with_the_contact(api):
    response = send(api, "post", "/api/v1/contacts", {
        "email": "Sara.Ahmadi@Example.COM", "phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "first_name": "سارا",
        "last_name": "احمدي", "language": "fa", "tags": ["vip", "vip"], "fields": {}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= CONTACT_KEYS
    assert body["emails"] == ["sara.ahmadi@example.com"]
    assert body["phones"] == ["+989123456789"]
    assert body["last_name"] == "احمدی"  # Arabic yeh became Persian
    assert body["tags"] == ["vip"] and body["source"] == "api"
    assert body["created"] is True and body["merged_ids"] == []
    assert body["created_at"].startswith("20") and "T" in body["created_at"]
    contact = Contact.objects.get(pk=body["id"])
    assert contact.first_name == "سارا"


def test_create_takes_lists_external_ids_dates_and_custom_fields(api, system, size_field):
    do_save_custom_field(system, key="joined", label_fa="عضویت", label_en="Joined",
                         type="date")
    do_save_custom_field(system, key="newsletter", label_fa="خبرنامه", label_en="Newsletter",
                         type="boolean")
    response = send(api, "post", "/api/v1/contacts", {
        "emails": ["a@example.com", "B@example.com"], "phones": ["09121111111", 9122222222],
        "external_ids": [{"source": "woocommerce:shop", "id": 42}],
        "birthday": "۱۳۷۰/۰۱/۰۱", "timezone": "Europe/Berlin", "national_id": "0013542419",
        "language": "EN", "fields": {"size": "۴۲", "joined": "1403/02/12", "newsletter": "بله"},
    })
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["emails"] == ["a@example.com", "b@example.com"]
    assert body["phones"] == ["+989121111111", "+989122222222"]
    assert body["external_ids"] == [{"source": "woocommerce:shop", "id": "42"}]
    assert body["birthday"] == "1991-03-21"  # Jalali in, ISO out
    assert body["timezone"] == "Europe/Berlin" and body["language"] == "en"
    assert body["national_id"] == "0013542419"
    assert body["fields"] == {"size": 42, "joined": "2024-05-01", "newsletter": True}


def test_existing_identity_answers_200_with_the_same_contact(api):
    first = send(api, "post", "/api/v1/contacts", {"phone": "09123456789", "first_name": "Ali"})
    again = send(api, "post", "/api/v1/contacts", {"phone": "+98 912 345 6789",
                                                  "email": "ALI@example.com"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert again.json()["emails"] == ["ali@example.com"]
    assert again.json()["first_name"] == "Ali"  # an upsert fills, never wipes
    assert Contact.objects.count() == 1


def test_identities_of_several_contacts_merge_into_the_oldest(api, system):
    older = do_create_contact(system, {"email": "one@example.com", "first_name": "Reza"})
    newer = do_create_contact(system, {"phone": "09351234567", "tags": ["lead"]})
    response = send(api, "post", "/api/v1/contacts", {"email": "one@example.com",
                                                     "phone": "۰۹۳۵۱۲۳۴۵۶۷"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == older.pk and body["merged_ids"] == [newer.pk]
    assert body["phones"] == ["+989351234567"] and body["tags"] == ["lead"]
    assert list(Contact.objects.values_list("pk", flat=True)) == [older.pk]
    assert AuditEntry.objects.filter(action="contact.merge", via="api").exists()


def test_email_or_phone_is_required(api):
    response = send(api, "post", "/api/v1/contacts", {"first_name": "Nobody"})
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert not Contact.objects.exists()


def test_every_bad_value_is_named(api):
    response = send(api, "post", "/api/v1/contacts", {
        "email": "not-an-email", "phone": "12", "birthday": "1403/13/40", "language": "de",
        "timezone": "Mars/Olympus", "national_id": "1111111111", "fields": {"nope": 1},
        "external_ids": [{"source": "shop"}]})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) >= {"email", "phone", "birthday", "language", "timezone", "national_id",
                           "fields.nope", "external_ids"}
    assert all(isinstance(m, str) and m for m in errors.values())
    assert not Contact.objects.exists() and not Identity.objects.exists()


def test_bad_custom_field_value_is_named(api, size_field):
    response = send(api, "post", "/api/v1/contacts", {"email": "x@example.com",
                                                     "fields": {"size": "large"}})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"fields.size"}
    assert not Tag.objects.exists() and not Contact.objects.exists()
