"""API tokens over the API: listed (one's own; everyone's for an owner), revoked, expiring,
with the time each was last used."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from peyvand.accounts.actions import do_create_token, user_for_token
from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry

from .conftest import ROLES

pytestmark = pytest.mark.django_db


def tokens_state():
    return list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at", "expires_at"))


def test_list_shows_state_expiry_and_last_use_never_the_key(api_for):
    api = api_for("support")
    body = api.get("/api/v1/tokens").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["user"] == "support-api" and item["name"] == "tests"
    assert item["state"] == "active" and item["expires_at"] is None
    assert item["prefix"] == api.key[:12] and api.key not in str(body)
    assert item["last_used_at"] is not None  # this very request used it
    assert "key_hash" not in item


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_and_revokes_its_own_only_an_owner_anyones(api_for, make_user, role):
    api = api_for(role)
    other = make_user("someone", "analyst")
    do_create_token(Actor.system("test"), other, "theirs")
    theirs = ApiToken.objects.get(user=other)
    listed = {t["user"] for t in api.get("/api/v1/tokens").json()["items"]}
    before = tokens_state()
    response = api.delete(f"/api/v1/tokens/{theirs.pk}")
    if role == "owner":
        assert listed == {"owner-api", "someone"}
        assert response.status_code == 200 and response.json()["state"] == "revoked"
        assert user_for_token(api.key) is not None
    else:
        assert listed == {f"{role}-api"}
        # Someone else's token is not even said to exist; nothing changed.
        assert response.status_code == 404 and response.json()["detail"]
        assert api.get(f"/api/v1/tokens/{theirs.pk}").status_code == 404
        assert tokens_state() == before
        assert not AuditEntry.objects.filter(action="token.revoke").exists()


def test_revoking_ones_own_token_ends_it_at_once_and_is_audited_once(api_for):
    api = api_for("marketer")
    token = ApiToken.objects.get(user=api.user)
    response = api.delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert api.get("/api/v1/tokens").status_code == 401
    second = Client(headers={"authorization": "Bearer " + do_create_token(
        Actor.system("test"), api.user, "second")})
    again = second.delete(f"/api/v1/tokens/{token.pk}")
    assert again.status_code == 200 and again.json()["state"] == "revoked"
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.via == "api" and entry.actor_label == "marketer-api"


def test_filter_by_user(api_for, make_user):
    api = api_for("owner")
    do_create_token(Actor.system("test"), make_user("sara", "support"), "s")
    items = api.get("/api/v1/tokens?user=SARA").json()["items"]
    assert [t["user"] for t in items] == ["sara"]


def test_an_expired_token_is_refused(api_for, make_user):
    user = make_user("temp", "analyst")
    soon = timezone.now() + dt.timedelta(minutes=5)
    key = do_create_token(Actor.system("test"), user, "short", expires_at=soon)
    client = Client(headers={"authorization": f"Bearer {key}"})
    assert client.get("/api/v1/tokens").json()["items"][0]["expires_at"]
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    owner = api_for("owner")
    listed = owner.get("/api/v1/tokens?user=temp").json()["items"]
    assert listed[0]["state"] == "expired"


def test_expiry_must_lie_ahead(make_user):
    from django.core.exceptions import ValidationError

    user = make_user("temp", "analyst")
    with pytest.raises(ValidationError):
        do_create_token(Actor.system("test"), user, "x",
                        expires_at=timezone.now() - dt.timedelta(days=1))
    assert not ApiToken.objects.exists()


def test_owner_tokens_need_two_factor_when_required(api_for, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    owner, marketer = api_for("owner"), api_for("marketer")
    settings.PEYVAND_REQUIRE_2FA = True
    refused = owner.get("/api/v1/contacts")
    assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
    assert marketer.get("/api/v1/contacts").status_code == 200
    TOTPDevice.objects.create(user=owner.user, name="phone", confirmed=True)
    assert owner.get("/api/v1/contacts").status_code == 200
    settings.PEYVAND_REQUIRE_2FA = False
    TOTPDevice.objects.all().delete()
    assert owner.get("/api/v1/contacts").status_code == 200
