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
def home(settings, tmp_path):
    """A PEYVAND_HOME of the test's own: exports, imports and the tracking spool in it."""
    settings.HOME = tmp_path
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.IMPORT_DIR = None
    settings.TRACKING_SPOOL = ""
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"
    settings.PEYVAND_BOUNCE_DOMAIN = "bounces.example"
    yield tmp_path
    from peyvand.tracking import spool

    spool.close()


@pytest.fixture
def everywhere_person(owner_actor, home, django_capture_on_commit_callbacks):
    """One person run through everything Peyvand keeps (tests/contacts/everywhere.py)."""
    from tests.contacts.everywhere import put_everywhere

    return put_everywhere(owner_actor,
                          lambda: django_capture_on_commit_callbacks(execute=True))
