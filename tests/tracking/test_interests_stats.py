from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_merge_contacts
from peyvand.tracking.events import drain_spool
from peyvand.tracking.fastpath import wrap
from peyvand.tracking.interests import add_click, profile
from peyvand.tracking.models import InterestScore, TrackingEvent

from .helpers import call, click_token, environ, open_token

APP = wrap(lambda env, start: [])
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "Mobile/15E148")


def click(message_id, contact, url, topic="", ua=None):
    env = environ(f"/t/c/{click_token(message_id, contact.pk, url, topic)}")
    if ua:
        env["HTTP_USER_AGENT"] = ua
    call(APP, env)


def test_tagged_human_clicks_build_the_interest_profile(contact):
    click(1, contact, "https://shop.example/tea", "tea")
    click(2, contact, "https://shop.example/tea2", "tea")
    click(2, contact, "https://shop.example/mug", "mugs")
    click(3, contact, "https://shop.example/plain")  # no topic: no interest
    click(4, contact, "https://shop.example/bot", "bots", ua="curl/8.0")  # scanner: none
    drain_spool()
    scores = dict(profile(contact.pk))
    assert set(scores) == {"tea", "mugs"}
    assert scores["tea"] == pytest.approx(2.0, abs=0.01)
    assert scores["mugs"] == pytest.approx(1.0, abs=0.01)
    assert [t for t, _s in profile(contact.pk)] == ["tea", "mugs"]


def test_interest_decays_with_a_half_life(contact, settings):
    settings.TRACKING_INTEREST_HALF_LIFE_DAYS = 30
    start = timezone.now() - dt.timedelta(days=60)
    add_click(contact.pk, "tea", start)
    assert dict(profile(contact.pk))["tea"] == pytest.approx(0.25, abs=0.01)
    add_click(contact.pk, "tea")  # a new click adds to the decayed score
    row = InterestScore.objects.get(contact=contact, topic="tea")
    assert row.score == pytest.approx(1.25, abs=0.01)
    # Long forgotten topics drop out of the profile.
    add_click(contact.pk, "old", timezone.now() - dt.timedelta(days=400))
    assert "old" not in dict(profile(contact.pk))


def test_merge_moves_events_and_adds_interests(contact, other_contact):
    add_click(contact.pk, "tea")
    add_click(other_contact.pk, "tea")
    add_click(other_contact.pk, "mugs")
    call(APP, environ(f"/t/o/{open_token(1, other_contact.pk)}.gif"))
    drain_spool()
    do_merge_contacts(Actor.system("test"), contact, [other_contact])
    assert dict(profile(contact.pk)) == pytest.approx({"tea": 2.0, "mugs": 1.0}, abs=0.01)
    assert TrackingEvent.objects.get().contact_id == contact.pk


def test_message_stats_api(api_for, contact, other_contact):
    for person in (contact, other_contact):
        call(APP, environ(f"/t/o/{open_token(11, person.pk)}.gif"))
    call(APP, environ(f"/t/o/{open_token(11, contact.pk)}.gif", ua="Mozilla/5.0"))
    click(11, contact, "https://shop.example/a", "tea", ua=PHONE)
    click(11, contact, "https://shop.example/a", "tea")
    click(11, other_contact, "https://shop.example/b")
    click(12, contact, "https://shop.example/a", "tea")  # another message
    drain_spool()
    body = api_for("analyst").get("/api/v1/messages/11/stats").json()
    assert (body["opens"], body["human_opens"], body["machine_opens"]) == (3, 2, 1)
    assert (body["clicks"], body["human_clicks"]) == (3, 3)
    assert body["opened"] and body["opened_by_person"] and body["clicked"]
    assert body["readers"] == {"browser": 2, "apple-mail-privacy-proxy": 1}
    links = {link["url"]: link for link in body["links"]}
    assert links["https://shop.example/a"] == {"url": "https://shop.example/a", "topic": "tea",
                                               "clicks": 2, "human_clicks": 2, "people": 1}
    assert links["https://shop.example/b"]["people"] == 1
    empty = api_for("reviewer").get("/api/v1/messages/999/stats").json()
    assert empty["opens"] == 0 and not empty["opened"]


def test_contact_engagement_api(api_for, contact):
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    click(1, contact, "https://shop.example/a", "tea")
    drain_spool()
    api = api_for("support")
    body = api.get(f"/api/v1/contacts/{contact.pk}/engagement").json()
    assert body["contact_id"] == contact.pk
    assert (body["opens"], body["human_clicks"], body["human_opened_messages"]) == (1, 1, 1)
    assert body["interests"] == [{"topic": "tea", "score": pytest.approx(1.0, abs=0.01)}]
    assert body["last_open"] and body["last_click"]
    assert api.get("/api/v1/contacts/999999/engagement").status_code == 404


def test_stats_need_a_token(client):
    assert client.get("/api/v1/messages/1/stats").status_code == 401


def test_engagement_panel_renders_in_persian(contact):
    from django.template import Context, Template
    from django.utils import translation

    click(1, contact, "https://shop.example/a", "چای")
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    call(APP, environ(f"/t/o/{open_token(2, contact.pk)}.gif", ua="Mozilla/5.0"))
    drain_spool()
    with translation.override("fa"):
        panel = Template("{% load tracking %}{% engagement pk %}")
        html = panel.render(Context({"pk": contact.pk}))
    assert "چای" in html and "۱" in html
    empty = Template("{% load tracking %}{% engagement 0 %}").render(Context({}))
    assert "No opens or clicks yet." in empty
