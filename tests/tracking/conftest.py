from __future__ import annotations

import pytest

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_create_contact


@pytest.fixture(autouse=True)
def _tracking_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TRACKING_SPOOL = str(tmp_path / "spool")
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"
    settings.PEYVAND_BOUNCE_DOMAIN = "bounces.example"
    yield
    from peyvand.tracking import spool

    spool.close()


@pytest.fixture
def contact(db):
    return do_create_contact(Actor.system("test"), {"first_name": "سارا",
                                                    "email": "sara@example.com",
                                                    "phone": "09121234567"})


@pytest.fixture
def other_contact(db):
    return do_create_contact(Actor.system("test"), {"first_name": "Ali",
                                                    "email": "ali@example.com"})
