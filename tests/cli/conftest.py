from __future__ import annotations

import pytest

from peyvand.cli import main


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch):
    # The CLI speaks the terminal's language; tests read its English messages.
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("PEYVAND_USER", raising=False)


@pytest.fixture
def cli(capsys):
    """Run `peyvand ARGS` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def people(owner_actor):
    """Three live contacts (one Persian, with a custom field) and one erased."""
    from peyvand.contacts.actions import do_add_note, do_erase_contact, do_upsert_contact
    from peyvand.contacts.fields import do_save_custom_field

    do_save_custom_field(owner_actor, key="city", label_fa="شهر", label_en="City",
                         type="choice", choices=["تهران", "London"])
    do_save_custom_field(owner_actor, key="shoe_size", label_fa="سایز", label_en="Shoe size",
                         type="number")
    ali = do_upsert_contact(owner_actor, {
        "first_name": "علي", "last_name": "كريمي", "phone": "۰۹۱۲۳۴۵۶۷۸۹",
        "emails": ["ali@example.com", "ali.k@example.org"], "tags": ["VIP", "مشتری عمده"],
        "fields": {"city": "تهران", "shoe_size": "۴۲"}, "birthday": "1370/01/15"}).contact
    do_add_note(owner_actor, ali, "Prefers phone calls.")
    emma = do_upsert_contact(owner_actor, {"first_name": "=cmd|' /C calc'!A0",
                                           "last_name": "Brown", "email": "emma@example.com",
                                           "language": "en"}).contact
    gone = do_upsert_contact(owner_actor, {"first_name": "Gone", "email": "gone@example.com"})
    do_erase_contact(owner_actor, gone.contact)
    return {"ali": ali, "emma": emma, "gone": gone.contact}
