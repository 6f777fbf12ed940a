"""Staff may reduce consent, never add it back; roles decide who may do what; proof export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.exceptions import PermissionDenied

from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.cli import main
from peyvand.consent import ledger
from peyvand.consent.actions import ConsentRefused, do_export_proof, do_staff_change
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, ConsentChange, ConsentState, Source
from peyvand.consent.queries import consent_decision
from tests.consent.conftest import ROLES


def snapshot() -> dict:
    return {"ledger": list(ConsentChange.objects.order_by("pk").values_list("pk", flat=True)),
            "state": list(ConsentState.objects.order_by("pk").values_list(
                "pk", "status", "frequency", "format", "paused_until")),
            "audit": list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))}


@pytest.fixture
def unsubscribed(person, subscribe):
    contact = subscribe(person(), topic_keys=("news", "offers"))
    ledger.append(contact, [Change(Action.OPT_OUT, "email")], source=Source.UNSUBSCRIBE,
                  actor_label="contact")
    return contact


@pytest.mark.parametrize("raw", [
    {"action": "opt_in", "channel": "email"},
    {"action": "confirm", "channel": "email"},
    {"action": "resume", "channel": "email"},
    {"action": "subscribe", "channel": "email"},
])
def test_staff_cannot_subscribe_anyone(owner_actor, unsubscribed, raw):
    before = snapshot()
    with pytest.raises(ConsentRefused) as info:
        do_staff_change(owner_actor, unsubscribed, raw)
    assert "action" in info.value.errors
    assert snapshot() == before
    assert consent_decision(unsubscribed.pk, "email", "news").reason == "opted_out"


def test_staff_cannot_make_messages_more_frequent_or_pauses_shorter(owner_actor, person,
                                                                    subscribe):
    contact = subscribe(person(), topic_keys=("news",), frequency="monthly")
    with pytest.raises(ConsentRefused) as info:
        do_staff_change(owner_actor, contact, {"action": "preference_change",
                                               "channel": "email", "topic": "news",
                                               "frequency": "weekly"})
    assert "frequency" in info.value.errors
    do_staff_change(owner_actor, contact, {"action": "pause", "channel": "email",
                                           "weeks": "8"})
    with pytest.raises(ConsentRefused):
        do_staff_change(owner_actor, contact, {"action": "pause", "channel": "email",
                                               "weeks": "2"})


def test_staff_reduce_is_recorded_and_audited(owner_actor, person, subscribe):
    contact = subscribe(person(), topic_keys=("news",), frequency="weekly")
    row = do_staff_change(owner_actor, contact, {"action": "preference_change",
                                                 "channel": "email", "topic": "news",
                                                 "frequency": "quarterly",
                                                 "note": "asked by phone"})
    assert (row.source, row.actor_label, row.details["frequency"]) == \
        ("staff", "owner", "quarterly")
    do_staff_change(owner_actor, contact, {"action": "opt_out", "channel": "email"})
    assert consent_decision(contact.pk, "email", "news").reason == "opted_out"
    assert AuditEntry.objects.filter(action="consent.reduce", target_id=str(contact.pk)) \
        .count() == 2
    # Only the person's own confirmed sign-up lifts the suppression staff set.
    with pytest.raises(ConsentRefused):
        do_staff_change(owner_actor, contact, {"action": "opt_in", "channel": "email"})


def test_staff_refusal_through_the_api_is_400_and_changes_nothing(api_for, unsubscribed):
    api = api_for("support")
    before = snapshot()
    response = api.post(f"/api/v1/contacts/{unsubscribed.pk}/consent",
                        {"action": "opt_in", "channel": "email"},
                        content_type="application/json")
    assert response.status_code == 400
    assert "Staff may only reduce contact" in response.json()["detail"]
    assert snapshot() == before
    response = api.post(f"/api/v1/contacts/{unsubscribed.pk}/consent",
                        {"action": "opt_out", "channel": "sms", "note": "asked"},
                        content_type="application/json")
    assert response.status_code == 201
    assert response.json()["source"] == "staff"


def test_staff_refusal_in_the_web_page(client_for, unsubscribed):
    client = client_for("marketer")
    url = f"/consent/contacts/{unsubscribed.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and 'id="staff-change"' in page.content.decode()
    before = snapshot()
    response = client.post(url, {"action": "preference_change", "channel": "email",
                                 "topic": "news", "frequency": "weekly"})
    assert response.status_code == 400
    assert snapshot() == before
    response = client.post(url, {"action": "opt_out", "channel": "sms"})
    assert response.status_code == 302


# --- roles -------------------------------------------------------------------------------------

CAN = {
    "consent.view": set(ROLES),
    "consent.reduce": {"owner", "marketer", "support"},
    "consent.export": {"owner"},
    "consent.send_link": {"owner", "marketer", "support"},
    "forms.manage": {"owner", "marketer"},
}


@pytest.mark.parametrize("role", ROLES)
def test_api_role_matrix(api_for, role, unsubscribed, topics, signup_form):
    api = api_for(role)
    cid = unsubscribed.pk

    def call(method, url, data=None):
        before = snapshot()
        kwargs = {"content_type": "application/json"} if data is not None else {}
        response = getattr(api, method)(url, data if data is not None else {}, **kwargs) \
            if method != "get" else api.get(url)
        return response, before

    for url in (f"/api/v1/contacts/{cid}/consent", f"/api/v1/contacts/{cid}/consent/history",
                "/api/v1/topics", "/api/v1/forms", "/api/v1/consent/churn",
                "/api/v1/consent/incentives", "/api/v1/consent/suppressions"):
        assert api.get(url).status_code == 200, url

    response, before = call("post", f"/api/v1/contacts/{cid}/consent",
                            {"action": "opt_out", "channel": "sms"})
    assert response.status_code == (201 if role in CAN["consent.reduce"] else 403)
    if response.status_code == 403:
        assert snapshot() == before

    # The links themselves are never handed out; the person can be mailed theirs.
    assert api.get(f"/api/v1/contacts/{cid}/links").status_code == 404
    response, before = call("post", f"/api/v1/contacts/{cid}/consent/preference-link", {})
    assert response.status_code == (400 if role in CAN["consent.send_link"] else 403)
    assert snapshot() == before  # nobody to mail: they left everything

    response, before = call("get", f"/api/v1/contacts/{cid}/consent/proof")
    assert response.status_code == (200 if role in CAN["consent.export"] else 403)
    if response.status_code == 403:
        assert snapshot() == before

    response, before = call("post", "/api/v1/topics", {"key": f"t-{role}", "name_fa": "ت",
                                                        "name_en": "T"})
    assert response.status_code == (201 if role in CAN["forms.manage"] else 403)
    response, before = call("patch", "/api/v1/forms/spring", {"name": "Renamed"})
    assert response.status_code == (200 if role in CAN["forms.manage"] else 403)
    if response.status_code == 403:
        assert snapshot() == before
        signup_form.refresh_from_db()
        assert signup_form.name == "Spring"


@pytest.mark.parametrize("role", ROLES)
def test_web_role_matrix(client_for, role, unsubscribed, signup_form):
    client = client_for(role)
    for url in ("/consent/", "/consent/topics/", "/consent/report/", "/consent/churn/",
                "/consent/suppressions/", f"/consent/contacts/{unsubscribed.pk}/",
                f"/consent/forms/{signup_form.pk}/"):
        assert client.get(url).status_code == 200, url
    manage = role in CAN["forms.manage"]
    assert client.get("/consent/forms/new/").status_code == (200 if manage else 403)
    assert client.get("/consent/topics/new/").status_code == (200 if manage else 403)
    before = snapshot()
    response = client.post(f"/consent/contacts/{unsubscribed.pk}/proof/", {"format": "json"})
    assert response.status_code == (200 if role in CAN["consent.export"] else 403)
    if response.status_code == 403:
        assert snapshot() == before
    page = client.get(f"/consent/contacts/{unsubscribed.pk}/").content.decode()
    assert ('id="proof-export"' in page) == (role in CAN["consent.export"])
    assert ('id="staff-change"' in page) == (role in CAN["consent.reduce"])


# --- proof of consent -----------------------------------------------------------------------------

def test_proof_holds_the_exact_text_agreed_to(client, signup_form, started, owner_actor,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/consent/f/spring/?lang=en", {
            "t": started(signup_form), "email": "proof@example.com", "topics": ["news"],
            "channels_shown": "1", "channels": ["email"]}, REMOTE_ADDR="198.51.100.4")
    contact = ConsentChange.objects.get(topic=None).contact
    data = do_export_proof(owner_actor, contact)
    first = data["history"][0]
    assert first["text"] == "I want to receive the messages I chose."
    assert (first["text_version"], first["text_language"], first["ip"], first["form"]) == \
        (1, "en", "198.51.100.4", "spring")
    assert data["current"][0]["status"] == "pending"
    assert AuditEntry.objects.filter(action="consent.export").count() == 1
    with pytest.raises(PermissionDenied):
        do_export_proof(Actor(user=None, role="marketer", via="ui", label="m"), contact)


def test_proof_in_the_web_page_api_and_cli(client_for, api_for, unsubscribed, tmp_path, capsys,
                                           monkeypatch):
    client = client_for("owner")
    response = client.post(f"/consent/contacts/{unsubscribed.pk}/proof/", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["at", "channel", "topic", "action"]
    assert [r[3] for r in rows[1:]] == ["opt_in", "opt_in", "opt_in", "confirm", "opt_out"]

    api = api_for("owner")
    assert len(api.get(f"/api/v1/contacts/{unsubscribed.pk}/consent/proof").json()
               ["history"]) == 5
    assert api.get(f"/api/v1/contacts/{unsubscribed.pk}/consent/proof?format=csv")[
        "Content-Type"].startswith("text/csv")

    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("PEYVAND_USER", raising=False)
    out = tmp_path / "proof.json"
    assert main(["consent", "proof", str(unsubscribed.pk), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["contact_id"] == unsubscribed.pk
    assert oct(out.stat().st_mode)[-3:] == "600"
    assert main(["consent", "proof", str(unsubscribed.pk), "--output", str(out), "--as",
                 "owner-api"]) == 0
    assert main(["consent", "proof", "999999", "--output", str(out)]) == 1
    assert AuditEntry.objects.filter(action="consent.export").count() == 5
    capsys.readouterr()


def test_cli_proof_is_refused_for_other_roles(make_user, unsubscribed, tmp_path, capsys,
                                              monkeypatch):
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    make_user("mark", "marketer")
    out = tmp_path / "proof.json"
    assert main(["consent", "proof", str(unsubscribed.pk), "--output", str(out),
                 "--as", "mark"]) == 3
    assert not out.exists()
    assert not AuditEntry.objects.filter(action="consent.export").exists()
    capsys.readouterr()
