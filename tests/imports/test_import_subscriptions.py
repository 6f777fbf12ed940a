"""Subscribers brought from another tool (issue 14, line 6): consent columns, an owner's
attestation, opt-outs kept, nobody who ever left re-subscribed, unknown statuses rejected."""

from __future__ import annotations

import argparse
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.accounts.actions import do_create_token
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry, Job
from peyvand.consent import ledger
from peyvand.consent.actions import do_export_proof, do_unsubscribe, proof_csv
from peyvand.consent.ledger import Change, cached_state, replay_contact
from peyvand.consent.models import (
    Action,
    Attestation,
    ConsentChange,
    ConsentState,
    Source,
    Topic,
)
from peyvand.consent.queries import consent_decision
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Contact
from peyvand.imports.cli import add_contact_commands as add_commands
from peyvand.imports.contacts import ImportFailed, import_contacts
from peyvand.imports.subscriptions import Subscriptions
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db
ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]
ATTEST = ("They subscribed through the double opt-in form of our old listmonk, list "
          "Newsletter, between 2021 and 2024.")


@pytest.fixture(autouse=True)
def news(db):
    return Topic.objects.get_or_create(key="news", defaults={
        "name_fa": "اخبار", "name_en": "News", "default_frequency": "monthly"})[0]


def state(email: str, channel: str = "email", topic: Topic | None = None) -> ConsentState:
    return ConsentState.objects.get(contact__identities__value=email, channel=channel,
                                    topic=topic)


def contact_of(email: str) -> Contact:
    return Contact.objects.get(identities__value=email)


def snapshot() -> dict:
    return {"contacts": Contact.objects.count(), "ledger": ConsentChange.objects.count(),
            "attestations": Attestation.objects.count(),
            "audit": list(AuditEntry.objects.values_list("action", flat=True))}


LISTMONK = [["email", "name", "subscription_status", "created_at", "attribs"],
            ["ann@example.com", "Ann", "confirmed", "2022-03-04T10:11:12Z", "{}"],
            ["bob@example.com", "Bob", "unsubscribed", "2021-01-01T00:00:00Z", "{}"],
            ["cy@example.com", "Cy", "unconfirmed", "2024-01-01T00:00:00Z", "{}"],
            ["di@example.com", "Di", "blocklisted", "", "{}"],
            ["ed@example.com", "Ed", "gold member", "", "{}"],
            ["fa@example.com", "Fa", "", "", "{}"]]


def run(actor, path, report=None, **subscriptions):
    return import_contacts(actor, path, mapping={
        "subscription_status": "consent.status", "created_at": "consent.opted_in_at"},
        subscriptions=Subscriptions(**{"attestation": ATTEST, "channel": "email",
                                       "topics": ["news"], **subscriptions}),
        report_path=report)


def test_a_listmonk_export_with_attestation(owner_actor, write_csv, tmp_path, news):
    report = tmp_path / "report.csv"
    result = run(owner_actor, write_csv(LISTMONK), report,
                 evidence="listmonk export of list Newsletter, 2024-05-01")
    assert result.totals.as_dict() == {"read": 6, "created": 4, "updated": 0, "merged": 0,
                                       "rejected": 2}
    assert result.consent.as_dict() == {"subscribed": 1, "opted_out": 2, "unchanged": 0,
                                        "not_subscribed": 1}
    # Subscribed at once, on the channel and the topic, with the original date and the proof.
    assert state("ann@example.com").status == "in"
    assert state("ann@example.com", topic=news).status == "in"
    assert consent_decision(contact_of("ann@example.com").pk, "email", "news").allowed
    row = ConsentChange.objects.filter(contact=contact_of("ann@example.com")).first()
    assert (row.source, row.actor_label) == ("import", owner_actor.label)
    assert row.details["opted_in_at"].startswith("2022-03-04T10:11:12")
    assert row.details["source_status"] == "confirmed"
    attestation = row.attestation
    assert (attestation.text, attestation.attested_by, attestation.evidence) == \
        (ATTEST, owner_actor.user, "listmonk export of list Newsletter, 2024-05-01")
    proof = do_export_proof(owner_actor, contact_of("ann@example.com"))
    assert proof["history"][0]["attestation"]["text"] == ATTEST
    assert ATTEST in proof_csv(proof)
    # Unsubscribed and blocklisted rows are opt-outs that suppress.
    assert (state("bob@example.com").status, state("bob@example.com").suppression) == \
        ("out", "opted_out")
    assert state("di@example.com").suppression == "opted_out"
    # Unconfirmed: imported, no consent, reported; unknown and empty statuses: rejected.
    assert not ConsentState.objects.filter(contact=contact_of("cy@example.com")).exists()
    lines = {r["row"]: r for r in read_report(report)}
    assert set(lines) == {"4", "6", "7"}
    assert lines["4"]["reason"].startswith("Imported, but not subscribed")
    assert (lines["6"]["column"], lines["6"]["value"]) == ("subscription_status",
                                                           "gold member")
    assert "Unknown subscription status" in lines["6"]["reason"]
    assert "empty" in lines["7"]["reason"]
    assert not Contact.objects.filter(identities__value="ed@example.com").exists()
    for contact in Contact.objects.all():
        assert cached_state(contact.pk) == replay_contact(contact.pk)


def test_mailchimp_per_status_exports(owner_actor, write_csv):
    header = ["Email Address", "First Name", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP"]
    subscribed = write_csv([header, ["m1@example.com", "M", "2", "2023-05-01 10:22:11",
                                     "203.0.113.5"]])
    cleaned = write_csv([header, ["m2@example.com", "N", "1", "", ""]])
    for path, status in ((subscribed, "subscribed"), (cleaned, "cleaned")):
        result = import_contacts(owner_actor, path, mapping={
            "OPTIN_TIME": "consent.opted_in_at", "OPTIN_IP": "consent.evidence"},
            subscriptions=Subscriptions(attestation=ATTEST, status=status, channel="email"))
        assert result.totals.rejected == 0
    row = ConsentChange.objects.get(contact=contact_of("m1@example.com"))
    assert row.details["evidence"] == "203.0.113.5"
    assert state("m1@example.com").status == "in"
    assert state("m2@example.com").suppression == "hard_bounce"
    # MEMBER_RATING is engagement, not consent: it was never read as a status.
    assert "MEMBER_RATING" not in json.dumps(row.details)


def test_mautic_do_not_contact_reasons(owner_actor, write_csv):
    path = write_csv([["email", "doNotContact"], ["u1@example.com", "unsubscribed"],
                      ["u2@example.com", "bounced"], ["u3@example.com", "manual"]])
    import_contacts(owner_actor, path, mapping={"doNotContact": "consent.status"},
                    subscriptions=Subscriptions(attestation=ATTEST, channel="email"))
    assert [state(f"u{i}@example.com").suppression for i in (1, 2, 3)] == \
        ["opted_out", "hard_bounce", "opted_out"]


def test_nobody_who_ever_left_is_subscribed_again(owner_actor, write_csv, tmp_path, news):
    from peyvand.consent.actions import record_bounce, record_complaint

    system = Actor.system("test")
    people = {name: do_create_contact(system, {"email": f"{name}@example.com"})
              for name in ("left", "bounced", "complained", "back", "pending")}
    do_unsubscribe(people["left"], ["email"])
    record_bounce(people["bounced"].pk, "email", hard=True)
    record_complaint(people["complained"].pk, "email")
    # Left, then came back through their own confirmed sign-up: subscribed to nothing more.
    do_unsubscribe(people["back"], ["email"])
    ledger.append(people["back"], [Change(Action.OPT_IN, "email", None)],
                  source=Source.FORM, actor_label="form:x")
    ledger.append(people["back"], [Change(Action.CONFIRM, "email", None)],
                  source=Source.FORM, actor_label="contact")
    ledger.append(people["pending"], [Change(Action.OPT_IN, "email", None)],
                  source=Source.FORM, actor_label="form:x")
    before = {name: list(ConsentState.objects.filter(contact=c).values_list(
        "topic", "status", "suppression")) for name, c in people.items()}
    path = write_csv([["email", "status"]] + [[f"{n}@example.com", "subscribed"]
                                              for n in people])
    report = tmp_path / "report.csv"
    result = import_contacts(owner_actor, path, mapping={"status": "consent.status"},
                             subscriptions=Subscriptions(attestation=ATTEST, channel="email",
                                                         topics=["news"]),
                             report_path=report)
    assert result.consent.as_dict() == {"subscribed": 0, "opted_out": 0, "unchanged": 0,
                                        "not_subscribed": 5}
    after = {name: list(ConsentState.objects.filter(contact=c).values_list(
        "topic", "status", "suppression")) for name, c in people.items()}
    assert after == before
    reasons = [r["reason"] for r in read_report(report)]
    assert len(reasons) == 5
    assert sum("only their own sign-up can" in r for r in reasons) == 4
    assert sum("not confirmed yet" in r for r in reasons) == 1
    assert not ConsentChange.objects.filter(source="import").exists()


def test_an_address_that_left_stays_left_after_its_person_is_erased(owner_actor, write_csv,
                                                                    tmp_path, news):
    """Erasure deletes the addresses; a digest of one that left a channel stays, so an import
    bringing it back as a stranger does not subscribe it. The person's own sign-up still
    can, and nothing else is kept: not the address, not who it was."""
    from peyvand.consent.models import ErasedOptOut
    from peyvand.contacts.actions import do_erase_contact

    system = Actor.system("test")
    gone = do_create_contact(system, {"email": "gone@example.com", "phones": ["09121234567"]})
    do_unsubscribe(gone, ["email"])
    kept = do_create_contact(system, {"email": "kept@example.com"})  # never left anything
    do_erase_contact(owner_actor, gone)
    do_erase_contact(owner_actor, kept)
    [memory] = ErasedOptOut.objects.all()  # the e-mail channel only; no mobile, no contact
    assert memory.channel == "email" and "gone" not in memory.digest
    path = write_csv([["email", "status"], ["GONE@example.com", "subscribed"],
                      ["kept@example.com", "subscribed"]])
    report = tmp_path / "report.csv"
    result = import_contacts(owner_actor, path, mapping={"status": "consent.status"},
                             subscriptions=Subscriptions(attestation=ATTEST, channel="email",
                                                         topics=["news"]),
                             report_path=report)
    assert result.consent.as_dict() == {"subscribed": 1, "opted_out": 0, "unchanged": 0,
                                        "not_subscribed": 1}
    back = contact_of("gone@example.com")
    assert back.pk != gone.pk and consent_decision(back.pk, "email").reason == "no_consent"
    assert consent_decision(contact_of("kept@example.com").pk, "email", "news").allowed
    [line] = read_report(report)
    assert line["row"] == "2" and "only their own sign-up can" in line["reason"]


def test_conflicting_rows_unsubscribe_wins_and_a_channel_needs_its_address(owner_actor,
                                                                            write_csv):
    path = write_csv([["email", "mobile", "status", "channel"],
                      ["twice@example.com", "", "subscribed", "email"],
                      ["twice@example.com", "", "unsubscribed", "email"],
                      ["nophone@example.com", "", "subscribed", "sms"],
                      ["nophone2@example.com", "", "unsubscribed", "پیامک"]])
    result = import_contacts(owner_actor, path, mapping={"status": "consent.status",
                                                         "channel": "consent.channel"},
                             subscriptions=Subscriptions(attestation=ATTEST))
    assert result.consent.as_dict() == {"subscribed": 0, "opted_out": 2, "unchanged": 0,
                                        "not_subscribed": 2}
    assert state("twice@example.com").status == "out"
    assert not ConsentState.objects.filter(contact=contact_of("nophone@example.com")).exists()
    # An opt-out needs no address: it only protects.
    assert state("nophone2@example.com", "sms").suppression == "opted_out"


def test_importing_twice_changes_nothing(owner_actor, write_csv):
    path = write_csv(LISTMONK[:4])
    run(owner_actor, path)
    rows = ConsentChange.objects.count()
    again = run(owner_actor, path)
    assert again.consent.as_dict() == {"subscribed": 0, "opted_out": 0, "unchanged": 2,
                                       "not_subscribed": 1}
    assert ConsentChange.objects.count() == rows


@pytest.mark.parametrize("subscriptions, field", [
    ({"attestation": ""}, "attestation"),
    ({"attestation": "ok, trust me"}, "at least 20"),
    ({"channel": ""}, "channel"),
    ({"channel": "fax"}, "fax"),
    ({"topics": ["nope"]}, "nope"),
])
def test_nothing_is_imported_without_what_the_owner_must_say(owner_actor, write_csv,
                                                             subscriptions, field):
    before = snapshot()
    with pytest.raises(ImportFailed) as info:
        run(owner_actor, write_csv(LISTMONK), **subscriptions)
    assert field in str(info.value)
    assert snapshot() == before


def test_consent_columns_are_never_guessed(owner_actor, write_csv):
    path = write_csv([["email", "status", "subscription_status"],
                      ["x@example.com", "subscribed", "confirmed"]])
    result = import_contacts(owner_actor, path)
    assert result.consent is None and "consent.status" not in result.targets
    assert not ConsentChange.objects.exists()


# --- faces and roles ------------------------------------------------------------------------

def peyvand_contacts(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="peyvand contacts")
    add_commands(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.mark.parametrize("role", ROLES)
def test_cli_role_matrix(role, make_user, write_csv, capsys):
    make_user(f"{role}-cli", role)
    path = write_csv(LISTMONK[:3])
    before = snapshot()
    code = peyvand_contacts("import", str(path), "--as", f"{role}-cli",
                            "--consent-column", "status=subscription_status",
                            "--consent-column", "opted_in_at=created_at",
                            "--consent-channel", "email", "--consent-topic", "news",
                            "--consent-evidence", "listmonk export", "--attest", ATTEST)
    out, err = capsys.readouterr()
    if role != "owner":
        assert code == 3, err
        assert snapshot() == before
        return
    assert code == 0, err
    assert out.splitlines()[-2:] == [
        "consent: subscribed=1 opted_out=1 unchanged=0 not_subscribed=0",
        "read=2 created=2 updated=0 merged=0 rejected=0"]
    assert Attestation.objects.get().actor_label == "owner-cli"
    assert Job.objects.get().status == "done"


def test_cli_refuses_consent_without_attestation_and_bad_fields(write_csv, capsys):
    path = write_csv(LISTMONK[:3])
    assert peyvand_contacts("import", str(path), "--consent-column",
                            "status=subscription_status", "--consent-channel", "email") == 1
    assert "attestation" in capsys.readouterr().err
    assert peyvand_contacts("import", str(path), "--consent-column", "mood=status",
                            "--attest", ATTEST) == 2
    assert "--consent-column" in capsys.readouterr().err
    assert not Contact.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_wizard_role_matrix(role, make_user, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(make_user(f"{role}-ui", role))
    content = b"email,subscription_status\r\nw@example.com,confirmed\r\n"
    response = client.post("/imports/", {"file": SimpleUploadedFile("l.csv", content)})
    if role in ("reviewer", "analyst"):
        assert response.status_code == 403
        return
    page = client.get(response["Location"]).content.decode()
    assert ('name="attestation"' in page) == (role == "owner")
    assert ('id="subscriptions-owner-only"' in page) == (role != "owner")
    before = snapshot()
    data = {"col_0": "email", "col_1": "consent.status", "consent_channel": "email",
            "consent_topics": ["news"], "attestation": ATTEST}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], data)
    if role != "owner":
        assert response.status_code == 200  # consent.status is not among their choices
        assert snapshot() == before
        return
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == "done" and job.result["consent"]["subscribed"] == 1
    assert state("w@example.com").status == "in"
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-consent"' in page


def test_wizard_asks_for_the_attestation(make_user):
    client = Client()
    client.force_login(make_user("owner-ui", "owner"))
    content = b"email,subscription_status\r\nw@example.com,confirmed\r\n"
    location = client.post("/imports/", {"file": SimpleUploadedFile("l.csv", content)})[
        "Location"]
    response = client.post(location, {"col_0": "email", "col_1": "consent.status",
                                      "consent_channel": "email"})
    assert response.status_code == 200
    assert "needs your attestation" in response.content.decode()
    assert not Job.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("role", ["owner", "marketer", "support"])
def test_api_role_matrix(role, make_user, django_capture_on_commit_callbacks):
    user = make_user(f"{role}-api", role)
    client = Client(headers={"authorization": "Bearer " + do_create_token(
        Actor.system("test"), user, "t")})
    content = b"email,subscription_status\r\na@example.com,confirmed\r\n"
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/imports/contacts", {
            "file": SimpleUploadedFile("l.csv", content, "text/csv"),
            "mapping": json.dumps({"subscription_status": "consent.status"}),
            "subscriptions": json.dumps({"attestation": ATTEST, "channel": "email"})})
    if role != "owner":
        assert response.status_code == 403
        assert snapshot() == before and not Job.objects.exists()
        return
    assert response.status_code == 202, response.content
    status = client.get(response.json()["status_url"]).json()
    assert status["consent"] == {"subscribed": 1, "opted_out": 0, "unchanged": 0,
                                 "not_subscribed": 0}


@pytest.mark.parametrize("given", ['{"attestation": 5}', '{"topics": "news"}', "[1]",
                                   '{"attest": "x"}', "not json"])
def test_api_refuses_malformed_subscriptions(given, make_user):
    user = make_user("owner-api", "owner")
    client = Client(headers={"authorization": "Bearer " + do_create_token(
        Actor.system("test"), user, "t")})
    before = snapshot()
    response = client.post("/api/v1/imports/contacts", {
        "file": SimpleUploadedFile("l.csv", b"email\r\na@example.com\r\n", "text/csv"),
        "subscriptions": given})
    assert response.status_code == 400
    assert "subscriptions" in response.json()["errors"]
    assert snapshot() == before and not Job.objects.exists()
