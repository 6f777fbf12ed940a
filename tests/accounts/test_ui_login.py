"""Sign-in, throttling after repeated failures, sign-out by POST, CSRF."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from tests.fixtures.faces import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # English, so the messages asserted below stay the same once translations land.
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _login(client, password, username="alice"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_sign_in_goes_to_dashboard(client, make_user):
    make_user("alice", "marketer")
    response = _login(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, make_user):
    make_user("alice", "marketer")
    response = _login(client, "wrong-password")
    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["__all__"][0].code == "invalid_login"
    assert b"Please enter a correct" in response.content
    assert "_auth_user_id" not in client.session


def test_throttled_after_failures_even_with_the_right_password(client, make_user, settings):
    settings.LOGIN_THROTTLE_WINDOW = 600
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    make_user("alice", "marketer")
    for _ in range(3):
        assert _login(client, "nope").status_code == 200
    response = _login(client, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-in attempts. Sign-in is paused for up to 10 min." in \
        response.content.decode()
    assert "_auth_user_id" not in client.session
    # Once the window has passed (the counters expire), the right password works again.
    cache.clear()
    assert _login(client, PASSWORD).status_code == 302


def test_success_clears_the_failures_for_that_user(client, make_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    make_user("alice", "marketer")
    _login(client, "nope")
    _login(client, "nope")
    assert _login(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    _login(client, "nope")
    _login(client, "nope")
    assert _login(client, PASSWORD).status_code == 302


def test_throttle_is_per_user_name(client, make_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 2
    make_user("alice", "marketer")
    make_user("bob", "marketer")
    _login(client, "nope", "alice")
    _login(client, "nope", "alice")
    assert b"Too many" in _login(client, PASSWORD, "alice").content
    assert _login(client, PASSWORD, "bob").status_code == 302


def test_sign_out_needs_post(client, make_user):
    make_user("alice", "marketer")
    _login(client, PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_csrf_is_enforced_on_sign_in(make_user):
    make_user("alice", "marketer")
    strict = Client(enforce_csrf_checks=True)
    assert _login(strict, PASSWORD).status_code == 403
    page = strict.get("/accounts/login/")
    assert b"csrfmiddlewaretoken" in page.content
