"""The API tokens page: one's own tokens (an owner sees everyone's), made with an expiry,
shown once, last use shown, revoked with a button."""

from __future__ import annotations

import pytest

from peyvand.accounts.actions import do_create_token, hash_token, user_for_token
from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor

from .conftest import ROLES

pytestmark = pytest.mark.django_db


def test_create_shows_the_key_once_and_stores_only_its_hash(signed_in):
    client = signed_in("analyst")
    response = client.post("/accounts/tokens/", {"name": "reports", "expires": "30"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key in response.content.decode()
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(key) and token.name == "reports" and token.expires_at
    assert user_for_token(key) == client.user
    page = client.get("/accounts/tokens/").content.decode()
    assert key not in page and token.prefix in page and 'data-state="active"' in page


def test_last_use_is_shown(signed_in):
    client = signed_in("support")
    key = do_create_token(Actor.system("test"), client.user, "sync")
    assert "not yet" in client.get("/accounts/tokens/").content.decode()
    user_for_token(key)
    page = client.get("/accounts/tokens/").content.decode()
    assert "not yet" not in page


@pytest.mark.parametrize("role", ROLES)
def test_each_role_manages_its_own_tokens_an_owner_everyones(signed_in, make_user, role):
    client = signed_in(role)
    mine = ApiToken.objects.get(pk=ApiToken.objects.create(
        user=client.user, name="mine", prefix="pvd_mine0000", key_hash="a" * 64).pk)
    other = make_user("someone", "marketer")
    do_create_token(Actor.system("test"), other, "theirs")
    theirs = ApiToken.objects.get(user=other)
    page = client.get("/accounts/tokens/").content.decode()
    assert "mine" in page
    assert ("theirs" in page) == (role == "owner")
    response = client.post(f"/accounts/tokens/{theirs.pk}/revoke/")
    theirs.refresh_from_db()
    if role == "owner":
        assert response.status_code == 302 and theirs.revoked_at is not None
    else:
        assert response.status_code == 404 and theirs.revoked_at is None
    assert client.post(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert 'data-state="revoked"' in client.get("/accounts/tokens/").content.decode()


def test_the_page_needs_sign_in(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_security_link_in_the_menu(signed_in):
    page = signed_in("reviewer").get("/").content.decode()
    assert 'href="/accounts/two-factor/"' in page
