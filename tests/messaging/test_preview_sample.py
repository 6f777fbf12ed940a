"""The template preview: a contact found by name or phone, and a sample person in the
template's own language when none is chosen."""

from __future__ import annotations

import pytest

from peyvand.messaging.actions import do_save_template
from peyvand.messaging.templates_engine import sample_context

pytestmark = pytest.mark.django_db


def test_the_sample_person_speaks_the_templates_language():
    assert sample_context("fa")["first_name"] == "سارا"
    assert sample_context("fa")["display_name"] == "سارا احمدی"
    assert sample_context("en")["first_name"] == "Sara"
    assert sample_context("en")["language"] == "en"


def test_a_contact_is_found_by_phone_or_name(client_for, make_contact, system):
    template = do_save_template(system, {"name": "hi", "language": "fa", "subject": "سلام",
                                         "html": "<p>سلام {{ first_name }}</p>"})
    maryam = make_contact(None, first_name="مریم", last_name="کریمی", phone="09121112233")
    ui = client_for("reviewer", "fa")
    url = f"/messaging/templates/{template.pk}/preview/"
    for q in ("09121112233", "مریم"):
        page = ui.get(url, {"q": q}).content.decode()
        assert f'href="?contact={maryam.pk}&amp;width=desktop"' in page, q
    page = ui.get(url, {"contact": maryam.pk}).content.decode()
    assert "سلام مریم" in page
    english = do_save_template(system, {"name": "hi-en", "language": "en", "subject": "Hi",
                                        "html": "<p>Hi {{ first_name }}</p>"})
    page = ui.get(f"/messaging/templates/{english.pk}/preview/").content.decode()
    assert "Hi Sara" in page
