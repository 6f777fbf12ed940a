from __future__ import annotations

import pytest
from django.test import Client

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_create_contact

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def client_for(make_user):
    """A signed-in test client for a new user with `role` (and its actor)."""

    def make(role: str = "owner", language: str = "en", username: str | None = None):
        user = make_user(username or f"{role}-{language}", role, language=language)
        client = Client()
        client.force_login(user)
        client.user = user
        client.actor = Actor.for_user(user, "ui")
        return client

    return make


@pytest.fixture
def owner_client(client_for):
    return client_for("owner")


@pytest.fixture
def make_contact(owner_actor):
    counter = iter(range(10_000))

    def make(**raw):
        n = next(counter)
        raw.setdefault("first_name", f"Person{n}")
        if "email" not in raw and "phone" not in raw and "emails" not in raw:
            raw["email"] = f"person{n}@example.com"
        return do_create_contact(owner_actor, raw)

    return make


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The real hasher costs ~0.5 s a user; these tests are about pages, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Sign-in throttling counts live in the cache; no test may inherit another's failures.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
