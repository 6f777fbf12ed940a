"""Leaving and changing: one-click (RFC 8058), the footer link, the preference centre,
SMS stop words; signed links tampered or expired change nothing."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from peyvand.consent.actions import parse_sms_keyword
from peyvand.consent.links import links_for, list_unsubscribe_headers, read_contact_token
from peyvand.consent.models import ConsentChange, ConsentState, SmsInbound, Suppression
from peyvand.consent.queries import consent_decision
from peyvand.contacts.actions import do_erase_contact
from peyvand.contacts.models import TimelineEvent


def path(url: str) -> str:
    """The site-relative part of an absolute link, for the test client."""
    return urlsplit(url).path


@pytest.fixture
def subscriber(person, subscribe):
    return subscribe(person(email="reader@example.com", phone="09351234567"),
                     channels=("email", "sms"), topic_keys=("news", "offers"))


def ledger_count(contact) -> int:
    return ConsentChange.objects.filter(contact=contact).count()


def test_links_reveal_no_id(subscriber):
    links = links_for(subscriber.pk, "https://shop.example")
    assert links["preferences"].startswith("https://shop.example/consent/p/")
    for url in links.values():
        assert f"/{subscriber.pk}/" not in url and "reader" not in url
    headers = list_unsubscribe_headers(subscriber.pk, "https://shop.example")
    one_click = headers["List-Unsubscribe"].strip("<>")
    assert one_click.startswith("https://shop.example/consent/u/")
    assert one_click.endswith("/one-click")
    token = one_click.split("/")[-2]
    assert read_contact_token("unsubscribe", token)[0] == subscriber
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_links_for_many_match_links_for_one(person, subscriber,
                                           django_assert_max_num_queries):
    from peyvand.consent.links import links_for_many

    others = [person() for _ in range(5)]  # no key yet: made on first use, in one go
    ids = [subscriber.pk] + [p.pk for p in others]
    with django_assert_max_num_queries(2):
        many = links_for_many(ids, "https://shop.example", campaign="broadcast:7")
    assert set(many) == set(ids)
    for contact_id in ids:
        one = links_for(contact_id, "https://shop.example", campaign="broadcast:7")
        assert {k: v.rsplit("/", 2)[0] for k, v in many[contact_id].items()} == \
            {k: v.rsplit("/", 2)[0] for k, v in one.items()}
        for name, purpose in (("preferences", "preferences"), ("one_click", "unsubscribe")):
            token = path(many[contact_id][name]).rstrip("/").split("/")[-1 if name ==
                                                                     "preferences" else -2]
            found, data = read_contact_token(purpose, token)
            assert found.pk == contact_id
        assert data == {"k": data["k"], "ch": "email", "cmp": "broadcast:7"}


def test_links_reverse_as_the_whole_site_does_without_loading_it(subscriber):
    """The sender reverses links against peyvand.public_urls: the same paths as the site's
    own URLs, without importing the API and every view (a second per sender process)."""
    import subprocess
    import sys

    from django.urls import reverse

    for name in ("preferences", "unsubscribe", "one_click"):
        made = path(links_for(subscriber.pk)[name])
        token = made.rstrip("/").split("/")[-2 if name == "one_click" else -1]
        assert made == reverse(f"consent:{name}", args=[token], urlconf="peyvand.urls")
    script = ("import django, sys; django.setup(); "
              "from django.urls import reverse; from peyvand.consent.links import _link_patterns;"
              "print(_link_patterns('https://x', 'peyvand.urls', '/')['one_click']); "
              "print('peyvand.api' in sys.modules, 'peyvand.contacts.views' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**__import__("os").environ,
                                          "DJANGO_SETTINGS_MODULE": "peyvand.settings"})
    pattern, loaded = out.stdout.splitlines()
    assert pattern == "https://x/consent/u/PVTOKENSLOT/one-click"
    assert loaded == "False False"


def test_one_click_acts_only_on_the_rfc_8058_post(client, subscriber):
    url = path(links_for(subscriber.pk)["one_click"])
    before = ledger_count(subscriber)
    # Scanners and link previews: GET and HEAD change nothing.
    assert client.get(url).status_code == 302
    assert client.head(url).status_code == 302
    assert client.post(url, {"List-Unsubscribe": "Something-Else"}).status_code == 400
    assert ledger_count(subscriber) == before
    response = client.post(url, "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    row = ConsentChange.objects.filter(contact=subscriber).last()
    assert (row.action, row.channel, row.source) == ("opt_out", "email", "one_click")
    assert consent_decision(subscriber.pk, "email", "news").reason == "opted_out"
    assert consent_decision(subscriber.pk, "sms", "news").allowed  # only the e-mail channel
    assert Suppression.objects.filter(contact=subscriber, channel="email").exists()


def test_one_click_needs_no_csrf_token(subscriber):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(path(links_for(subscriber.pk)["one_click"]),
                           {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


def test_footer_link_confirms_before_acting_and_keeps_the_reason(client, subscriber):
    url = path(links_for(subscriber.pk, campaign="yalda-1403")["unsubscribe"])
    before = ledger_count(subscriber)
    page = client.get(url + "?lang=en")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="opt-down"' in html and "Too many messages" in html
    assert ledger_count(subscriber) == before
    response = client.post(url + "?lang=en", {"op": "unsubscribe", "reason": "other",
                                              "reason_text": "Moving abroad"})
    assert 'data-outcome="out"' in response.content.decode()
    row = ConsentChange.objects.filter(contact=subscriber).last()
    assert row.details == {"reason": "other", "reason_text": "Moving abroad",
                           "campaign": "yalda-1403", "link": "unsubscribe"}
    assert row.source == "unsubscribe"
    assert TimelineEvent.objects.filter(contact=subscriber, kind="consent.opt_out").exists()


def test_footer_link_opt_down_instead_of_leaving(client, subscriber):
    url = path(links_for(subscriber.pk)["unsubscribe"])
    response = client.post(url, {"op": "less"})
    assert 'data-outcome="less"' in response.content.decode()
    offers = ConsentState.objects.get(contact=subscriber, channel="email", topic__key="offers")
    assert offers.frequency == "monthly"  # was weekly
    response = client.post(url, {"op": "pause", "weeks": "8"})
    assert 'data-outcome="paused"' in response.content.decode()
    assert consent_decision(subscriber.pk, "email", "news").reason == "paused"
    assert client.post(url, {"op": "pause", "weeks": "5"}).status_code == 400


@pytest.mark.parametrize("kind", ["preferences", "unsubscribe", "one_click"])
def test_tampered_and_expired_links_change_nothing(client, subscriber, kind, monkeypatch):
    url = path(links_for(subscriber.pk)[kind])
    before = ledger_count(subscriber)
    token = url.split("/")[3]
    bad = url.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    data = {"List-Unsubscribe": "One-Click", "op": "unsubscribe"}
    assert client.get(bad).status_code == 400
    assert client.post(bad, data).status_code == 400
    later = time.time() + 500 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.post(url, data).status_code == 410
    assert ledger_count(subscriber) == before


def test_links_of_an_erased_person_stop_working(client, subscriber, owner_actor):
    url = path(links_for(subscriber.pk)["preferences"])
    do_erase_contact(owner_actor, subscriber)
    assert client.get(url).status_code == 400


def test_preference_centre_changes_topics_frequency_format_language(client, subscriber, topics):
    url = path(links_for(subscriber.pk)["preferences"])
    page = client.get(url)
    assert page.status_code == 200 and 'dir="rtl"' in page.content.decode()  # their language
    assert 'lang="en"' in client.get(url + "?lang=en").content.decode()
    response = client.post(url + "?lang=en", {
        "op": "save", "topic_news": "1", "frequency_news": "quarterly",
        "topic_events": "1", "frequency_events": "monthly",
        "channel_email": "1", "channel_sms": "1", "format": "text", "language": "en"})
    assert response.status_code == 302
    states = {(s.channel, s.topic.key if s.topic else None): s
              for s in ConsentState.objects.filter(contact=subscriber).select_related("topic")}
    assert states[("email", "news")].frequency == "quarterly"
    assert states[("email", "events")].status == "in"  # added by the person themselves
    assert states[("email", "offers")].status == "out"
    assert states[("email", None)].format == "text"
    subscriber.refresh_from_db()
    assert subscriber.language == "en"
    assert consent_decision(subscriber.pk, "sms", "events").allowed
    # Unticking a channel leaves it.
    client.post(url, {"op": "save", "topic_news": "1", "channel_email": "1"})
    assert consent_decision(subscriber.pk, "sms", "news").reason == "opted_out"


def test_preference_centre_pause_resume_and_unsubscribe(client, subscriber):
    url = path(links_for(subscriber.pk)["preferences"])
    client.post(url, {"op": "pause", "weeks": "4"})
    assert consent_decision(subscriber.pk, "email", "news").reason == "paused"
    assert consent_decision(subscriber.pk, "sms", "news").reason == "paused"
    client.post(url, {"op": "resume"})
    assert consent_decision(subscriber.pk, "email", "news").allowed
    page = client.post(url + "?lang=en", {"op": "unsubscribe_start"})
    assert "Before you go" in page.content.decode()
    assert consent_decision(subscriber.pk, "email", "news").allowed  # the offer changes nothing
    client.post(url, {"op": "unsubscribe", "reason": "too_many"})
    for channel in ("email", "sms"):
        assert consent_decision(subscriber.pk, channel, "news").reason == "opted_out"


# --- SMS keywords -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["11", "۱۱", "١١", " 11 ", "لغو", "لغو ۱۱", "لغو11", "لغو 11",
                                  "STOP", "stop", "Stop", "\u200f۱۱\u200e", "لغو  ١١"])
def test_stop_words_in_every_digit_script(text):
    assert parse_sms_keyword(text) == "stop"


@pytest.mark.parametrize("text", ["12", "۱۲", "١٢", " 12\n"])
def test_resume_words(text):
    assert parse_sms_keyword(text) == "resume"


@pytest.mark.parametrize("text", ["111", "hello", "13", "", "لغو کن"])
def test_other_texts_are_not_keywords(text):
    assert parse_sms_keyword(text) is None


@pytest.fixture
def hook(client, db):
    gateway = SmsInbound.objects.create(name="kavenegar", token="s3cret-token")

    def send(sender, text, *, as_json=False, token=None):
        url = f"/consent/hooks/sms/{token or gateway.token}/"
        if as_json:
            return client.post(url, {"from": sender, "text": text},
                               content_type="application/json")
        return client.post(url, {"from": sender, "text": text})

    return send


def test_sms_stop_and_resume_through_the_gateway_hook(hook, subscriber):
    assert hook("09351234567", "hello").json() == {"result": "replied"}
    assert hook("09000000000", "hello").json() == {"result": "ignored"}
    assert hook("۰۹۳۵۱۲۳۴۵۶۷", "لغو ۱۱").json() == {"result": "opted_out"}
    assert consent_decision(subscriber.pk, "sms", "news").reason == "opted_out"
    assert consent_decision(subscriber.pk, "email", "news").allowed
    assert hook("+989351234567", "12", as_json=True).json() == {"result": "resumed"}
    assert consent_decision(subscriber.pk, "sms", "news").allowed
    assert consent_decision(subscriber.pk, "sms", "offers").allowed
    assert hook("09000000000", "11").json() == {"result": "unknown"}


def test_resume_only_after_the_persons_own_sms_stop(hook, subscriber, client):
    url = path(links_for(subscriber.pk)["preferences"])
    client.post(url, {"op": "unsubscribe"})  # left through the preference centre
    assert hook("09351234567", "12").json() == {"result": "not_resumed"}
    assert consent_decision(subscriber.pk, "sms", "news").reason == "opted_out"


def test_a_topic_left_before_the_stop_stays_left_after_12(hook, subscriber, client):
    url = path(links_for(subscriber.pk)["preferences"])
    client.post(url, {"op": "save", "topic_news": "1", "channel_email": "1",
                      "channel_sms": "1"})
    hook("09351234567", "STOP")
    hook("09351234567", "۱۲")
    assert consent_decision(subscriber.pk, "sms", "news").allowed
    assert consent_decision(subscriber.pk, "sms", "offers").reason == "topic_not_chosen"


def test_hook_needs_its_secret(hook, subscriber, client, settings):
    assert hook("09351234567", "11", token="wrong").status_code == 404
    assert client.get("/consent/hooks/sms/s3cret-token/").status_code == 405
    assert consent_decision(subscriber.pk, "sms", "news").allowed
    settings.PEYVAND_SMS_INBOUND_TOKEN = "from-settings"
    assert hook("09351234567", "11", token="from-settings").json() == {"result": "opted_out"}
