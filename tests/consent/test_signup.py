"""Sign-up forms: hosted page, embedded snippet, API; spam checks; double opt-in."""

from __future__ import annotations

import re
import time

import pytest

from peyvand.base.dates import persian_digits
from peyvand.base.signing import read_token
from peyvand.consent.models import ConsentChange, ConsentState, Signup
from peyvand.consent.queries import consent_decision
from peyvand.contacts.models import Contact, Identity
from peyvand.mailcatcher.models import CaughtSms
from peyvand.messaging.models import OutboxMessage
from tests.outbound import body

URL = "/consent/f/spring/"


@pytest.fixture
def inbox() -> list:
    """Every e-mail the sender delivered so far (parsed)."""
    return []


@pytest.fixture
def post(client, signup_form, started, django_capture_on_commit_callbacks, deliver, inbox):
    """POST the hosted form as a browser would, running what is queued on commit, then the
    sender (so confirmations travel the real outbound path)."""

    def send(data=None, *, lang="fa", ago=10, t=None, **extra):
        form = {"t": started(signup_form, ago) if t is None else t, "topics": ["news"],
                "channels_shown": "1", "channels": ["email"], **(data or {})}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{URL}?lang={lang}", form, REMOTE_ADDR="203.0.113.9",
                                   HTTP_USER_AGENT="TestBrowser/1", **extra)
        inbox[:] = deliver()
        return response

    return send


def confirmation_link(message) -> str:
    return re.search(r"https?://\S+/consent/c/\S+/", body(message)).group(0)


@pytest.mark.parametrize("lang,direction", [("fa", "rtl"), ("en", "ltr")])
def test_hosted_page_in_both_languages(client, signup_form, lang, direction):
    title = signup_form.title(lang)
    response = client.get(f"{URL}?lang={lang}")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert title in html
    assert 'name="website"' in html and 'name="t"' in html  # honeypot and signed start
    incentive = signup_form.incentive(lang)
    assert (persian_digits(incentive) if lang == "fa" else incentive) in html  # fa: ۱۰٪
    assert signup_form.current_text(lang).text in html
    assert response["Content-Language"] == lang


def test_sign_up_then_confirm_by_email(client, post, inbox, signup_form):
    response = post({"email": "Sara@Example.com", "first_name": "سارا"})
    assert response.status_code == 200, response.content.decode()[:2000]
    contact = Contact.objects.get(identities__value="sara@example.com")
    assert contact.first_name == "سارا" and contact.language == "fa"
    rows = ConsentChange.objects.filter(contact=contact)
    assert {(r.action, r.channel, r.topic.key if r.topic else None) for r in rows} == \
        {("opt_in", "email", None), ("opt_in", "email", "news")}
    first = rows.first()
    assert (first.ip, first.user_agent, first.form, first.text.language) == \
        ("203.0.113.9", "TestBrowser/1", signup_form, "fa")
    assert first.details["incentive"] == "save"
    signup = Signup.objects.get(contact=contact)
    assert (signup.incentive_kind, signup.channels, signup.topics) == ("save", ["email"],
                                                                        ["news"])
    assert not consent_decision(contact.pk, "email", "news").allowed

    assert len(inbox) == 1
    message = inbox[0]
    assert message["To"].addresses[0].addr_spec == "sara@example.com"
    assert message["Subject"].startswith("لطفاً")
    assert 'dir="rtl"' in body(message, "html")
    # It went through the gate and the outbox like any message, untracked and unlisted.
    row = OutboxMessage.objects.get(contact=contact)
    assert (row.state, row.message_class, row.gate_verdict, row.gate_reason) == \
        ("sent", "confirmation", "allow", "confirmation")
    assert "/t/c/" not in body(message, "html") and "List-Unsubscribe" not in message
    link = confirmation_link(message)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert read_token("confirm", token, None) == {"n": signup.nonce}  # no id, no address
    path = link.split("127.0.0.1:8000", 1)[1]
    # Opening the link (a person, or a mail scanner) changes nothing …
    assert client.get(path).status_code == 200
    assert not consent_decision(contact.pk, "email", "news").allowed
    # … pressing the button confirms.
    response = client.post(path)
    assert 'data-status="confirmed"' in response.content.decode()
    assert consent_decision(contact.pk, "email", "news").allowed
    signup.refresh_from_db()
    assert signup.confirmed_at is not None
    assert 'data-status="already"' in client.post(path).content.decode()


def test_tampered_and_expired_confirmation_links(client, post, inbox, monkeypatch):
    post({"email": "late@example.com"})
    path = confirmation_link(inbox[0]).split("127.0.0.1:8000", 1)[1]
    contact = Contact.objects.get(identities__value="late@example.com")
    tampered = path[:-3] + ("x" if path[-3] != "x" else "y") + path[-2:]
    assert client.post(tampered).status_code == 400
    later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert ConsentState.objects.get(contact=contact, topic=None).status == "pending"


def test_honeypot_records_nothing(post, inbox):
    response = post({"email": "bot@example.com", "website": "http://spam.example"})
    assert response.status_code == 200
    assert not Contact.objects.filter(identities__value="bot@example.com").exists()
    assert not ConsentChange.objects.exists() and not inbox


def test_too_fast_or_without_start_time_asks_again(post, client):
    response = post({"email": "quick@example.com"}, ago=0.5, lang="en")
    assert response.status_code == 400
    assert "That was quick!" in response.content.decode()
    # An embedded copy posts without the signed start: the page comes back filled in.
    response = post({"email": "embed@example.com"}, t="")
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="embed@example.com"' in html and 'name="t" value="' in html
    assert not Contact.objects.filter(identities__value__in=["quick@example.com",
                                                             "embed@example.com"]).exists()


def test_rate_limit_per_ip(post, settings):
    settings.CONSENT_SIGNUP_LIMIT = 2
    assert post({"email": "a@example.com"}).status_code == 200
    assert post({"email": "b@example.com"}).status_code == 200
    response = post({"email": "c@example.com"})
    assert response.status_code == 429
    assert not Contact.objects.filter(identities__value="c@example.com").exists()


def test_validation_errors(post):
    response = post({"email": "", "phone": ""}, lang="en")
    assert response.status_code == 400
    assert "Give an e-mail address or a mobile number." in response.content.decode()
    response = post({"email": "x@example.com", "topics": []})
    assert response.status_code == 400
    response = post({"email": "x@example.com", "topics": ["gossip"]})
    assert response.status_code == 400
    response = post({"email": "not an email"})
    assert response.status_code == 400
    assert not ConsentChange.objects.exists()


def test_public_input_never_rewrites_or_merges_known_people(post, person):
    known = person(first_name="Maryam", email="maryam@example.com")
    other = person(first_name="Other", phone="09121112233")
    response = post({"email": "maryam@example.com", "phone": "0912 111 2233",
                     "first_name": "Spammer", "channels": ["email", "sms"]})
    assert response.status_code == 200
    known.refresh_from_db()
    assert known.first_name == "Maryam"
    assert Contact.objects.filter(pk=other.pk).exists()  # not merged away
    assert Identity.objects.get(value="+989121112233").contact_id == other.pk
    # Only the channel whose address is theirs was signed up.
    assert set(ConsentChange.objects.filter(contact=known).values_list("channel", flat=True)) \
        == {"email"}
    assert not ConsentChange.objects.filter(contact=other).exists()


def test_mobile_sign_up_confirms_with_a_texted_code(client, post, inbox):
    response = post({"phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "channels": ["sms"]}, lang="en")
    assert response.status_code == 302
    code_url = response["Location"]
    sms = CaughtSms.objects.get()
    assert sms.to == "+989123456789"
    code = re.search(r"\d{6}", sms.text).group(0)
    signup = Signup.objects.get()
    assert signup.code_hash and code not in signup.code_hash
    contact = signup.contact
    assert consent_decision(contact.pk, "sms", "news").reason == "unconfirmed"
    page = client.get(code_url)
    assert page.status_code == 200
    wrong = client.post(code_url, {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "4 tries left" in wrong.content.decode()
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = client.post(code_url, {"code": f" {persian[:3]} {persian[3:]} "})
    assert 'data-status="confirmed"' in done.content.decode()
    assert consent_decision(contact.pk, "sms", "news").allowed
    assert not inbox  # no e-mail was given, none was sent


def test_code_attempts_are_limited(client, post, django_capture_on_commit_callbacks, deliver):
    response = post({"phone": "09123456780", "channels": ["sms"]}, lang="en")
    code_url = response["Location"]
    code = re.search(r"\d{6}", CaughtSms.objects.get().text).group(0)
    wrong = "000000" if code != "000000" else "111111"
    for _i in range(5):
        assert client.post(code_url, {"code": wrong}).status_code == 400
    response = client.post(code_url, {"code": code})
    assert response.status_code == 400  # the right code, too late
    assert "no longer be used" in response.content.decode()
    assert ConsentState.objects.get(channel="sms", topic=None).status == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        assert "new code is on its way" in client.post(code_url, {"op": "resend"}) \
            .content.decode()
    deliver()
    new_code = re.search(r"\d{6}", CaughtSms.objects.order_by("-id").first().text).group(0)
    assert 'data-status="confirmed"' in client.post(code_url, {"code": new_code}) \
        .content.decode()


def test_a_closed_form_takes_no_sign_ups(client, post, signup_form):
    signup_form.active = False
    signup_form.save()
    assert client.get(URL).status_code == 410
    assert post({"email": "late@example.com"}).status_code == 410
    assert not ConsentChange.objects.exists()


def test_the_text_version_shown_is_the_one_recorded(post, signup_form, system):
    from peyvand.consent.actions import do_save_form

    shown = signup_form.current_text("fa").version
    do_save_form(system, {"consent_text_fa": "متن تازه"}, signup_form)
    post({"email": "v@example.com", "text_version": str(shown)})
    row = ConsentChange.objects.filter(contact__identities__value="v@example.com").first()
    assert row.text.version == shown and row.text.text != "متن تازه"
