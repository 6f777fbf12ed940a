"""Send-time optimisation (F6): the best hour from human opens and clicks, shrunk toward the
audience, with ε-exploration; quiet hours, the maximum delay and time zones respected."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from peyvand.contacts.models import Contact
from peyvand.journeys import besttime
from peyvand.journeys.besttime import (
    REASON_TEXT,
    audience_prior,
    best_hour,
    choose_hour,
    hour_histograms,
    hour_weights,
    next_send_time,
    plan_send_choices,
    plan_send_times,
    quiet_rules,
)
from peyvand.messaging.models import StrategyRule
from peyvand.tracking.counters import local_hour
from peyvand.tracking.models import SourceHour, TrackingEvent

UTC = dt.UTC
TEHRAN = ZoneInfo("Asia/Tehran")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2025, 6, 1, 8, 0, tzinfo=UTC)  # 11:30 in Tehran
DAY = dt.timedelta(days=1)
_hits = itertools.count()


@pytest.fixture(autouse=True)
def _no_default_rules(db):
    StrategyRule.objects.all().delete()  # the migrations' SMS quiet hours: each test says its own


def people(n: int, zone: str = "Asia/Tehran") -> list[Contact]:
    return Contact.objects.bulk_create([Contact(first_name=f"p{i}", timezone=zone)
                                        for i in range(n)])


def plant(contact: Contact, hour: int, n: int, *, machine: bool = False,
          kind: str = TrackingEvent.Kind.OPEN) -> None:
    """n hits at `hour`:15 in the contact's zone on n days, stored as the drain stores them
    (the local hour from the instant and the contact's zone)."""
    zone = ZoneInfo(contact.timezone)
    events = []
    for day in range(n):
        at = dt.datetime.combine(dt.date(2025, 3, 1) + day * DAY, dt.time(hour, 15),
                                 tzinfo=zone).astimezone(UTC)
        events.append(TrackingEvent(
            hit_id=f"h{next(_hits)}", kind=kind, message_id=1000 + day, contact=contact,
            at=at, machine=machine, machine_reason="proxy" if machine else "",
            local_hour=local_hour(at, contact.timezone)))
    TrackingEvent.objects.bulk_create(events)


def count_hours() -> None:
    """The drain's per-sending counters for the planted events (what everyone's prior reads)."""
    per = Counter((e.kind, e.local_hour) for e in TrackingEvent.objects.filter(machine=False))
    SourceHour.objects.bulk_create([SourceHour(source="test", kind=kind, hour=hour, hits=n)
                                    for (kind, hour), n in per.items()])


def local(at: dt.datetime, zone: ZoneInfo) -> tuple[int, int]:
    at = at.astimezone(zone)
    return at.hour, at.minute


def quiet(start: int, end: int, channel: str = "") -> StrategyRule:
    return StrategyRule.objects.create(kind="quiet", channel=channel,
                                       quiet_start=dt.time(start), quiet_end=dt.time(end))


def audience_at(hour: int, contacts: int = 20, each: int = 5) -> list[Contact]:
    crowd = people(contacts)
    for person in crowd:
        plant(person, hour, each)
    return crowd


# --- the hour --------------------------------------------------------------------------------


def test_a_planted_hour_is_found_and_machine_opens_are_ignored():
    audience_at(12)  # the crowd opens at noon
    planted = people(15) + people(15, "Europe/Berlin")
    rng = random.Random(3)
    for person in planted:
        plant(person, 21, 6)
        plant(person, 21, 2, kind=TrackingEvent.Kind.CLICK)
        plant(person, 3, 30, machine=True)  # a privacy proxy fetching at night
        plant(person, rng.choice([9, 14, 18]), 1)  # a stray human open
    count_hours()
    histograms = hour_histograms([p.pk for p in planted])
    assert all(h[21] == 8 and h[3] == 0 and sum(h) == 9 for h in histograms.values())

    plans = plan_send_choices([p.pk for p in planted], now=NOW, max_delay=2 * DAY, epsilon=0,
                              seed=1)
    for person in planted:
        plan = plans[person.pk]
        assert (plan.hour, plan.choice, plan.timing, plan.events) == (21, "own", "at_hour", 9)
        assert local(plan.at, ZoneInfo(person.timezone)) == (21, 0)
        assert NOW < plan.at <= NOW + DAY

    # With exploration the planted hour still wins for most, and never the machines' hour
    # more than the prior allows (it gets no weight from the proxy's 30 opens).
    explored = plan_send_choices([p.pk for p in planted], now=NOW, max_delay=2 * DAY,
                                 epsilon=0.1, seed=1)
    hours = Counter(plan.hour for plan in explored.values())
    assert hours[21] >= 20
    assert all(plan.hour == 21 for plan in explored.values() if plan.choice != "explore")


def test_machine_opens_alone_leave_a_contact_on_the_prior():
    audience_at(19)
    (scanned,) = people(1)
    plant(scanned, 3, 100, machine=True)
    count_hours()
    histogram = hour_histograms([scanned.pk])[scanned.pk]
    assert histogram == [0] * 24
    prior = audience_prior(None)
    assert prior[3] == pytest.approx(1 / (100 + 24))  # nor in everyone's prior
    assert best_hour(histogram, prior, epsilon=0, rng=random.Random(0)) == 19


def test_a_contact_without_events_follows_the_audience_prior():
    crowd = audience_at(20)
    plant(crowd[0], 7, 3)
    (newcomer,) = people(1)
    count_hours()

    prior = audience_prior(None)  # everyone, from the counters
    assert sum(prior) == pytest.approx(1.0)
    assert all(p > 0 for p in prior)  # add-one: no hour is impossible
    assert prior[20] == pytest.approx((100 + 1) / (103 + 24))
    assert prior == pytest.approx(audience_prior([p.pk for p in crowd]))
    assert prior == pytest.approx(audience_prior(Contact.objects.values("pk")))
    assert audience_prior([]) == pytest.approx([1 / 24] * 24)

    assert hour_histograms([newcomer.pk]) == {newcomer.pk: [0] * 24}
    plan = plan_send_choices([newcomer.pk], now=NOW, max_delay=2 * DAY, epsilon=0,
                             seed=5)[newcomer.pk]
    assert (plan.hour, plan.choice, plan.events) == (20, "audience", 0)
    assert local(plan.at, TEHRAN) == (20, 0)
    # A narrower audience gives its own prior: these people open at 07:00.
    (early,) = people(1)
    plant(early, 7, 40)
    assert best_hour([0] * 24, audience_prior([early.pk]), epsilon=0,
                     rng=random.Random(0)) == 7


def test_few_events_shrink_to_the_audience_many_follow_the_contact():
    audience_at(20)
    few, many = people(2)
    plant(few, 8, 3)
    plant(many, 8, 50)
    crowd_prior = audience_prior(Contact.objects.exclude(pk__in=[few.pk, many.pk])
                                 .values("pk"))
    histograms = hour_histograms([few.pk, many.pk])
    rng = random.Random(0)
    assert best_hour(histograms[few.pk], crowd_prior, strength=5.0, epsilon=0, rng=rng) == 20
    assert best_hour(histograms[many.pk], crowd_prior, strength=5.0, epsilon=0, rng=rng) == 8
    # A weaker prior lets the three events speak.
    assert best_hour(histograms[few.pk], crowd_prior, strength=1.0, epsilon=0, rng=rng) == 8

    weights = hour_weights(histograms[few.pk], crowd_prior, strength=5.0)
    assert sum(weights) == pytest.approx(1.0)
    assert weights[8] == pytest.approx((3 + 5 * crowd_prior[8]) / 8)
    assert weights[20] == pytest.approx(5 * crowd_prior[20] / 8)
    # the same as λ·own + (1 − λ)·prior with λ = N / (N + s)
    assert weights[8] == pytest.approx(3 / 8 * 1 + 5 / 8 * crowd_prior[8])


def test_exploration_happens_at_rate_epsilon_and_draws_from_the_prior():
    prior = [1.0] * 24
    prior[20], prior[9] = 24.0, 12.0
    prior = [p / sum(prior) for p in prior]
    histogram = [0] * 24
    histogram[14] = 40  # the argmax is 14, an hour the prior barely likes
    draws = 20_000
    rng = random.Random(42)
    choices = [choose_hour(histogram, prior, epsilon=0.1, rng=rng) for _ in range(draws)]
    explored = [c.hour for c in choices if c.explored]
    assert len(explored) / draws == pytest.approx(0.1, abs=0.01)
    assert all(c.hour == 14 for c in choices if not c.explored)
    # explored hours follow the prior, not a uniform draw (1/24 each)
    share = Counter(explored)
    assert share[20] / len(explored) == pytest.approx(prior[20], abs=0.03)
    assert share[9] / len(explored) == pytest.approx(prior[9], abs=0.03)
    # best_hour draws the same way: off its argmax ε·(1 − p(14)) of the time
    rng = random.Random(42)
    off = sum(best_hour(histogram, prior, epsilon=0.1, rng=rng) != 14 for _ in range(draws))
    assert off / draws == pytest.approx(0.1 * (1 - prior[14]), abs=0.01)
    # seeded: the same sequence again
    again = random.Random(42)
    assert [choose_hour(histogram, prior, epsilon=0.1, rng=again) for _ in range(draws)] \
        == choices
    assert all(not choose_hour(histogram, prior, epsilon=0, rng=rng).explored
               for _ in range(500))


def test_a_plan_is_fixed_by_its_seed_whatever_the_batch():
    audience_at(20, contacts=10)
    crowd = people(30)
    for i, person in enumerate(crowd):
        plant(person, i % 24, 2)
    count_hours()
    ids = [p.pk for p in crowd]
    first = plan_send_times(ids, now=NOW, max_delay=2 * DAY, epsilon=0.5, seed="step-9")
    assert plan_send_times(ids, now=NOW, max_delay=2 * DAY, epsilon=0.5,
                           seed="step-9") == first
    assert plan_send_times(ids[5:9], now=NOW, max_delay=2 * DAY, epsilon=0.5,
                           seed="step-9") == {i: first[i] for i in ids[5:9]}
    other = plan_send_times(ids, now=NOW, max_delay=2 * DAY, epsilon=0.5, seed="step-10")
    assert other != first  # another seed explores other contacts
    assert plan_send_times([], now=NOW, max_delay=DAY, epsilon=0.1, seed=1) == {}


# --- the time --------------------------------------------------------------------------------


def test_tehran_half_hour_offset():
    # 08:00 UTC is 11:30 in Tehran: 21:00 there is 17:30 UTC the same day
    assert next_send_time(1, "Asia/Tehran", now=NOW, hour=21, quiet_rules=[],
                          max_delay=DAY) == dt.datetime(2025, 6, 1, 17, 30, tzinfo=UTC)
    # 10:00 has passed there today: tomorrow's 10:00
    assert next_send_time(1, "Asia/Tehran", now=NOW, hour=10, quiet_rules=[],
                          max_delay=2 * DAY) == dt.datetime(2025, 6, 2, 6, 30, tzinfo=UTC)
    # the 11 o'clock hour is going on: now
    assert next_send_time(1, "Asia/Tehran", now=NOW, hour=11, quiet_rules=[],
                          max_delay=DAY) == NOW
    # an unknown zone is the shop's (Asia/Tehran)
    assert next_send_time(1, "Mars/Olympus", now=NOW, hour=21, quiet_rules=[],
                          max_delay=DAY) == dt.datetime(2025, 6, 1, 17, 30, tzinfo=UTC)


def test_dst_days_are_counted_on_local_dates():
    # 22:30 in Berlin (CET, +01:00) the night before clocks go forward
    now = dt.datetime(2025, 3, 29, 21, 30, tzinfo=UTC)
    at = next_send_time(1, "Europe/Berlin", now=now, hour=21, quiet_rules=[], max_delay=2 * DAY)
    assert at == dt.datetime(2025, 3, 30, 19, 0, tzinfo=UTC)  # 21:00 CEST: a 23-hour day
    assert local(at, BERLIN) == (21, 0)
    # 02:00 does not exist that night: the moment after the change, 03:00 CEST
    at = next_send_time(1, "Europe/Berlin", now=now, hour=2, quiet_rules=[], max_delay=DAY)
    assert at == dt.datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    # 01:00 happens twice in New York on 2 November: the first one (EDT, −04:00)
    now = dt.datetime(2025, 11, 1, 16, 0, tzinfo=UTC)
    assert next_send_time(1, "America/New_York", now=now, hour=1, quiet_rules=[],
                          max_delay=DAY) == dt.datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    assert next_send_time(1, "America/New_York", now=now, hour=20, quiet_rules=[],
                          max_delay=2 * DAY) == dt.datetime(2025, 11, 2, 0, 0, tzinfo=UTC)
    # the day after, the zone is on EST (−05:00)
    now = dt.datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
    assert next_send_time(1, "America/New_York", now=now, hour=20, quiet_rules=[],
                          max_delay=2 * DAY) == dt.datetime(2025, 11, 3, 1, 0, tzinfo=UTC)


def test_a_best_hour_in_quiet_hours_moves_to_their_end():
    rules = [quiet(22, 8)]
    # 23:00 Tehran is quiet until 08:00 the next morning
    at = next_send_time(1, "Asia/Tehran", now=NOW, hour=23, quiet_rules=rules,
                        max_delay=2 * DAY)
    assert at == dt.datetime(2025, 6, 2, 4, 30, tzinfo=UTC)
    assert local(at, TEHRAN) == (8, 0)
    # two windows one after the other: settled past both
    rules.append(quiet(8, 9))
    at = next_send_time(1, "Asia/Tehran", now=NOW, hour=23, quiet_rules=rules,
                        max_delay=2 * DAY)
    assert local(at, TEHRAN) == (9, 0)
    # a quiet window in a DST zone, in its local time
    now = dt.datetime(2025, 3, 29, 12, 0, tzinfo=UTC)
    at = next_send_time(1, "Europe/Berlin", now=now, hour=23, quiet_rules=[quiet(22, 8)],
                        max_delay=2 * DAY)
    assert at == dt.datetime(2025, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST


def test_plans_respect_the_quiet_rules_of_their_channel():
    (owl,) = people(1)
    plant(owl, 23, 30)
    quiet(22, 8, channel="sms")
    assert [r.channel for r in quiet_rules("sms")] == ["sms"]
    assert quiet_rules("email") == []
    assert len(quiet_rules(None)) == 1  # channel not known: every quiet rule

    sms = plan_send_choices([owl.pk], now=NOW, max_delay=2 * DAY, epsilon=0, seed=1,
                            channel="sms")[owl.pk]
    assert (sms.hour, sms.timing) == (23, "quiet_hours")
    assert local(sms.at, TEHRAN) == (8, 0) and sms.at.date() == dt.date(2025, 6, 2)
    assert str(REASON_TEXT["own"]) in sms.text
    assert str(REASON_TEXT["quiet_hours"]) in sms.text
    email = plan_send_choices([owl.pk], now=NOW, max_delay=2 * DAY, epsilon=0, seed=1,
                              channel="email")[owl.pk]
    assert (email.timing, local(email.at, TEHRAN)) == ("at_hour", (23, 0))


def test_the_maximum_delay_is_respected():
    # 21:00 is 9.5 h away: within 12 h it waits, within 6 h it goes now
    assert local(next_send_time(1, "Asia/Tehran", now=NOW, hour=21, quiet_rules=[],
                                max_delay=dt.timedelta(hours=12)), TEHRAN) == (21, 0)
    assert next_send_time(1, "Asia/Tehran", now=NOW, hour=21, quiet_rules=[],
                          max_delay=dt.timedelta(hours=6)) == NOW
    # the end of quiet hours counts against the delay too: 23:00 → 08:00 is ~20.5 h away
    rules = [quiet(22, 8)]
    assert next_send_time(1, "Asia/Tehran", now=NOW, hour=23, quiet_rules=rules,
                          max_delay=dt.timedelta(hours=18)) == NOW
    # too far, and now is itself quiet (23:30): the end of this quiet period, not now
    night = dt.datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
    at = next_send_time(1, "Asia/Tehran", now=night, hour=21, quiet_rules=rules,
                        max_delay=dt.timedelta(hours=3))
    assert at == dt.datetime(2025, 6, 2, 4, 30, tzinfo=UTC)

    (late,) = people(1)
    plant(late, 21, 20)
    plans = plan_send_choices([late.pk], now=night, max_delay=dt.timedelta(hours=3),
                              epsilon=0, seed=1)
    assert (plans[late.pk].timing, plans[late.pk].at) == ("max_delay_quiet", at)
    StrategyRule.objects.all().delete()
    plans = plan_send_choices([late.pk], now=NOW, max_delay=dt.timedelta(hours=2), epsilon=0,
                              seed=1)
    assert (plans[late.pk].timing, plans[late.pk].at) == ("max_delay", NOW)
    for hours in (1, 5, 20):
        limit = dt.timedelta(hours=hours)
        for at in plan_send_times([late.pk], now=NOW, max_delay=limit, epsilon=0.5,
                                  seed=hours).values():
            assert NOW <= at <= NOW + limit


# --- queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 200])
def test_a_batch_costs_a_fixed_number_of_queries(size, django_assert_max_num_queries):
    quiet(22, 8)
    crowd = people(size) + people(1, "Europe/Berlin")
    for i, person in enumerate(crowd[:50]):
        plant(person, (9 + i) % 24, 3)
    count_hours()
    ids = [p.pk for p in crowd]
    # the prior, the quiet rules, the histograms, the time zones
    with django_assert_max_num_queries(4):
        plans = plan_send_times(ids, now=NOW, max_delay=DAY, epsilon=0.1, seed=1)
    assert set(plans) == set(ids)
    prior = audience_prior(None)
    with django_assert_max_num_queries(3):
        plan_send_times(ids, now=NOW, max_delay=DAY, epsilon=0.1, seed=1, prior=prior)
    with django_assert_max_num_queries(1):
        hour_histograms(ids)


def test_histograms_are_counted_in_chunks(monkeypatch, django_assert_num_queries):
    crowd = people(5)
    for i, person in enumerate(crowd):
        plant(person, i + 10, i + 1)
        plant(person, i + 10, 1, kind=TrackingEvent.Kind.CLICK)
    monkeypatch.setattr(besttime, "CHUNK", 2)
    ids = [p.pk for p in crowd] + [10**9]  # and one nobody has
    with django_assert_num_queries(3):
        histograms = hour_histograms(reversed(ids))
    assert set(histograms) == set(ids) and histograms[10**9] == [0] * 24
    for i, person in enumerate(crowd):
        expected = [0] * 24
        expected[i + 10] = i + 2
        assert histograms[person.pk] == expected
    with django_assert_num_queries(3):
        prior = audience_prior(ids)
    assert prior[14] == pytest.approx((6 + 1) / (20 + 24))
