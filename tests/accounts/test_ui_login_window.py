"""Sign-in stays paused for the whole configured window on the file cache (cache.incr used to
cut it to Django's default 300 s)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.fixtures.faces import PASSWORD
from tests.rate_windows import file_cache_clock  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def _login(client, password, username="alice"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_sign_in_stays_paused_for_the_window(make_user, settings, file_cache_clock):  # noqa: F811
    settings.LOGIN_THROTTLE_ATTEMPTS, settings.LOGIN_THROTTLE_WINDOW = 3, 900
    make_user("alice", "marketer")
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    for _ in range(3):
        assert _login(client, "nope").status_code == 200
    file_cache_clock.advance(600)
    response = _login(client, PASSWORD)
    assert b"Too many failed sign-in attempts" in response.content
    file_cache_clock.advance(299)  # 899 s after the first failure
    assert b"Too many failed sign-in attempts" in _login(client, PASSWORD).content
    file_cache_clock.advance(1)
    assert _login(client, PASSWORD).status_code == 302
