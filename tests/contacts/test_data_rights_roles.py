"""Only the owner erases or exports a person, through the UI, the API and the CLI; a refused
erasure touches nothing an erasure would (other floors' rows, caught mail, export files)."""

from __future__ import annotations

import pytest
from django.test import Client

from peyvand.accounts.actions import do_create_token
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.cli import EXIT_DENIED, EXIT_OK, main
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Contact
from peyvand.mailcatcher.models import CaughtMail
from peyvand.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]
ADDRESS = "erase-me-roles@example.com"


@pytest.fixture
def world(owner_actor, home):
    person = do_create_contact(owner_actor, {"first_name": "Erasa", "email": ADDRESS})
    OutboxMessage.objects.create(source="test:1", contact=person, channel="email",
                                 to_address=ADDRESS, subject="Hello", message_class="marketing",
                                 state="sent")
    CaughtMail.objects.create(raw=f"To: {ADDRESS}\r\n\r\nhi".encode(), to=[ADDRESS])
    exports = home / "exports"
    exports.mkdir()
    (exports / "contacts-1.csv").write_text(f"id,emails\r\n{person.pk},{ADDRESS}\r\n")
    return person


def state(home):
    return (sorted((p.name, p.read_bytes()) for p in (home / "exports").iterdir()),
            list(Contact.objects.values_list("first_name", "erased_at")),
            list(OutboxMessage.objects.values_list("to_address", "subject", "state")),
            CaughtMail.objects.count(), AuditEntry.objects.count())


def eraser(face: str, user, pk: int):
    """A call asking for the erasure through one face (its token made beforehand); it says
    whether the erasure was done."""
    if face == "ui":
        client = Client()
        client.force_login(user)
        return lambda: client.post(f"/contacts/{pk}/erase/").status_code == 302
    if face == "api":
        key = do_create_token(Actor.system("test"), user, "tests")
        client = Client(headers={"authorization": f"Bearer {key}"})
        return lambda: client.delete(f"/api/v1/contacts/{pk}").status_code == 204

    def cli() -> bool:
        code = main(["contacts", "erase", str(pk), "--yes", "--as", user.username])
        assert code in (EXIT_OK, EXIT_DENIED)
        return code == EXIT_OK

    return cli


@pytest.mark.parametrize("face", ["ui", "api", "cli"])
@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_erases_and_a_refusal_touches_nothing(make_user, world, home, face,
                                                            role, capsys):
    erase = eraser(face, make_user(f"{role}-{face}", role), world.pk)
    before = state(home)
    done = erase()
    assert done is (role == "owner")
    if done:
        assert CaughtMail.objects.count() == 0
        assert ADDRESS not in (home / "exports" / "contacts-1.csv").read_text()
        assert OutboxMessage.objects.get().to_address == ""
    else:
        assert state(home) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_exports_a_person(make_user, world, role):
    user = make_user(f"{role}-x", role)
    client = Client()
    client.force_login(user)
    response = client.post(f"/contacts/{world.pk}/export/")
    if role == "owner":
        assert response.status_code == 200 and "messages" in response.json()
    else:
        assert response.status_code == 403
        assert not AuditEntry.objects.filter(action="contact.export").exists()
