import pytest
from django.contrib.auth import get_user_model

from peyvand.accounts.actions import user_for_token
from peyvand.base.models import AuditEntry

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_createuser_creates_a_user_with_role_and_language(cli):
    code, out, err = cli("createuser", "Sara", "--role", "marketer", "--password",
                         "Long-enough-pw-9", "--language", "en")
    assert code == 0, err
    user = User.objects.get(username="Sara")
    assert user.profile.role == "marketer" and user.profile.language == "en"
    assert user.check_password("Long-enough-pw-9")
    assert "Sara" in out
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.via == "cli" and entry.actor_label.startswith("operator:")


def test_createuser_refuses_duplicates_and_weak_passwords(cli, owner):
    code, out, err = cli("createuser", "OWNER", "--role", "support", "--password",
                         "Long-enough-pw-9")
    assert code == 1 and out == "" and "already exists" in err
    code, _out, err = cli("createuser", "bob", "--role", "support", "--password", "short")
    assert code == 1 and "too short" in err
    assert not User.objects.filter(username="bob").exists()


def test_createuser_without_password_off_a_terminal_is_refused(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _out, err = cli("createuser", "bob", "--role", "support")
    assert code == 2 and "--password" in err
    assert not User.objects.filter(username="bob").exists()


def test_token_create_prints_only_a_working_token(cli, make_user):
    sara = make_user("sara", "support")
    code, out, err = cli("token", "create", "sara")
    assert code == 0, err
    token = out.removesuffix("\n")
    assert out == token + "\n" and "\n" not in token and " " not in token
    assert user_for_token(token) == sara
    assert AuditEntry.objects.filter(action="token.create", target_id=str(sara.pk)).exists()


def test_token_create_for_unknown_user(cli):
    code, out, err = cli("token", "create", "nobody")
    assert code == 1 and out == "" and "nobody" in err


def test_users_may_make_their_own_token_but_not_others(cli, make_user):
    make_user("sara", "support")
    make_user("reza", "analyst")
    code, out, _err = cli("token", "create", "reza", "--as", "reza")
    assert code == 0 and user_for_token(out.strip()).username == "reza"
    code, out, err = cli("token", "create", "sara", "--as", "reza")
    assert code == 3 and out == "" and "users.manage" in err


def test_only_owners_create_users(cli, make_user):
    make_user("sara", "marketer")
    code, _out, err = cli("createuser", "bob", "--role", "owner", "--password",
                          "Long-enough-pw-9", "--as", "sara")
    assert code == 3 and "Permission denied" in err
    assert not User.objects.filter(username="bob").exists()
