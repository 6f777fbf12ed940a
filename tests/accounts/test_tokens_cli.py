"""`peyvand token list|revoke|create --expires` and `peyvand twofactor list|reset`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from peyvand.accounts.actions import do_create_token, user_for_token
from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def cli(capsys, monkeypatch):
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("PEYVAND_USER", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def rows(out: str) -> list[dict[str, str]]:
    header, *lines = out.strip().splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]


def test_create_with_expiry_list_and_revoke(cli, make_user):
    make_user("sara", "support")
    code, out, err = cli("token", "create", "sara", "--label", "sync", "--expires", "30")
    assert code == 0, err
    key = out.strip()
    token = ApiToken.objects.get()
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < \
        dt.timedelta(minutes=1)
    user_for_token(key)  # used once: the list says when
    code, out, _err = cli("token", "list")
    [row] = rows(out)
    assert row["user"] == "sara" and row["name"] == "sync" and row["state"] == "active"
    assert row["prefix"] == key[:12] and row["last_used"] != "-" and row["expires"] != "-"
    assert key not in out
    code, out, _err = cli("token", "revoke", row["prefix"])
    assert code == 0 and "revoked" in out
    assert user_for_token(key) is None
    assert rows(cli("token", "list")[1]) == []
    [row] = rows(cli("token", "list", "--all")[1])
    assert row["state"] == "revoked"
    code, out, _err = cli("token", "revoke", row["id"])
    assert code == 0 and "already" in out
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


@pytest.mark.parametrize("days", ["0", "-3", "x", "4000"])
def test_bad_expiry_is_a_usage_error(cli, make_user, days):
    make_user("sara", "support")
    code, out, err = cli("token", "create", "sara", "--expires", days)
    assert code == 2 and out == "" and "days" in err
    assert not ApiToken.objects.exists()


def test_users_list_and_revoke_their_own_only(cli, make_user):
    sara, reza = make_user("sara", "support"), make_user("reza", "analyst")
    do_create_token(Actor.system("test"), sara, "hers")
    do_create_token(Actor.system("test"), reza, "his")
    code, out, _err = cli("token", "list", "--as", "reza")
    assert code == 0 and [r["user"] for r in rows(out)] == ["reza"]
    code, out, err = cli("token", "list", "sara", "--as", "reza")
    assert code == 3 and out == "" and "users.manage" in err
    hers = ApiToken.objects.get(user=sara)
    for given in (str(hers.pk), hers.prefix):
        code, out, err = cli("token", "revoke", given, "--as", "reza")
        assert code == 1 and out == "" and "no token" in err
    assert ApiToken.objects.get(pk=hers.pk).revoked_at is None
    code, out, _err = cli("token", "list", "sara")  # the operator sees everyone's
    assert [r["name"] for r in rows(out)] == ["hers"]


def test_twofactor_list_and_reset(cli, make_user, settings):
    settings.PEYVAND_REQUIRE_2FA = True
    sara = make_user("sara", "owner")
    make_user("reza", "analyst")
    TOTPDevice.objects.create(user=sara, name="phone", confirmed=True)
    code, out, _err = cli("twofactor", "list")
    assert {r["user"]: (r["two_factor"], r["required"]) for r in rows(out)} == {
        "sara": ("on", "yes"), "reza": ("off", "no")}
    code, out, err = cli("twofactor", "reset", "sara", "--as", "reza")
    assert code == 3 and "users.manage" in err and TOTPDevice.objects.exists()
    code, out, _err = cli("twofactor", "reset", "sara")
    assert code == 0 and "reset" in out and not TOTPDevice.objects.exists()
    assert AuditEntry.objects.get(action="2fa.reset").actor_label.startswith("operator:")
    code, out, _err = cli("twofactor", "reset", "sara")
    assert code == 0 and "nothing changed" in out
