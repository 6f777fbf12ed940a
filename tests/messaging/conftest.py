from __future__ import annotations

import json

import pytest

from peyvand.base.actor import Actor
from tests.messaging.processes import backend_env  # noqa: F401 (real processes' database)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PEYVAND_PUBLIC_URL = settings.PEYVAND_PUBLIC_URL = "https://crm.example"


@pytest.fixture
def system():
    return Actor.system("test")


@pytest.fixture
def make_contact(db, system):
    from peyvand.contacts.actions import do_create_contact

    counter = {"n": 0}

    def make(email: str | None = None, *, first_name: str = "Sara", last_name: str = "Ahmadi",
             tz: str = "Asia/Tehran", language: str = "fa", phone: str | None = None,
             opt_in: tuple[str, ...] = ("email",), tags: list[str] | None = None):
        counter["n"] += 1
        raw = {"first_name": first_name, "last_name": last_name, "timezone": tz,
               "language": language}
        if email is None and phone is None:
            email = f"person{counter['n']}@example.com"
        if email:
            raw["email"] = email
        if phone:
            raw["phone"] = phone
        if tags:
            raw["tags"] = tags
        contact = do_create_contact(system, raw)
        if opt_in:
            opt(contact.pk, *opt_in)
        return contact

    return make


def opt(contact_id: int, *channels: str, topic_id: int | None = None) -> None:
    from peyvand.consent.ledger import Change, append

    append(contact_id, [Change("opt_in", ch, topic_id) for ch in channels],
           source="preferences", actor_label="test")


@pytest.fixture
def template(db):
    from peyvand.messaging.models import MessageTemplate

    def make(name: str = "welcome", **kw):
        data = {"language": "fa", "subject": "سلام {{ first_name }}",
                "html": "<p>سلام {{ first_name }}!</p>"
                        "<p><a href=\"{{ unsubscribe_url }}\">لغو</a></p>",
                "message_class": "marketing"}
        data.update(kw)
        return MessageTemplate.objects.create(name=name, **data)

    return make


@pytest.fixture
def api_for(make_user):
    """An API client holding a token of a user of this role."""
    from django.test import Client

    from peyvand.accounts.actions import do_create_token

    def make(role="owner"):
        role, _dash, suffix = role.partition("-")  # "owner-2": a second owner
        user = make_user(f"{role}-api{suffix}", role)
        key = do_create_token(Actor.system("test"), user, "tests")
        return Client(headers={"authorization": f"Bearer {key}"})

    return make


@pytest.fixture
def client_for(make_user):
    """A browser signed in as a user of this role, in this UI language."""
    from django.test import Client

    def make(role="owner", language="en"):
        # "reviewer-fa": a second reviewer, in Persian
        role, _dash, suffix = role.partition("-")
        user = make_user(f"{role}-ui{suffix}", role, language=language)
        client = Client()
        client.force_login(user)
        return client

    return make


def post(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")
