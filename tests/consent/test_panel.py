"""The consent panel the contact page includes, and consent entries on the timeline."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from peyvand.consent import ledger
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Source
from peyvand.contacts.models import TimelineEvent
from peyvand.contacts.templatetags.timeline import event_label, event_summary


def render_panel(user, contact) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load consent %}{% consent_panel contact_id %}").render(
        Context({"request": request, "contact_id": contact.pk}))


def test_panel_shows_current_consent_and_latest_changes(make_user, person, subscribe, topics):
    contact = subscribe(person(), topic_keys=("news", "offers"))
    ledger.append(contact, [Change(Action.OPT_OUT, "email", topics["offers"].pk)],
                  source=Source.PREFERENCES, actor_label="contact")
    ledger.append(contact, [Change(Action.PREFERENCE_CHANGE, "email", None, {"format": "text"})],
                  source=Source.PREFERENCES, actor_label="contact")
    html = render_panel(make_user("viewer", "analyst"), contact)
    assert 'id="consent-panel"' in html
    assert 'data-channel="email" data-status="in"' in html
    assert 'data-channel="sms" data-status="none"' in html
    assert 'data-topic="offers" data-status="out"' in html
    assert html.count('data-action="') == 5  # the latest five of six changes
    assert html.index('data-action="preference_change"') < html.index('data-action="opt_out"')
    assert f"/consent/contacts/{contact.pk}/" in html
    assert render_panel(AnonymousUser(), contact).strip() == ""


def test_every_append_is_on_the_timeline_with_a_label(person, subscribe, topics):
    contact = subscribe(person(), topic_keys=("news",))
    ledger.append(contact, [Change(Action.PAUSE, "email", None,
                                   {"paused_until": "2031-01-01T00:00:00+00:00"})],
                  source=Source.PREFERENCES, actor_label="contact")
    ledger.append(contact, [Change(Action.PREFERENCE_CHANGE, "email", topics["news"].pk,
                                   {"frequency": "quarterly"})],
                  source=Source.PREFERENCES, actor_label="contact")
    ledger.append(contact, [Change(Action.OPT_OUT, "email")], source=Source.UNSUBSCRIBE,
                  actor_label="contact")
    kinds = list(TimelineEvent.objects.filter(contact=contact).order_by("id")
                 .values_list("kind", flat=True))
    assert kinds[-5:] == ["consent.opt_in", "consent.confirmed", "consent.paused",
                          "consent.changed", "consent.opt_out"]
    events = {e.kind: e for e in TimelineEvent.objects.filter(contact=contact)}
    with translation.override("en"):
        assert event_label("consent.opt_out") == "Unsubscribed"
        assert event_label("consent.confirmed") == "Sign-up confirmed"
        assert event_summary(events["consent.opt_in"], {}) == \
            "E-mail · News · Monthly · Sign-up form"
        assert event_summary(events["consent.changed"], {}) == \
            "E-mail · News · Quarterly · Preference centre"
        assert "until 2031-01-01" in event_summary(events["consent.paused"], {})
