import pytest

from peyvand.base.models import AuditEntry
from peyvand.base.roles import ROLES
from peyvand.contacts.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_with(make_user):
    def make(role):
        return make_user(f"{role}-user", role).username

    return make


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_as_each_role(cli, people, tmp_path, user_with, role, fmt):
    name = user_with(role)
    out_file = tmp_path / f"out.{fmt}"
    code, out, err = cli("contacts", "export", "--format", fmt, "--output", str(out_file),
                         "--as", name)
    if role == "owner":
        assert code == 0, err
        entry = AuditEntry.objects.get(action="contacts.export")
        assert entry.actor.username == name and entry.details["count"] == 2
    else:
        assert code == 3
        assert out == "" and "Permission denied" in err and "contacts.export" in err
        assert list(tmp_path.iterdir()) == []  # not even a partial file
        assert not AuditEntry.objects.filter(action="contacts.export").exists()


@pytest.mark.parametrize("role", ROLES)
def test_single_contact_export_as_each_role(cli, people, tmp_path, user_with, role):
    code, _out, _err = cli("contacts", "export", "--format", "json", "--output",
                           str(tmp_path / "one.json"), "--contact", str(people["ali"].pk),
                           "--as", user_with(role))
    assert code == (0 if role == "owner" else 3)
    assert (tmp_path / "one.json").exists() is (role == "owner")


@pytest.mark.parametrize("role", ROLES)
def test_erase_as_each_role(cli, people, user_with, role, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("must not ask"))
    ali = people["ali"]
    code, _out, err = cli("contacts", "erase", str(ali.pk), "--yes", "--as", user_with(role))
    ali.refresh_from_db()
    if role == "owner":
        assert code == 0, err
        assert ali.erased_at is not None
    else:
        assert code == 3 and "contacts.erase" in err
        assert ali.erased_at is None and ali.first_name == "علی"
        assert ali.identities.count() == 3


def test_denied_before_any_question(cli, people, user_with, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("must not ask"))
    code, _out, _err = cli("contacts", "erase", str(people["ali"].pk), "--as",
                           user_with("support"))
    assert code == 3


def test_peyvand_user_environment_variable(cli, people, tmp_path, user_with, monkeypatch):
    monkeypatch.setenv("PEYVAND_USER", user_with("analyst"))
    code, _out, _err = cli("contacts", "export", "--format", "csv", "--output",
                           str(tmp_path / "x.csv"))
    assert code == 3 and not (tmp_path / "x.csv").exists()
    # --as wins over the environment.
    code, _out, err = cli("contacts", "export", "--format", "csv", "--output",
                          str(tmp_path / "x.csv"), "--as", user_with("owner"))
    assert code == 0, err


def test_unknown_and_deactivated_users(cli, people, make_user, tmp_path):
    code, _out, err = cli("contacts", "erase", str(people["ali"].pk), "--yes", "--as", "ghost")
    assert code == 1 and "ghost" in err
    owner2 = make_user("former", "owner")
    owner2.is_active = False
    owner2.save()
    code, _out, err = cli("contacts", "erase", str(people["ali"].pk), "--yes", "--as", "former")
    assert code == 3 and "deactivated" in err
    assert Contact.objects.get(pk=people["ali"].pk).erased_at is None
