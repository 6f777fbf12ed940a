"""An unsubscribe is always recorded, whatever the person's consent was, and becomes a
suppression that only their own confirmed sign-up lifts (issue 14, line 2)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from peyvand.consent import ledger
from peyvand.consent.actions import ConsentRefused, do_staff_change, do_unsubscribe
from peyvand.consent.ledger import Change, cached_state, replay_contact
from peyvand.consent.links import links_for
from peyvand.consent.models import (
    Action,
    ConsentChange,
    ConsentState,
    SmsInbound,
    Source,
    Status,
    Suppression,
)
from peyvand.consent.queries import consent_decision


def path(url: str) -> str:
    return urlsplit(url).path


def rows(contact) -> list[tuple[str, str, str]]:
    return list(ConsentChange.objects.filter(contact=contact).order_by("id")
                .values_list("action", "channel", "source"))


def channel_state(contact, channel: str) -> ConsentState:
    return ConsentState.objects.get(contact=contact, channel=channel, topic=None)


def test_one_click_from_someone_without_consent_is_recorded_and_suppresses(client, person):
    contact = person(email="never@example.com")
    assert consent_decision(contact.pk, "email").reason == "no_consent"
    response = client.post(path(links_for(contact.pk)["one_click"]),
                           "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert rows(contact) == [("opt_out", "email", "one_click")]
    state = channel_state(contact, "email")
    assert (state.status, state.suppression, state.out_source) == \
        ("out", "opted_out", "one_click")
    assert Suppression.objects.filter(contact=contact, channel="email").exists()
    assert consent_decision(contact.pk, "email").reason == "opted_out"
    assert cached_state(contact.pk) == replay_contact(contact.pk)


def test_footer_link_while_awaiting_confirmation_is_recorded(client, person, topics):
    contact = person()
    ledger.append(contact, [Change(Action.OPT_IN, "email", None),
                            Change(Action.OPT_IN, "email", topics["news"].pk)],
                  source=Source.FORM, actor_label="form:x")
    url = path(links_for(contact.pk)["unsubscribe"])
    assert client.post(url, {"op": "unsubscribe", "reason": "never_signed_up"}).status_code \
        == 200
    last = ConsentChange.objects.filter(contact=contact).last()
    assert (last.action, last.source, last.details["reason"]) == \
        ("opt_out", "unsubscribe", "never_signed_up")
    assert channel_state(contact, "email").suppression == "opted_out"
    # The confirmation mail still in the inbox confirms nothing now.
    assert consent_decision(contact.pk, "email", message_class="confirmation").reason == \
        "nothing_to_confirm"


def test_leaving_everything_records_every_channel(client, person, subscribe):
    contact = subscribe(person(email="only-mail@example.com"))
    url = path(links_for(contact.pk)["preferences"])
    client.post(url, {"op": "unsubscribe", "reason": "too_many"})
    recorded = {channel for action, channel, source in rows(contact)
                if action == "opt_out" and source == "preferences"}
    assert recorded == {"email", "sms", "direct_mail", "phone"}
    assert set(Suppression.objects.filter(contact=contact).values_list("channel", flat=True)) \
        == {"email", "sms", "direct_mail", "phone"}


def test_a_second_unsubscribe_is_recorded_without_weakening_a_bounce(person, subscribe):
    from peyvand.consent.actions import record_bounce

    contact = subscribe(person())
    record_bounce(contact.pk, "email", hard=True)
    before = ConsentChange.objects.filter(contact=contact).count()
    assert do_unsubscribe(contact, ["email"], source=Source.ONE_CLICK) == ["email"]
    assert ConsentChange.objects.filter(contact=contact).count() == before + 1
    state = channel_state(contact, "email")
    # Still a hard bounce: transactional mail must keep away from a dead address.
    assert (state.suppression, state.out_source) == ("hard_bounce", "bounce")
    assert consent_decision(contact.pk, "email", message_class="transactional").reason == \
        "hard_bounce"
    assert cached_state(contact.pk) == replay_contact(contact.pk)


@pytest.fixture
def hook(client, db):
    gateway = SmsInbound.objects.create(name="kavenegar", token="s3cret-token")

    def send(sender, text):
        return client.post(f"/consent/hooks/sms/{gateway.token}/", {"from": sender,
                                                                   "text": text}).json()

    return send


def test_sms_stop_when_already_out_is_recorded_and_12_does_not_undo_the_link(
        client, hook, person, subscribe):
    contact = subscribe(person(phone="09351234567"), channels=("sms",))
    do_unsubscribe(contact, ["sms"], source=Source.UNSUBSCRIBE)
    count = ConsentChange.objects.filter(contact=contact).count()
    assert hook("09351234567", "11") == {"result": "unchanged"}
    assert ConsentChange.objects.filter(contact=contact).count() == count + 1
    # «۱۲» revives only what their own «۱۱» stopped; the link's opt-out came first.
    assert hook("09351234567", "12") == {"result": "not_resumed"}
    assert consent_decision(contact.pk, "sms").reason == "opted_out"


def test_no_staff_action_or_import_lifts_it_only_their_own_sign_up(
        owner_actor, person, topics):
    contact = person()
    do_unsubscribe(contact, ["email"], source=Source.ONE_CLICK)
    for action in ("opt_in", "confirm", "resume"):
        with pytest.raises(ConsentRefused):
            do_staff_change(owner_actor, contact, {"action": action, "channel": "email"})
    # An attested import opt-in is folded away: the ledger keeps it, the state ignores it.
    ledger.append(contact, [Change(Action.OPT_IN, "email", None),
                            Change(Action.OPT_IN, "email", topics["news"].pk)],
                  source=Source.IMPORT, actor_label="owner")
    assert consent_decision(contact.pk, "email", "news").reason == "opted_out"
    assert cached_state(contact.pk) == replay_contact(contact.pk)
    # The person's own sign-up waits for their confirmation, then lifts it.
    ledger.append(contact, [Change(Action.OPT_IN, "email", None),
                            Change(Action.OPT_IN, "email", topics["news"].pk)],
                  source=Source.FORM, actor_label="form:x")
    assert consent_decision(contact.pk, "email", "news").reason == "unconfirmed"
    ledger.append(contact, [Change(Action.CONFIRM, "email", None)], source=Source.FORM,
                  actor_label="contact")
    state = channel_state(contact, "email")
    assert (state.status, state.suppression) == (Status.IN, "")
    assert consent_decision(contact.pk, "email", "news").allowed
