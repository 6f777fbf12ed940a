"""Passwords are stored with Django's default hasher (PBKDF2) in production. The test settings
put a fast hasher first only to keep the suite quick (peyvand/settings_test.py); this pins
that the product's own settings do not."""

from __future__ import annotations

import importlib

import pytest
from django.conf import global_settings
from django.test import override_settings

from peyvand.accounts.actions import do_create_user
from peyvand.base.actor import Actor


def test_the_product_settings_keep_djangos_default_hashers():
    product = importlib.import_module("peyvand.settings")
    assert getattr(product, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS) == \
        global_settings.PASSWORD_HASHERS
    assert global_settings.PASSWORD_HASHERS[0].endswith("PBKDF2PasswordHasher")


@pytest.mark.django_db
def test_a_new_users_password_is_stored_with_pbkdf2_and_checks():
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        user = do_create_user(Actor.system("test"), "hashed", role="owner",
                              password="Correct-Horse-42")
        user.refresh_from_db()
        algorithm, iterations, _salt, _hash = user.password.split("$")
        assert algorithm == "pbkdf2_sha256"
        assert int(iterations) >= 1_000_000
        assert user.check_password("Correct-Horse-42")
        assert not user.check_password("correct-horse-42")
