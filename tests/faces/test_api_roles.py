"""Every endpoint for every role: allowed calls succeed, refused ones are 403 and change
nothing at all."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_create_contact
from tests.fixtures.faces import ROLES, db_state, send

pytestmark = pytest.mark.django_db

ALL = set(ROLES)
EDIT = {"owner", "marketer", "support"}
OWNER = {"owner"}
SCHEMA = {"owner", "marketer"}

# (method, url template, body, roles allowed); {a} and {b} are two contacts.
ENDPOINTS = [
    ("get", "/api/v1/contacts", None, ALL),
    ("get", "/api/v1/contacts?q=mina&tag=vip", None, ALL),
    ("get", "/api/v1/contacts/{a}", None, ALL),
    ("get", "/api/v1/contacts/{a}/timeline", None, ALL),
    ("get", "/api/v1/contacts/{a}/merge-preview?other_id={b}", None, ALL),
    ("get", "/api/v1/tags", None, ALL),
    ("get", "/api/v1/fields", None, ALL),
    # An existing tag; creating one through an upsert is schema work (test_tags_upsert.py).
    ("post", "/api/v1/contacts", {"email": "new@example.com", "tags": ["vip"]}, EDIT),
    ("post", "/api/v1/contacts", {"email": "mina@example.com", "first_name": "M"}, EDIT),
    ("patch", "/api/v1/contacts/{a}", {"first_name": "Changed"}, EDIT),
    ("post", "/api/v1/contacts/{a}/notes", {"body": "called"}, EDIT),
    ("post", "/api/v1/contacts/{a}/merge", {"other_id": "{b}"}, EDIT),
    ("post", "/api/v1/tags/vip/contacts", {"contact_ids": ["{b}"]}, EDIT),
    ("post", "/api/v1/tags/vip/contacts", {"contact_ids": ["{a}"], "remove": True}, EDIT),
    ("get", "/api/v1/contacts/{a}/export", None, OWNER),
    ("delete", "/api/v1/contacts/{a}", None, OWNER),
    ("post", "/api/v1/tags", {"name": "new tag"}, SCHEMA),
    ("patch", "/api/v1/tags/vip", {"name": "gold"}, SCHEMA),
    ("delete", "/api/v1/tags/vip", None, SCHEMA),
    ("post", "/api/v1/fields", {"label_en": "Colour", "type": "text"}, SCHEMA),
    ("patch", "/api/v1/fields/size", {"label_en": "Shoe size"}, SCHEMA),
    ("delete", "/api/v1/fields/size", None, SCHEMA),
]


def fill(value, ids):
    if isinstance(value, str):
        text = value.format(**ids)
        return int(text) if text.isdigit() and value.startswith("{") else text
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, url, body, allowed", ENDPOINTS,
                         ids=[f"{m} {u} {sorted(b or {})}" for m, u, b, _ in ENDPOINTS])
def test_role_matrix(api_for, system, size_field, role, method, url, body, allowed):
    a = do_create_contact(system, {"email": "mina@example.com", "first_name": "Mina",
                                   "tags": ["vip"], "fields": {"size": 38}})
    b = do_create_contact(system, {"phone": "09121112233", "fields": {"size": 40}})
    client = api_for(role)
    ids = {"a": a.pk, "b": b.pk}
    before = db_state()
    response = send(client, method, fill(url, ids), fill(body, ids))
    if role in allowed:
        assert 200 <= response.status_code < 300, (response.status_code, response.content)
        if method != "get" or url.endswith("/export"):
            assert db_state() != before  # it really did something
    else:
        assert response.status_code == 403, (response.status_code, response.content)
        assert response.json()["detail"]
        assert db_state() == before


def test_user_without_a_role_may_do_nothing(db, system):
    from django.contrib.auth.models import User
    from django.test import Client

    from peyvand.accounts.actions import do_create_token

    user = User.objects.create_user("norole", password="Correct-Horse-42")
    key = do_create_token(system, user)
    client = Client(headers={"authorization": f"Bearer {key}"})
    for url in ("/api/v1/contacts", "/api/v1/tags", "/api/v1/fields"):
        assert client.get(url).status_code == 403
    before = db_state()
    assert send(client, "post", "/api/v1/contacts", {"email": "x@example.com"}).status_code \
        == 403
    assert db_state() == before
