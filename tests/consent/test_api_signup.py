"""The public sign-up API: the same checks as the hosted page."""

from __future__ import annotations

import re
import time

import pytest

from peyvand.consent.models import ConsentChange, Signup
from peyvand.consent.queries import consent_decision
from peyvand.contacts.models import Contact
from peyvand.mailcatcher.models import CaughtSms
from tests.outbound import body

BASE = "/api/v1/forms/spring"


@pytest.fixture
def submit(client, signup_form, django_capture_on_commit_callbacks, deliver):
    """Submit, then run what was queued on commit and the sender; the response carries the
    delivered mail as `.inbox`."""

    def send(data, ip="198.51.100.20"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{BASE}/submit", data, content_type="application/json",
                                   REMOTE_ADDR=ip)
        response.inbox = deliver()
        return response

    return send


def test_start_gives_the_form_and_a_signed_start(client, signup_form):
    body = client.get(f"{BASE}/start?lang=en").json()
    assert body["title"] == "Spring newsletter" and body["incentive_kind"] == "save"
    assert [t["key"] for t in body["topics"]] == ["news", "offers"]
    assert [c["key"] for c in body["channels"]] == ["email", "sms"]
    assert body["consent_text"] == "I want to receive the messages I chose."
    assert body["text_version"] == 1 and body["started"]
    assert client.get("/api/v1/forms/nope/start").status_code == 404


def test_submit_then_confirm(client, submit, signup_form, monkeypatch):
    started = client.get(f"{BASE}/start").json()["started"]
    response = submit({"email": "api@example.com", "topics": ["offers"], "started": started,
                       "language": "en"})
    assert response.status_code == 400
    assert "quick" in response.json()["detail"].lower()  # the same minimum fill time
    later = time.time() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    response = submit({"email": "api@example.com", "topics": ["offers"], "started": started,
                       "language": "en", "text_version": 1})
    assert response.status_code == 202, response.json()
    assert response.json() == {"status": "accepted", "email_sent": True, "code_token": ""}
    contact = Contact.objects.get(identities__value="api@example.com")
    assert Signup.objects.get(contact=contact).via == "api"
    assert consent_decision(contact.pk, "email", "offers").reason == "unconfirmed"
    link = re.search(r"/consent/c/\S+/", body(response.inbox[0])).group(0)
    client.post(link)
    assert consent_decision(contact.pk, "email", "offers").allowed


def test_submit_validation_spam_and_rate(client, submit, signup_form, started, settings):
    token = started(signup_form)
    response = submit({"topics": ["news"], "started": token})
    assert response.status_code == 400 and "email" in response.json()["errors"]
    response = submit({"email": "x@example.com", "started": token, "unknown": 1})
    assert response.status_code == 422
    response = submit({"email": "bot@example.com", "started": token, "website": "spam"})
    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    assert not ConsentChange.objects.exists()
    settings.CONSENT_SIGNUP_LIMIT = 3  # the 422 above never reached the counter
    assert submit({"email": "y@example.com", "started": token}).status_code == 202
    assert submit({"email": "z@example.com", "started": token}).status_code == 429
    assert not Contact.objects.filter(identities__value="z@example.com").exists()


def test_mobile_code_through_the_api(client, submit, signup_form, started):
    response = submit({"phone": "09121234567", "channels": ["sms"], "started":
                       started(signup_form), "topics": ["news"]})
    token = response.json()["code_token"]
    assert token and response.json()["email_sent"] is False
    code = re.search(r"\d{6}", CaughtSms.objects.get().text).group(0)
    bad = client.post(f"{BASE}/code", {"token": token, "code": "12"},
                      content_type="application/json")
    assert bad.status_code == 400 and "code" in bad.json()["errors"]
    tampered = client.post(f"{BASE}/code", {"token": token + "x", "code": code},
                           content_type="application/json")
    assert tampered.status_code == 400
    ok = client.post(f"{BASE}/code", {"token": token, "code": code},
                     content_type="application/json")
    assert ok.json() == {"status": "confirmed", "channels": ["sms"]}


def test_closed_form(client, submit, signup_form, started):
    signup_form.active = False
    signup_form.save()
    assert client.get(f"{BASE}/start").status_code == 410
    assert submit({"email": "a@example.com", "started": started(signup_form)}).status_code == 410
