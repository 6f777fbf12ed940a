from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP

PASSWORD = "Correct-Horse-42"
ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]


@pytest.fixture(autouse=True)
def _fast_passwords_fresh_cache(settings):
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def code(device, steps: int = 0) -> str:
    """The authenticator's code now (or `steps` periods of 30 s later, which the server
    accepts once the current one was used: each code works only once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def browser_client():
    """A signed-out client reading English pages."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def signed_in(make_user):
    def make(role: str = "owner", username: str | None = None) -> Client:
        user = make_user(username or f"{role}-ui", role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make
