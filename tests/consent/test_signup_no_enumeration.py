"""Sign-up reveals nothing about who is subscribed (issue 14, line 8): the hosted page and the
API answer a new address, one awaiting confirmation and one already subscribed alike; only
the inbox of the address learns which it was."""

from __future__ import annotations

import re

import pytest

from peyvand.consent import ledger
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, ConsentState, Source
from peyvand.consent.queries import consent_decision
from peyvand.contacts.models import Contact
from peyvand.mailcatcher.models import CaughtSms
from tests.outbound import body

PAGE = "/consent/f/spring/"
API = "/api/v1/forms/spring/submit"
KINDS = ("new", "pending", "subscribed")


@pytest.fixture
def addresses(person, subscribe, topics, owner_actor):
    """One address of each kind: nobody knows it, it awaits confirmation, it is subscribed
    (with choices of its own: text format, news quarterly)."""
    pending = person(email="pending@example.com", phone="09121110002")
    ledger.append(pending, [Change(Action.OPT_IN, c, None) for c in ("email", "sms")]
                  + [Change(Action.OPT_IN, c, topics["news"].pk) for c in ("email", "sms")],
                  source=Source.FORM, actor_label="form:spring")
    subscribed = subscribe(person(email="subscribed@example.com", phone="09121110003"),
                           channels=("email", "sms"), topic_keys=("news",),
                           frequency="quarterly")
    ledger.append(subscribed, [Change(Action.PREFERENCE_CHANGE, "email", None,
                                      {"format": "text"})],
                  source=Source.PREFERENCES, actor_label="contact")
    return {"new": ("new@example.com", "09121110001"),
            "pending": ("pending@example.com", "09121110002"),
            "subscribed": ("subscribed@example.com", "09121110003")}


def page_post(client, started, form, data, lang="en"):
    payload = {"t": started(form), "topics": ["news"], "channels_shown": "1", **data}
    return client.post(f"{PAGE}?lang={lang}", payload, REMOTE_ADDR="203.0.113.9")


def comparable(response) -> tuple:
    """What a visitor can see of a response, with the one-time tokens blanked."""
    text = response.content.decode()
    text = re.sub(r"/code/[^/?\"']+/", "/code/TOKEN/", text)
    location = re.sub(r"/code/[^/?]+/", "/code/TOKEN/", response.get("Location", ""))
    headers = {k: v for k, v in response.items() if k not in ("Date", "Content-Length")}
    headers.pop("Location", None)
    return response.status_code, location, headers, text


def test_the_hosted_page_answers_every_address_alike(client, signup_form, started, addresses,
                                                     django_capture_on_commit_callbacks):
    seen = {}
    for kind in KINDS:
        email, _phone = addresses[kind]
        with django_capture_on_commit_callbacks(execute=True):
            response = page_post(client, started, signup_form,
                                 {"email": email, "channels": ["email"]})
        seen[kind] = comparable(response)
    assert seen["new"][0] == 200
    assert seen["new"] == seen["pending"] == seen["subscribed"]
    assert "already subscribed" not in seen["subscribed"][3]


def test_a_mobile_sign_up_leads_to_the_same_code_page(client, signup_form, started, addresses,
                                                      django_capture_on_commit_callbacks):
    seen = {}
    for kind in KINDS:
        _email, phone = addresses[kind]
        with django_capture_on_commit_callbacks(execute=True):
            response = page_post(client, started, signup_form,
                                 {"phone": phone, "channels": ["sms"]})
        seen[kind] = comparable(response)
    assert seen["new"][0] == 302 and "/code/TOKEN/" in seen["new"][1]
    assert seen["new"] == seen["pending"] == seen["subscribed"]


def test_the_api_answers_every_address_alike(client, signup_form, started, addresses,
                                             django_capture_on_commit_callbacks):
    seen = {}
    for kind in KINDS:
        email, phone = addresses[kind]
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(API, {"email": email, "phone": phone, "topics": ["news"],
                                         "channels": ["email", "sms"],
                                         "started": started(signup_form)},
                                   content_type="application/json",
                                   REMOTE_ADDR="198.51.100.20")
        answer = response.json()
        assert answer.pop("code_token")  # a code page for every mobile
        seen[kind] = (response.status_code, answer)
    assert seen["new"] == seen["pending"] == seen["subscribed"] == \
        (202, {"status": "accepted", "email_sent": True})


def test_only_the_inbox_learns_which_it_was(client, signup_form, started, addresses, deliver,
                                            django_capture_on_commit_callbacks):
    mail = {}
    for kind in KINDS:
        email, _phone = addresses[kind]
        with django_capture_on_commit_callbacks(execute=True):
            page_post(client, started, signup_form, {"email": email, "channels": ["email"]})
    for message in deliver():
        mail[message["To"].addresses[0].addr_spec] = message
    assert mail["new@example.com"]["Subject"].startswith("Please confirm")
    assert mail["pending@example.com"]["Subject"].startswith("Please confirm")
    notice = mail["subscribed@example.com"]
    assert notice["Subject"] == "You are already subscribed: Spring newsletter"
    assert "/consent/p/" in body(notice) and "/consent/c/" not in body(notice)
    assert notice["List-Unsubscribe"] is None


def test_someone_elses_sign_up_changes_nothing_the_person_chose(client, signup_form, started,
                                                                addresses, topics):
    contact = Contact.objects.get(identities__value="subscribed@example.com")
    before = {(s.channel, s.topic_id): (s.status, s.frequency, s.format)
              for s in ConsentState.objects.filter(contact=contact)}
    page_post(client, started, signup_form, {"email": "subscribed@example.com",
                                             "channels": ["email"]})
    after = {(s.channel, s.topic_id): (s.status, s.frequency, s.format)
             for s in ConsentState.objects.filter(contact=contact)}
    assert after == before
    assert after[("email", None)] == ("in", "", "text")
    assert after[("email", topics["news"].pk)][1] == "quarterly"


def test_a_new_topic_for_a_subscriber_waits_for_their_confirmation(
        client, signup_form, started, addresses, topics, deliver,
        django_capture_on_commit_callbacks):
    contact = Contact.objects.get(identities__value="subscribed@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        page_post(client, started, signup_form, {"email": "subscribed@example.com",
                                                 "channels": ["email"],
                                                 "topics": ["news", "offers"]})
    assert consent_decision(contact.pk, "email", "offers").reason == "unconfirmed"
    [message] = deliver()
    assert message["Subject"].startswith("Please confirm")
    link = re.search(r"/consent/c/\S+/", body(message)).group(0)
    response = client.post(link)
    assert 'data-status="confirmed"' in response.content.decode()
    assert consent_decision(contact.pk, "email", "offers").allowed
    assert consent_decision(contact.pk, "email", "news").allowed


def test_a_subscribed_mobile_is_told_so_and_its_code_confirms_nothing_new(
        client, signup_form, started, addresses, django_capture_on_commit_callbacks, deliver):
    with django_capture_on_commit_callbacks(execute=True):
        response = page_post(client, started, signup_form,
                             {"phone": "09121110003", "channels": ["sms"]})
    deliver()
    sms = CaughtSms.objects.get(to="+989121110003")
    assert sms.text.startswith("You are already subscribed")
    code = re.search(r"\d{6}", sms.text).group(0)
    page = client.post(response["Location"], {"code": code})
    assert 'data-status="already"' in page.content.decode()


def test_an_address_of_someone_elses_record_is_answered_alike(client, signup_form, started,
                                                              addresses, person,
                                                              django_capture_on_commit_callbacks):
    # A's e-mail with B's mobile: B's number is not touched, and the answer does not say so.
    person(email="a-owner@example.com")
    person(phone="09121119999")
    seen = {}
    for kind, (email, phone) in (("someone else's", ("a-owner@example.com", "09121119999")),
                                 ("new", ("n1@example.com", "09121118888"))):
        with django_capture_on_commit_callbacks(execute=True):
            response = page_post(client, started, signup_form,
                                 {"email": email, "phone": phone, "channels": ["sms"]})
        seen[kind] = comparable(response)
    assert seen["new"][0] == 302
    assert seen["someone else's"] == seen["new"]
    other = Contact.objects.get(identities__value="+989121119999")
    assert not ConsentState.objects.filter(contact=other).exists()
