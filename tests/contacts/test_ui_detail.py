"""Contact page: details in the user's calendar, notes, the timeline, merge, export, erase."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import MERGE_RULE, do_tag_contacts
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, Note
from peyvand.contacts.timeline import append_event

pytestmark = pytest.mark.django_db


def test_details_use_the_users_calendar_and_digits(client_for, make_contact):
    fa = client_for("owner", "fa")
    do_save_custom_field(fa.actor, key="joined", label_fa="عضویت", label_en="Joined",
                         type="date")
    contact = make_contact(first_name="Dara", phone="09121234567", birthday="1991-08-03",
                           fields={"joined": "2024-05-01"})
    html = fa.get(f"/contacts/{contact.pk}/").content.decode()
    assert "۱۳۷۰/۰۵/۱۲" in html and "۱۴۰۳/۰۲/۱۲" in html and "عضویت" in html
    assert '<bdi dir="ltr">+989121234567</bdi>' in html
    en = client_for("support", "en").get(f"/contacts/{contact.pk}/").content.decode()
    assert "1991-08-03" in en and "2024-05-01" in en and "Joined" in en


def test_add_note_and_see_it_in_notes_and_timeline(owner_client, make_contact):
    contact = make_contact()
    response = owner_client.post(f"/contacts/{contact.pk}/notes/", {"body": "Asked for a call"})
    assert response.status_code == 302
    assert Note.objects.get(contact=contact).body == "Asked for a call"
    html = owner_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert html.count("Asked for a call") == 2  # the note and its timeline entry
    assert 'data-kind="note.added"' in html


def test_empty_note_is_refused_next_to_the_field(owner_client, make_contact):
    contact = make_contact()
    response = owner_client.post(f"/contacts/{contact.pk}/notes/", {"body": "   "})
    assert response.status_code == 400
    assert "A note cannot be empty" in response.content.decode()
    assert not Note.objects.exists()


def test_timeline_labels_newest_first_and_unknown_kinds(owner_client, make_contact):
    contact = make_contact()
    do_tag_contacts(owner_client.actor, [contact.pk], "vip")
    do_tag_contacts(owner_client.actor, [contact.pk], "vip", remove=True)
    append_event(contact.pk, "shop.order_paid", {"total": 10})
    html = owner_client.get(f"/contacts/{contact.pk}/").content.decode()
    kinds = [html.index(f'data-kind="{k}"') for k in
             ("shop.order_paid", "tag.removed", "tag.added", "contact.created")]
    assert kinds == sorted(kinds)
    for label in ("Tag added", "Tag removed", "Contact created", "shop.order_paid"):
        assert label in html


def test_timeline_is_paginated(owner_client, make_contact):
    contact = make_contact()
    start = timezone.now() - dt.timedelta(days=1)
    for i in range(24):
        append_event(contact.pk, f"test.event{i:02d}", at=start + dt.timedelta(minutes=i))
    # 20 a page, newest first: "created" (just now), then events 23 down to 05.
    first = owner_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'data-kind="contact.created"' in first
    assert "test.event05" in first and "test.event04" not in first
    assert "?tpage=2" in first
    second = owner_client.get(f"/contacts/{contact.pk}/", {"tpage": 2}).content.decode()
    assert "test.event04" in second and "test.event00" in second
    assert 'data-kind="contact.created"' not in second


def test_merge_pick_preview_swap_and_confirm(owner_client, make_contact):
    kept = make_contact(first_name="Ali", last_name="", email="ali@example.com",
                        birthday="1990-01-01", tags=["vip"])
    other = make_contact(first_name="Aly", last_name="Rezaei", phone="09120000001",
                         birthday="1991-01-01", tags=["lead"])
    pick = owner_client.get(f"/contacts/{kept.pk}/merge/", {"q": "Aly"}).content.decode()
    assert f"/contacts/{kept.pk}/merge/{other.pk}/" in pick
    by_id = owner_client.get(f"/contacts/{kept.pk}/merge/", {"q": f"#{other.pk}"})
    assert other in by_id.context["results"]

    preview = owner_client.get(f"/contacts/{kept.pk}/merge/{other.pk}/").content.decode()
    assert str(MERGE_RULE) in preview
    assert 'class="conflict" data-field="first_name"' in preview
    assert 'class="conflict" data-field="birthday"' in preview
    assert '<tr data-field="last_name">' in preview  # filled from the other: no conflict
    assert "<td>Persian</td>" in preview and "<td>Web app</td>" in preview  # codes as words
    assert f'href="/contacts/{other.pk}/merge/{kept.pk}/"' in preview  # swap

    response = owner_client.post(f"/contacts/{kept.pk}/merge/{other.pk}/")
    assert response["Location"] == f"/contacts/{kept.pk}/"
    assert not Contact.objects.filter(pk=other.pk).exists()
    kept.refresh_from_db()
    assert kept.first_name == "Ali" and kept.last_name == "Rezaei"
    assert kept.identities.filter(value="+989120000001").exists()
    assert AuditEntry.objects.filter(action="contact.merge").count() == 1
    page = owner_client.get(f"/contacts/{kept.pk}/").content.decode()
    assert 'data-kind="contact.merged"' in page


def test_merge_with_itself_is_refused(owner_client, make_contact):
    contact = make_contact()
    response = owner_client.get(f"/contacts/{contact.pk}/merge/{contact.pk}/")
    assert response["Location"] == f"/contacts/{contact.pk}/merge/"


def test_owner_exports_json_and_it_is_audited(owner_client, make_contact):
    contact = make_contact(first_name="نسرین", email="n@example.com")
    assert owner_client.get(f"/contacts/{contact.pk}/export/").status_code == 405
    response = owner_client.post(f"/contacts/{contact.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    data = json.loads(response.content)
    assert data["first_name"] == "نسرین" and data["emails"] == ["n@example.com"]
    assert AuditEntry.objects.filter(action="contact.export", target_id=str(contact.pk)).exists()


def test_erase_confirm_then_erase(owner_client, make_contact):
    contact = make_contact(first_name="Gone", email="gone@example.com", tags=["vip"])
    owner_client.post(f"/contacts/{contact.pk}/notes/", {"body": "secret"})
    confirm = owner_client.get(f"/contacts/{contact.pk}/erase/").content.decode()
    assert 'id="erase-removed"' in confirm and 'id="erase-kept"' in confirm
    assert "Notes: 1" in confirm and "Tags: 1" in confirm
    assert Contact.objects.get(pk=contact.pk).erased_at is None  # GET changes nothing

    response = owner_client.post(f"/contacts/{contact.pk}/erase/")
    assert response["Location"] == f"/contacts/{contact.pk}/"
    contact.refresh_from_db()
    assert contact.erased_at and contact.first_name == "" and not contact.identities.exists()
    html = owner_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'id="erased-badge"' in html and "secret" not in html and "gone@example.com" not in html
    assert f"/contacts/{contact.pk}/edit/" not in html
    assert owner_client.get(f"/contacts/{contact.pk}/edit/")["Location"] == \
        f"/contacts/{contact.pk}/"
    assert AuditEntry.objects.filter(action="contact.erase").count() == 1
