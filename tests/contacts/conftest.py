from __future__ import annotations

import pytest

from peyvand.base.actor import Actor
from peyvand.contacts.fields import do_save_custom_field


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Role tests create a user per role; PBKDF2 would dominate their run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_field(db):
    """Define a custom field as the owner would (through the action, not the model)."""

    def make(key: str, type: str = "text", choices=None):
        return do_save_custom_field(Actor.system("test"), key=key, label_fa=key, label_en=key,
                                    type=type, choices=choices)

    return make


@pytest.fixture
def system(db):
    return Actor.system("test")
