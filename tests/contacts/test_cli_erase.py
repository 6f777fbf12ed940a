import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.models import Contact, Identity

pytestmark = pytest.mark.django_db


def test_erase_with_yes(cli, people):
    ali = people["ali"]
    code, out, err = cli("contacts", "erase", str(ali.pk), "--yes")
    assert code == 0, err
    assert f"#{ali.pk}" in out
    ali.refresh_from_db()
    assert ali.erased_at and ali.first_name == ""
    assert not Identity.objects.filter(contact=ali).exists()
    assert AuditEntry.objects.filter(action="contact.erase", target_id=str(ali.pk)).exists()


def test_erase_off_a_terminal_needs_yes(cli, people, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _out, err = cli("contacts", "erase", str(people["ali"].pk))
    assert code == 2 and "--yes" in err
    assert Contact.objects.get(pk=people["ali"].pk).erased_at is None


@pytest.mark.parametrize("answer, erased", [("yes", True), ("no", False), ("", False)])
def test_erase_asks_on_a_terminal(cli, people, monkeypatch, answer, erased):
    asked = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    code, _out, _err = cli("contacts", "erase", str(people["ali"].pk))
    assert len(asked) == 1 and "cannot be undone" in asked[0]
    assert code == (0 if erased else 1)
    assert (Contact.objects.get(pk=people["ali"].pk).erased_at is not None) is erased


def test_erase_missing_or_already_erased(cli, people):
    code, _out, err = cli("contacts", "erase", "999999", "--yes")
    assert code == 1 and "999999" in err
    code, out, _err = cli("contacts", "erase", str(people["gone"].pk), "--yes")
    assert code == 0 and "already" in out
    assert AuditEntry.objects.filter(action="contact.erase").count() == 1  # the fixture's
