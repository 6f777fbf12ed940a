"""consent_decision: what messaging's gate asks before every message."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from peyvand.consent import ledger
from peyvand.consent.actions import record_bounce, record_complaint
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Source
from peyvand.consent.queries import Decision, consent_decision
from peyvand.contacts.actions import do_erase_contact


def test_nothing_without_consent(person, topics):
    contact = person()
    assert consent_decision(contact.pk, "email", "news") == Decision(False, "no_consent")
    assert consent_decision(999_999, "email", "news").reason == "unknown_contact"
    assert consent_decision(contact.pk, "fax", "news").reason == "unknown_channel"
    assert consent_decision(contact.pk, "email", "gossip").reason == "unknown_topic"


def test_double_opt_in_gates_everything_but_the_confirmation(person, topics):
    contact = person()
    ledger.append(contact, [Change(Action.OPT_IN, "email", None, {"format": "html"}),
                            Change(Action.OPT_IN, "email", topics["news"].pk,
                                   {"frequency": "monthly"})],
                  source=Source.FORM, actor_label="form")
    before = consent_decision(contact.pk, "email", "news")
    assert (before.allowed, before.reason) == (False, "unconfirmed")
    assert not consent_decision(contact.pk, "email", None, message_class="alert")
    assert consent_decision(contact.pk, "email", message_class="confirmation").allowed
    ledger.append(contact, [Change(Action.CONFIRM, "email")], source=Source.FORM,
                  actor_label="form")
    after = consent_decision(contact.pk, "email", "news")
    assert (after.allowed, after.reason, after.frequency, after.format) == \
        (True, "ok", "monthly", "html")
    assert consent_decision(contact.pk, "email", topics["news"]).allowed  # a Topic works too
    assert consent_decision(contact.pk, "email", "offers").reason == "topic_not_chosen"
    assert consent_decision(contact.pk, "sms", "news").reason == "no_consent"
    assert consent_decision(contact.pk, "email", message_class="confirmation").reason == \
        "nothing_to_confirm"


def test_pause_frequency_and_format(person, subscribe, topics):
    contact = subscribe(person(), topic_keys=("news", "offers"))
    ledger.append(contact, [Change(Action.PREFERENCE_CHANGE, "email", topics["offers"].pk,
                                   {"frequency": "alerts_only"}),
                            Change(Action.PREFERENCE_CHANGE, "email", None, {"format": "text"})],
                  source=Source.PREFERENCES, actor_label="contact")
    assert consent_decision(contact.pk, "email", "offers").reason == "alerts_only"
    assert consent_decision(contact.pk, "email", "offers", message_class="alert").allowed
    refused = consent_decision(contact.pk, "email", "news", fmt="html")
    assert (refused.reason, refused.format) == ("format", "text")
    assert consent_decision(contact.pk, "email", "news", fmt="text").allowed
    until = timezone.now() + dt.timedelta(weeks=2)
    ledger.append(contact, [Change(Action.PAUSE, "email", None,
                                   {"paused_until": until.isoformat()})],
                  source=Source.PREFERENCES, actor_label="contact")
    paused = consent_decision(contact.pk, "email", "news")
    assert paused.reason == "paused" and paused.paused_until == until
    ledger.append(contact, [Change(Action.RESUME, "email")], source=Source.PREFERENCES,
                  actor_label="contact")
    assert consent_decision(contact.pk, "email", "news").allowed


def test_topics_retired_and_opted_out(person, subscribe, topics):
    contact = subscribe(person(), topic_keys=("news", "offers"))
    ledger.append(contact, [Change(Action.OPT_OUT, "email", topics["offers"].pk)],
                  source=Source.PREFERENCES, actor_label="contact")
    assert consent_decision(contact.pk, "email", "offers").reason == "topic_not_chosen"
    topics["news"].active = False
    topics["news"].save()
    assert consent_decision(contact.pk, "email", "news").reason == "topic_retired"


def test_suppression_reasons_and_transactional_messages(person, subscribe):
    bounced, complained, left = (subscribe(person()) for _i in range(3))
    record_bounce(bounced.pk, "email", hard=True, details={"smtp": "550"})
    assert record_bounce(bounced.pk, "email", hard=False) is None  # soft: no consent change
    record_complaint(complained.pk, "email")
    ledger.append(left, [Change(Action.OPT_OUT, "email")], source=Source.UNSUBSCRIBE,
                  actor_label="contact")
    assert consent_decision(bounced.pk, "email", "news").reason == "hard_bounce"
    assert consent_decision(complained.pk, "email", "news").reason == "complaint"
    assert consent_decision(left.pk, "email", "news").reason == "opted_out"
    # Receipts still reach people who unsubscribed; never a dead address, nor a person who
    # called our mail spam.
    assert consent_decision(left.pk, "email", message_class="transactional").allowed
    assert consent_decision(complained.pk, "email", message_class="transactional").reason == \
        "complaint"
    assert consent_decision(bounced.pk, "email", message_class="transactional").reason == \
        "hard_bounce"


def test_erased_contacts_get_nothing(person, subscribe, owner_actor):
    contact = subscribe(person())
    do_erase_contact(owner_actor, contact)
    assert consent_decision(contact.pk, "email", "news").reason == "erased"


def test_decision_costs_a_fixed_number_of_queries(person, subscribe, django_assert_max_num_queries):
    contact = subscribe(person())
    with django_assert_max_num_queries(3):
        assert consent_decision(contact.pk, "email", "news").allowed


def test_the_batch_answers_as_one_at_a_time_in_a_fixed_number_of_queries(
        person, subscribe, topics, system, django_assert_max_num_queries):
    from peyvand.consent.queries import consent_decisions

    people = [
        subscribe(person()),                                  # ok
        person(),                                             # no consent
        subscribe(person(), topic_keys=("offers",)),          # topic not chosen for news
        subscribe(person(), frequency="alerts_only"),         # alerts only
    ]
    pending = person()
    ledger.append(pending, [Change(Action.OPT_IN, "email", None)], source=Source.FORM,
                  actor_label="form")
    bounced = subscribe(person())
    record_bounce(bounced.pk, "email", hard=True)
    erased = subscribe(person())
    do_erase_contact(system, erased)
    ids = [p.pk for p in people] + [pending.pk, bounced.pk, erased.pk, 999_999]
    for topic in ("news", None, "offers"):
        for message_class in ("marketing", "alert", "transactional", "confirmation"):
            with django_assert_max_num_queries(4):
                batch = consent_decisions(ids, "email", topic, message_class=message_class)
            assert batch == {c: consent_decision(c, "email", topic, message_class=message_class)
                             for c in ids}
    assert len({d.reason for d in consent_decisions(ids, "email", "news").values()}) >= 6


def test_a_batch_whose_people_all_have_consent_rows_costs_one_query(
        person, subscribe, system, django_assert_num_queries):
    from peyvand.consent.queries import consent_decisions

    people = [subscribe(person()) for _ in range(3)]
    erased = subscribe(person())
    do_erase_contact(system, erased)
    ids = [p.pk for p in people]
    with django_assert_num_queries(1):
        batch = consent_decisions(ids, "email")
    assert batch == {c: consent_decision(c, "email") for c in ids}
    assert {d.reason for d in batch.values()} == {"ok"}
    # Contacts without rows (never asked, erased, unknown) are looked up in one more query.
    ids += [person().pk, erased.pk, 999_999]
    with django_assert_num_queries(2):
        batch = consent_decisions(ids, "email")
    assert batch == {c: consent_decision(c, "email") for c in ids}
    assert [batch[c].reason for c in ids[-3:]] == ["no_consent", "erased", "unknown_contact"]
