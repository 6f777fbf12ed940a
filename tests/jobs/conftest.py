from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture
def some_contacts(owner_actor):
    from peyvand.contacts.actions import do_upsert_contact

    return [do_upsert_contact(owner_actor, {"first_name": f"نام {i}",
                                            "email": f"p{i}@example.com"}).contact
            for i in range(5)]
