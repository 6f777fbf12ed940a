"""The dashboard: counts, the latest activity with links, and a fresh install's welcome."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event

pytestmark = pytest.mark.django_db


def test_fresh_install_shows_the_welcome(owner_client, client_for):
    response = owner_client.get("/")
    html = response.content.decode()
    assert response.context["counts"] == {"contacts": 0, "recent": 0, "tags": 0, "fields": 0}
    assert 'id="empty-install"' in html and "/contacts/new/" in html
    assert "Nothing has happened yet" in html
    # A read-only role is welcomed too, without a button it cannot use.
    analyst = client_for("analyst").get("/").content.decode()
    assert 'id="empty-install"' in analyst and "/contacts/new/" not in analyst


def test_counts_and_latest_ten_events(owner_client, make_contact):
    do_save_custom_field(owner_client.actor, key="city", label_fa="شهر", label_en="City",
                         type="text")
    old = make_contact(first_name="Old", tags=["vip"])
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    newest = make_contact(first_name="Newest", tags=["vip", "lead"])
    for i in range(12):
        append_event(old.pk, f"test.event{i}")
    append_event(newest.pk, "note.added", {"excerpt": "latest words"})

    response = owner_client.get("/")
    html = response.content.decode()
    assert response.context["counts"] == {"contacts": 2, "recent": 1, "tags": 2, "fields": 1}
    assert 'id="empty-install"' not in html
    events = list(response.context["events"])
    assert len(events) == 10 and events[0].kind == "note.added"
    assert f'href="/contacts/{newest.pk}/"' in html and "latest words" in html


def test_numbers_are_persian_in_persian(client_for, make_contact):
    for _ in range(3):
        make_contact()
    html = client_for("owner", "fa").get("/").content.decode()
    assert '<span class="num">۳</span>' in html
