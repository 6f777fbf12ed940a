"""Each role sees what it may use, and the server refuses the rest (403, nothing changes)."""

from __future__ import annotations

import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.models import Contact, CustomField, Note, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_contact):
    return make_contact(first_name="Kept"), make_contact(first_name="Other")


READ_PAGES = ["/", "/contacts/", "/contacts/tags/", "/contacts/fields/", "/jobs/"]


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_read_only_roles_view_but_cannot_change_anything(client_for, two, role):
    client = client_for(role)
    kept, other = two
    for url in [*READ_PAGES, f"/contacts/{kept.pk}/"]:
        assert client.get(url).status_code == 200, url
    before = (Contact.objects.count(), Note.objects.count(), Tag.objects.count(),
              CustomField.objects.count(), AuditEntry.objects.count())

    denied = [
        ("get", "/contacts/new/", {}),
        ("post", "/contacts/new/", {"first_name": "X", "emails": "x@example.com",
                                    "language": "fa", "timezone": "Asia/Tehran"}),
        ("get", f"/contacts/{kept.pk}/edit/", {}),
        ("post", f"/contacts/{kept.pk}/edit/", {"first_name": "Changed", "emails": "a@b.com",
                                                "language": "fa", "timezone": "Asia/Tehran"}),
        ("post", f"/contacts/{kept.pk}/notes/", {"body": "hi"}),
        ("get", f"/contacts/{kept.pk}/merge/", {}),
        ("get", f"/contacts/{kept.pk}/merge/{other.pk}/", {}),
        ("post", f"/contacts/{kept.pk}/merge/{other.pk}/", {}),
        ("get", f"/contacts/{kept.pk}/erase/", {}),
        ("post", f"/contacts/{kept.pk}/erase/", {}),
        ("post", f"/contacts/{kept.pk}/export/", {}),
        ("post", "/contacts/tags/", {"name": "new-tag"}),
        ("get", "/contacts/fields/new/", {}),
        ("post", "/contacts/fields/new/", {"label_en": "Size", "type": "text"}),
        ("get", "/accounts/users/", {}),
        ("get", "/audit/", {}),
        ("post", "/jobs/export/", {}),
    ]
    for method, url, data in denied:
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url, response.status_code)
        assert b"Your role does not allow this" in response.content

    after = (Contact.objects.count(), Note.objects.count(), Tag.objects.count(),
             CustomField.objects.count(), AuditEntry.objects.count())
    assert after == before
    kept.refresh_from_db()
    assert kept.first_name == "Kept" and kept.erased_at is None
    assert Contact.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_read_only_roles_do_not_see_change_buttons(client_for, two, role):
    client = client_for(role)
    kept, _other = two
    html = client.get(f"/contacts/{kept.pk}/").content.decode()
    for needle in (f"/contacts/{kept.pk}/edit/", f"/contacts/{kept.pk}/merge/",
                   f"/contacts/{kept.pk}/export/", f"/contacts/{kept.pk}/erase/", 'id="note-form"'):
        assert needle not in html
    assert "/contacts/new/" not in client.get("/contacts/").content.decode()
    nav = client.get("/").content.decode()
    assert "/accounts/users/" not in nav and "/audit/" not in nav


def test_support_edits_but_cannot_export_or_erase(client_for, two):
    client = client_for("support")
    kept, other = two
    html = client.get(f"/contacts/{kept.pk}/").content.decode()
    assert f"/contacts/{kept.pk}/edit/" in html and 'id="note-form"' in html
    assert f"/contacts/{kept.pk}/export/" not in html and f"/contacts/{kept.pk}/erase/" not in html

    response = client.post(f"/contacts/{kept.pk}/edit/", {
        "first_name": "Edited", "emails": "kept@example.com", "language": "en",
        "timezone": "Asia/Tehran"})
    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.first_name == "Edited"
    assert client.post(f"/contacts/{kept.pk}/notes/", {"body": "Called"}).status_code == 302
    assert Note.objects.filter(contact=kept, body="Called").exists()

    assert client.post(f"/contacts/{kept.pk}/export/").status_code == 403
    assert client.get(f"/contacts/{kept.pk}/erase/").status_code == 403
    assert client.post(f"/contacts/{kept.pk}/erase/").status_code == 403
    assert not AuditEntry.objects.filter(action__in=["contact.export", "contact.erase"]).exists()
    kept.refresh_from_db()
    assert kept.erased_at is None
    # Tags and fields are the schema: marketers and owners only.
    assert client.post("/contacts/tags/", {"name": "x"}).status_code == 403
    assert client.get("/accounts/users/").status_code == 403


def test_marketer_manages_schema_but_not_users(client_for):
    client = client_for("marketer")
    assert client.post("/contacts/tags/", {"name": "vip"}).status_code == 302
    assert Tag.objects.filter(name="vip").exists()
    assert client.get("/contacts/fields/new/").status_code == 200
    assert client.get("/accounts/users/").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_owner_only_pages(owner_client, client_for):
    for url in ("/accounts/users/", "/accounts/users/new/", "/audit/"):
        assert owner_client.get(url).status_code == 200
    nav = owner_client.get("/").content.decode()
    assert "/accounts/users/" in nav and "/audit/" in nav


def test_anonymous_is_sent_to_sign_in(client, make_contact):
    contact = make_contact()
    for url in ("/", "/contacts/", f"/contacts/{contact.pk}/", "/audit/", "/jobs/",
                "/accounts/users/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_missing_contact_is_404(owner_client):
    response = owner_client.get("/contacts/999999/")
    assert response.status_code == 404
    assert b"There is nothing here" in response.content
