"""The consent ledger: append-only, the only way consent changes, replay equals the cache."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peyvand.consent import ledger
from peyvand.consent.ledger import Change, cached_state, replay_contact
from peyvand.consent.links import contact_key, preferences_token
from peyvand.consent.models import (
    Action,
    Channel,
    ConsentChange,
    ConsentState,
    ContactKey,
    LedgerImmutable,
    Signup,
    Source,
    Status,
)
from peyvand.contacts.actions import do_erase_contact, do_merge_contacts
from peyvand.contacts.models import TimelineEvent


def test_rows_cannot_be_changed_or_deleted(person, subscribe):
    contact = subscribe(person())
    row = ConsentChange.objects.filter(contact=contact).first()
    row.action = Action.OPT_OUT
    with pytest.raises(LedgerImmutable):
        row.save()
    with pytest.raises(LedgerImmutable):
        row.delete()
    with pytest.raises(LedgerImmutable):
        ConsentChange.objects.filter(contact=contact).update(action="opt_out")
    with pytest.raises(LedgerImmutable):
        ConsentChange.objects.filter(contact=contact).delete()
    assert ConsentChange.objects.get(pk=row.pk).action == Action.OPT_IN


def test_a_contact_with_a_ledger_cannot_be_deleted(person, subscribe):
    from django.db.models import ProtectedError

    contact = subscribe(person())
    with pytest.raises(ProtectedError):
        contact.delete()


def test_append_writes_rows_state_and_one_timeline_entry(person, topics):
    contact = person()
    rows = ledger.append(contact, [Change(Action.OPT_IN, "email", None, {"format": "html"}),
                                   Change(Action.OPT_IN, "email", topics["news"].pk,
                                          {"frequency": "weekly"})],
                         source=Source.FORM, actor_label="form:x", ip="10.0.0.1",
                         user_agent="UA")
    assert [r.action for r in rows] == ["opt_in", "opt_in"]
    state = ConsentState.objects.get(contact=contact, channel="email", topic=None)
    assert state.status == Status.PENDING and state.format == "html"
    assert state.last_change == rows[0]
    events = TimelineEvent.objects.filter(contact=contact, kind="consent.opt_in")
    assert events.count() == 1
    assert events[0].data["channels"] == ["email"] and events[0].data["topics"] == ["news"]
    ledger.append(contact, [Change(Action.CONFIRM, "email")], source=Source.FORM,
                  actor_label="form:x")
    assert TimelineEvent.objects.filter(contact=contact, kind="consent.confirmed").count() == 1
    assert set(ConsentState.objects.filter(contact=contact).values_list("status", flat=True)) \
        == {Status.IN}


def test_a_change_cannot_be_dated_before_the_last_one(person, subscribe):
    contact = subscribe(person())
    with pytest.raises(ValueError):
        ledger.append(contact, [Change(Action.OPT_OUT, "email")], source=Source.STAFF,
                      actor_label="x", at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_unknown_values_are_refused(person):
    contact = person()
    for change, source in ((Change("subscribe", "email"), "form"),
                           (Change("opt_in", "fax"), "form"),
                           (Change("opt_in", "email"), "rumour")):
        with pytest.raises(ValueError):
            ledger.append(contact, [change], source=source, actor_label="x")
    assert not ConsentChange.objects.filter(contact=contact).exists()


def test_erasure_keeps_the_ledger_but_not_ip_and_user_agent(person, subscribe, owner_actor):
    contact = person()
    ledger.append(contact, [Change(Action.OPT_IN, "email")], source=Source.FORM,
                  actor_label="form:x", ip="192.0.2.7", user_agent="Firefox")
    key = contact_key(contact.pk)
    do_erase_contact(owner_actor, contact)
    rows = ConsentChange.objects.filter(contact=contact)
    assert rows.count() == 1
    assert rows[0].ip is None and rows[0].user_agent == ""
    assert not ContactKey.objects.filter(key=key).exists()  # every link of theirs is dead


def test_merge_moves_the_ledger_and_rebuilds_the_state(person, subscribe, topics, owner_actor):
    keep = person()
    ledger.append(keep, [Change(Action.OPT_OUT, "email")], source=Source.STAFF,
                  actor_label="staff")
    other = subscribe(person(), channels=("email",), topic_keys=("offers",))
    other_key = contact_key(other.pk)
    do_merge_contacts(owner_actor, keep, [other])
    assert ConsentChange.objects.filter(contact=keep).count() == 4
    assert cached_state(keep.pk) == replay_contact(keep.pk)
    # The merged person's later confirmed opt-in wins over the survivor's earlier opt-out.
    assert ConsentState.objects.get(contact=keep, channel="email", topic=None).status == "in"
    assert ContactKey.objects.get(key=other_key).contact_id == keep.pk  # old links still work
    assert preferences_token(keep.pk)


# --- replay equals the cache, over random histories -------------------------------------------

ACTIONS = [a for a in Action.values]
SOURCES = [Source.FORM, Source.PREFERENCES, Source.UNSUBSCRIBE, Source.ONE_CLICK,
           Source.SMS_KEYWORD, Source.BOUNCE, Source.COMPLAINT, Source.STAFF, Source.IMPORT]
change_strategy = st.tuples(
    st.sampled_from(ACTIONS),
    st.sampled_from([Channel.EMAIL, Channel.SMS]),
    st.sampled_from([None, 0, 1]),
    st.sampled_from(SOURCES),
    st.sampled_from([{}, {"frequency": "weekly"}, {"frequency": "quarterly"},
                     {"format": "text"}, {"paused_until": "2031-01-01T00:00:00+00:00"},
                     {"suppression": "hard_bounce"}, {"suppression": "complaint"}]),
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.lists(change_strategy, min_size=1, max_size=4), min_size=1,
                        max_size=8))
def test_replaying_the_ledger_gives_the_cached_state(batches, person, topics):
    contact = person()
    topic_ids = [topics["news"].pk, topics["offers"].pk]
    for batch in batches:
        source = batch[0][3]
        changes = [Change(action, channel, None if t is None else topic_ids[t], details)
                   for action, channel, t, _source, details in batch]
        ledger.append(contact, changes, source=source, actor_label="prop")
    assert cached_state(contact.pk) == replay_contact(contact.pk)
    # Invariants of the fold: a channel row that is out after an opt-out of the whole
    # channel leaves no topic of that channel subscribed.
    state = replay_contact(contact.pk)
    for (channel, topic_id), row in state.items():
        if topic_id is None and row.status == Status.OUT and row.suppression:
            last = ConsentChange.objects.filter(contact=contact, channel=channel).last()
            if last.action == Action.OPT_OUT and last.topic_id is None:
                assert all(r.status == Status.OUT for (c, t), r in state.items()
                           if c == channel and t is not None)


def test_signup_rows_follow_a_merge(person, signup_form, owner_actor):
    keep, other = person(), person()
    Signup.objects.create(form=signup_form, contact=other, nonce="n1", incentive_kind="save",
                          language="fa")
    do_merge_contacts(owner_actor, keep, [other])
    assert Signup.objects.get(nonce="n1").contact_id == keep.pk
