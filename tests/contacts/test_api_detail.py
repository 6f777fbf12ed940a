"""One contact: read, partial update, erase, merge, export, timeline, notes."""

from __future__ import annotations

import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import MERGE_RULE, do_add_note, do_create_contact
from peyvand.contacts.models import Contact, Identity, Note
from tests.fixtures.faces import db_state, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(system, size_field):
    return do_create_contact(system, {
        "email": "mina@example.com", "phone": "09121234567", "first_name": "Mina",
        "last_name": "Karimi", "birthday": "1990-02-03", "tags": ["vip", "lead"],
        "fields": {"size": 39}, "external_ids": [{"source": "shop", "id": "7"}]})


def test_get_one(api, contact):
    body = api.get(f"/api/v1/contacts/{contact.pk}").json()
    assert body["id"] == contact.pk and body["first_name"] == "Mina"
    assert body["birthday"] == "1990-02-03" and body["tags"] == ["lead", "vip"]
    assert body["external_ids"] == [{"source": "shop", "id": "7"}]
    assert body["fields"] == {"size": 39}


def test_unknown_id_is_404(api):
    response = api.get("/api/v1/contacts/999999")
    assert response.status_code == 404 and response.json()["detail"]


def test_patch_changes_only_what_is_given(api, contact):
    response = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {"last_name": "Rahimi"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["last_name"] == "Rahimi" and body["first_name"] == "Mina"
    assert body["emails"] == ["mina@example.com"] and body["tags"] == ["lead", "vip"]
    assert body["birthday"] == "1990-02-03" and body["fields"] == {"size": 39}


def test_patch_lists_replace(api, contact):
    response = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {
        "emails": ["new@example.com", "Second@Example.com"], "tags": ["gold"],
        "fields": {"size": None}, "birthday": None})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["emails"] == ["new@example.com", "second@example.com"]
    assert body["phones"] == ["+989121234567"]  # not given: kept
    assert body["tags"] == ["gold"] and body["fields"] == {} and body["birthday"] is None
    assert not Identity.objects.filter(value="mina@example.com").exists()


def test_patch_identity_of_another_contact_is_409(api, contact, system):
    other = do_create_contact(system, {"email": "taken@example.com"})
    before = db_state()
    response = send(api, "patch", f"/api/v1/contacts/{contact.pk}",
                    {"first_name": "Changed", "emails": ["TAKEN@example.com"]})
    assert response.status_code == 409
    body = response.json()
    assert body["owner_id"] == other.pk and "email" in body["errors"]
    assert db_state() == before  # nothing half-applied


def test_patch_cannot_remove_every_address(api, contact):
    response = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {"emails": [],
                                                                    "phones": []})
    assert response.status_code == 400 and "email" in response.json()["errors"]
    assert Identity.objects.filter(contact=contact, kind="email").exists()


def test_delete_erases_and_is_audited(api, contact):
    do_add_note(api_actor(api), contact, "call back")
    response = api.delete(f"/api/v1/contacts/{contact.pk}")
    assert response.status_code == 204 and response.content == b""
    contact.refresh_from_db()
    assert contact.erased_at and contact.first_name == "" and contact.birthday is None
    assert not Identity.objects.filter(contact=contact).exists()
    assert not Note.objects.filter(contact=contact).exists()
    entry = AuditEntry.objects.get(action="contact.erase")
    assert (entry.actor, entry.via, entry.target_id) == (api.user, "api", str(contact.pk))
    shown = api.get(f"/api/v1/contacts/{contact.pk}").json()
    assert shown["erased_at"] and shown["emails"] == [] and shown["first_name"] == ""
    patched = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {"first_name": "Back"})
    assert patched.status_code == 400 and "contact" in patched.json()["errors"]


def test_export_returns_everything_and_is_audited(api, contact):
    do_add_note(api_actor(api), contact, "likes blue")
    response = api.get(f"/api/v1/contacts/{contact.pk}/export")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == contact.pk and data["emails"] == ["mina@example.com"]
    assert data["birthday"] == "1990-02-03"
    assert [n["body"] for n in data["notes"]] == ["likes blue"]
    assert {e["kind"] for e in data["timeline"]} >= {"contact.created", "note.added"}
    entry = AuditEntry.objects.get(action="contact.export")
    assert (entry.actor, entry.via, entry.target_id) == (api.user, "api", str(contact.pk))


def test_merge_preview_and_merge(api, contact, system):
    other = do_create_contact(system, {"email": "mina.k@example.com", "first_name": "Minoo",
                                       "national_id": "0013542419", "fields": {"size": 40}})
    preview = api.get(f"/api/v1/contacts/{contact.pk}/merge-preview",
                      {"other_id": other.pk})
    assert preview.status_code == 200
    body = preview.json()
    assert body["rule"] == str(MERGE_RULE)
    rows = {r["field"]: r for r in body["rows"]}
    assert rows["first_name"] == {"field": "first_name", "keep": "Mina", "other": "Minoo",
                                  "result": "Mina", "conflict": True}
    assert rows["national_id"]["result"] == "0013542419"
    assert rows["fields.size"]["keep"] == 39 and rows["fields.size"]["conflict"] is True
    assert rows["birthday"]["keep"] == "1990-02-03"

    merged = send(api, "post", f"/api/v1/contacts/{contact.pk}/merge", {"other_id": other.pk})
    assert merged.status_code == 200, merged.json()
    survivor = merged.json()
    assert survivor["id"] == contact.pk and survivor["first_name"] == "Mina"
    assert survivor["national_id"] == "0013542419"
    assert set(survivor["emails"]) == {"mina@example.com", "mina.k@example.com"}
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert AuditEntry.objects.filter(action="contact.merge", via="api").count() == 1


def test_merge_refuses_self_and_missing(api, contact):
    url = f"/api/v1/contacts/{contact.pk}/merge"
    itself = send(api, "post", url, {"other_id": contact.pk})
    assert itself.status_code == 400 and "other" in itself.json()["errors"]
    missing = send(api, "post", url, {"other_id": 987654})
    assert missing.status_code == 400 and "other_id" in missing.json()["errors"]
    preview = api.get(f"/api/v1/contacts/{contact.pk}/merge-preview", {"other_id": 987654})
    assert preview.status_code == 400 and "other_id" in preview.json()["errors"]
    assert api.get(f"/api/v1/contacts/{contact.pk}/merge-preview").status_code == 422


def test_notes_and_timeline_pages(api, contact):
    for text in ("one", "two", "three"):
        response = send(api, "post", f"/api/v1/contacts/{contact.pk}/notes", {"body": text})
        assert response.status_code == 201
    note = response.json()
    assert note["body"] == "three" and note["author"] == api.user.username and note["id"]
    page = api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["items"]) == 2  # created + 3 notes
    assert page["items"][0]["kind"] == "note.added"
    assert page["items"][0]["data"]["excerpt"] == "three"
    assert page["items"][0]["actor"] == api.user.username and "T" in page["items"][0]["at"]
    last = api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"page_size": 2, "page": 2})
    assert [e["kind"] for e in last.json()["items"]] == ["note.added", "contact.created"]


def test_empty_note_is_refused(api, contact):
    # Blank text is refused by the rule (400); no text at all by the schema (422).
    for body, status in (({"body": "   "}, 400), ({}, 422), ({"body": None}, 422)):
        response = send(api, "post", f"/api/v1/contacts/{contact.pk}/notes", body)
        assert response.status_code == status and "body" in response.json()["errors"]
    assert not Note.objects.exists()


def api_actor(client):
    from peyvand.base.actor import Actor

    return Actor.for_user(client.user, "api")
