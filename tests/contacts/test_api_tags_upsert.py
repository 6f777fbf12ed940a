"""Tags are schema: attaching an existing tag is editing a contact, creating a new one
through an upsert, an update or bulk tagging needs a role that manages tags. Support gets a
clear refusal naming the unknown tags, and nothing is written."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Tag
from tests.fixtures.faces import ROLES, db_state, send

pytestmark = pytest.mark.django_db

SCHEMA = {"owner", "marketer"}
EDIT = {"owner", "marketer", "support"}


@pytest.fixture
def mina(system):
    return do_create_contact(system, {"email": "mina@example.com", "tags": ["vip"]})


CALLS = {
    "upsert new person": ("post", "/api/v1/contacts",
                          {"email": "new@example.com", "tags": ["vip", "Fresh tag"]}),
    "upsert known person": ("post", "/api/v1/contacts",
                            {"email": "mina@example.com", "first_name": "Mina",
                             "tags": ["Fresh tag"]}),
    "update": ("patch", "/api/v1/contacts/{a}", {"tags": ["vip", "Fresh tag"]}),
    "bulk tag": ("post", "/api/v1/tags/Fresh tag/contacts", {"contact_ids": ["{a}"]}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", list(CALLS))
def test_only_a_schema_role_creates_tags_through_contacts(api_for, mina, role, call):
    method, url, body = CALLS[call]
    body = {k: ([mina.pk] if v == ["{a}"] else v) for k, v in body.items()}
    client = api_for(role)
    before = db_state()
    response = send(client, method, url.replace("{a}", str(mina.pk)), body)
    if role in SCHEMA:
        assert 200 <= response.status_code < 300, response.content
        assert Tag.objects.filter(name="Fresh tag").exists()
        return
    assert db_state() == before
    assert not Tag.objects.filter(name="Fresh tag").exists()
    if role in EDIT:
        assert response.status_code == 400
        error = response.json()
        message = error["errors"].get("tags") or error["errors"].get("tag")
        assert "«Fresh tag»" in message and "«vip»" not in message
        assert "may not create tags" in error["detail"]
    else:
        assert response.status_code == 403


def test_support_attaches_existing_tags(api_for, mina):
    client = api_for("support")
    response = send(client, "post", "/api/v1/contacts",
                    {"email": "new@example.com", "tags": [" vip ", "vip"]})
    assert response.status_code == 201, response.content
    assert Tag.objects.count() == 1
