"""Send at the best hour (F6): each contact's hour from their own opens and clicks, shrunk
toward the audience's, with a little exploration; then a time that respects quiet hours and a
maximum delay.

The model. For a contact c let n_c(h) be their HUMAN opens and clicks at local hour h
(0-23, the hour in their time zone when the hit was stored: `TrackingEvent.local_hour`;
hits flagged as a machine's, such as privacy proxies and link scanners, never count) and
N_c = Σ_h n_c(h). The audience's prior is its own counts A(h), smoothed add-one:

    p(h) = (A(h) + 1) / (Σ_k A(k) + 24)

The contact's hour weights θ_c follow a Dirichlet(s·p) prior (s = `strength`, in events); after
seeing n_c the posterior is Dirichlet(s·p + n_c), whose mean is

    θ̂_c(h) = (n_c(h) + s·p(h)) / (N_c + s)
            = λ_c · n_c(h)/N_c + (1 − λ_c) · p(h),   with λ_c = N_c / (N_c + s)

so a contact with few events follows the audience and one with many follows themselves
(3 events at 08:00 weigh 3 + 5·p(8) against 5·p(20): when most of the audience opens at
20:00, p(20) is near 1 and 20:00 wins; 50 events at 08:00 win whatever the prior).

The hour is argmax_h θ̂_c(h) (ties: the audience's stronger hour, then the earlier). With
probability ε it is instead an hour drawn from p, so hours the audience likes keep being
tried and the histograms keep learning (drawing from p, not uniformly, keeps the cost of
exploring low: few tries at 04:00).

Randomness comes from the caller's seed: `plan_send_times` seeds one generator per contact
from (seed, contact id), so the same step planned again (a retry after a crash) gives every
contact the same time, whatever else is in the batch.

Time. The hour is turned into the next wall-clock time in the contact's zone (`next_send_time`:
day arithmetic on local dates, so DST days of 23 or 25 hours and half-hour offsets such as
Tehran's +03:30 come out right), moved past quiet hours (messaging's quiet StrategyRules, the
gate's own `quiet_until`), and never later than now + max delay.

Where the counts come from: `hour_histograms` groups the events by (contact, local hour) in
one query per 500 contacts. The prior of "everyone" (`audience_prior(None)`) reads the
tracking counters' `SourceHour` (human hits per sending and local hour, kept by the drain)
instead of scanning every event; a named audience is counted from its events. Events stored
before local hours were kept have none until `tracking.counters.rebuild_counters` fills
them: until then they do not count.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from peyvand.base.dates import zone_of
from peyvand.contacts.models import Contact
from peyvand.messaging.gate import quiet_until
from peyvand.messaging.models import StrategyRule
from peyvand.messaging.strategy import active_rules
from peyvand.tracking.models import SourceHour, TrackingEvent

HOURS = range(24)
STRENGTH = 5.0  # s: how many of its own events a contact needs to weigh as much as the prior
EPSILON = 0.1  # share of sends at an explored hour
CHUNK = 500  # contact ids per query

# Why this hour (SendPlan.choice), then why this time (SendPlan.timing).
REASON_TEXT = {
    "own": _("The contact's best hour, learned from their own opens and clicks."),
    "audience": _("The audience's best hour: the contact has too few opens and clicks of "
                  "their own."),
    "explore": _("An hour tried from the audience's hours, so the model keeps learning."),
    "at_hour": _("Sent at that hour in the contact's time zone."),
    "quiet_hours": _("That hour is in quiet hours: sent when they end."),
    "max_delay": _("That hour is further away than the maximum delay: sent now."),
    "max_delay_quiet": _("That hour is further away than the maximum delay: sent when the "
                         "current quiet hours end."),
}


@dataclass(frozen=True)
class HourChoice:
    hour: int
    explored: bool  # drawn from the prior (ε), not the argmax


@dataclass(frozen=True)
class SendPlan:
    """One contact's send time and how it was found (the journey's test mode shows it)."""

    at: dt.datetime  # aware, UTC
    hour: int  # the local hour chosen (`at` may differ: quiet hours, max delay)
    events: int  # N_c: the contact's own human opens and clicks
    choice: str  # own / audience / explore
    timing: str  # at_hour / quiet_hours / max_delay / max_delay_quiet

    @property
    def text(self) -> str:
        return f"{REASON_TEXT[self.choice]} {REASON_TEXT[self.timing]}"


# --- counting ------------------------------------------------------------------------------------

def _human_hits() -> QuerySet[TrackingEvent]:
    return TrackingEvent.objects.filter(
        machine=False, local_hour__isnull=False,
        kind__in=(TrackingEvent.Kind.OPEN, TrackingEvent.Kind.CLICK)).order_by()


def _add(counts: list[int], hour: int | None, n: int | None) -> None:
    if hour is not None and 0 <= hour < 24 and n:
        counts[hour] += max(n, 0)


def hour_histograms(contact_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per contact (every one asked, zeros when none), 24 counts of human opens and clicks by
    local hour; one GROUP BY (contact, local hour) query per CHUNK contacts."""
    ids = sorted(set(contact_ids))
    out = {contact_id: [0] * 24 for contact_id in ids}
    for start in range(0, len(ids), CHUNK):
        for contact_id, hour, n in (
                _human_hits().filter(contact_id__in=ids[start:start + CHUNK])
                .values("contact_id", "local_hour").annotate(n=Count("pk"))
                .values_list("contact_id", "local_hour", "n")):
            _add(out[contact_id], hour, n)
    return out


def audience_prior(contact_ids: Iterable[int] | QuerySet | None = None) -> list[float]:
    """p(h): the audience's human opens and clicks by local hour, add-one smoothed, summing to
    1. None: everyone, from the drain's per-sending counters (one small query); a QuerySet of
    contact ids: one query with it as a subquery; ids: one query per CHUNK."""
    counts = [0] * 24
    if contact_ids is None:
        rows: Iterable[tuple[int | None, int | None]] = (
            SourceHour.objects.order_by().values("hour").annotate(n=Sum("hits"))
            .values_list("hour", "n"))
        for hour, n in rows:
            _add(counts, hour, n)
    elif isinstance(contact_ids, QuerySet):
        for hour, n in _prior_rows(contact_ids):
            _add(counts, hour, n)
    else:
        ids = sorted(set(contact_ids))
        for start in range(0, len(ids), CHUNK):
            for hour, n in _prior_rows(ids[start:start + CHUNK]):
                _add(counts, hour, n)
    total = sum(counts)
    return [(c + 1) / (total + 24) for c in counts]


def _prior_rows(contact_ids: QuerySet | list[int]) -> QuerySet:
    return (_human_hits().filter(contact_id__in=contact_ids).values("local_hour")
            .annotate(n=Count("pk")).values_list("local_hour", "n"))


# --- choosing the hour ---------------------------------------------------------------------------

def hour_weights(histogram: Sequence[int], prior: Sequence[float], *,
                 strength: float = STRENGTH) -> list[float]:
    """θ̂(h) = (n(h) + s·p(h)) / (N + s): the posterior mean (module docstring)."""
    if len(histogram) != 24 or len(prior) != 24:
        raise ValueError("a histogram and a prior have 24 hours")
    if strength < 0:
        raise ValueError("strength must not be negative")
    total = sum(histogram) + strength
    if total <= 0:
        return list(prior)
    return [(n + strength * p) / total for n, p in zip(histogram, prior, strict=True)]


def choose_hour(histogram: Sequence[int], prior: Sequence[float], *,
                strength: float = STRENGTH, epsilon: float = EPSILON,
                rng: random.Random) -> HourChoice:
    """The argmax of the posterior mean, or with probability ε an hour drawn from the prior.
    Draws rng.random() once, and once more when exploring: seeded, the result is fixed."""
    weights = hour_weights(histogram, prior, strength=strength)
    if rng.random() < epsilon:
        return HourChoice(rng.choices(HOURS, weights=prior)[0], explored=True)
    best = max(HOURS, key=lambda h: (weights[h], prior[h], -h))
    return HourChoice(best, explored=False)


def best_hour(histogram: Sequence[int], prior: Sequence[float], *, strength: float = STRENGTH,
              epsilon: float = EPSILON, rng: random.Random) -> int:
    """The hour to send at (0-23, the contact's local time): `choose_hour`'s hour."""
    return choose_hour(histogram, prior, strength=strength, epsilon=epsilon, rng=rng).hour


def _choice_reason(choice: HourChoice, histogram: Sequence[int]) -> str:
    if choice.explored:
        return "explore"
    own = max(HOURS, key=lambda h: (histogram[h], -h))
    return "own" if histogram[own] and histogram[choice.hour] == histogram[own] else "audience"


# --- the time ------------------------------------------------------------------------------------

def quiet_rules(channel: str | None = None) -> list[StrategyRule]:
    """The active quiet-hours rules for `channel` (those for every channel included); None:
    all of them, the strictest reading when the channel is not known yet. One query."""
    return [r for r in active_rules() if r.kind == StrategyRule.Kind.QUIET
            and (not channel or not r.channel or r.channel == channel)]


def _past_quiet(at: dt.datetime, rules: Sequence[StrategyRule], zone: ZoneInfo) -> dt.datetime:
    """`at` (UTC), or when the quiet hours holding it end; two windows may follow each other,
    so settle on one time as the gate does."""
    for _step in range(8):
        ends = [end for rule in rules if (end := quiet_until(rule, at, zone)) is not None]
        if not ends:
            break
        end = max(ends).astimezone(dt.UTC)
        if end <= at:
            break
        at = end
    return at


def _next_hour(now: dt.datetime, hour: int, zone: ZoneInfo) -> dt.datetime:
    """The start of the next `hour` in `zone` (now, if that hour is going on). Days are
    counted on local dates; a wall time that a clock change skips comes out as the moment
    after the change (02:00 on a spring-forward night is 03:00), one that repeats as its
    first occurrence."""
    if not 0 <= hour < 24:
        raise ValueError(f"hour {hour} is not 0-23")
    local = now.astimezone(zone)
    if local.hour == hour:
        return now
    day = local.date() + dt.timedelta(days=0 if local.hour < hour else 1)
    at = dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)
    return max(at, now)


def _send_time(zone_name: str | None, *, now: dt.datetime, hour: int,
               quiet_rules: Sequence[StrategyRule], max_delay: dt.timedelta) \
        -> tuple[dt.datetime, str]:
    zone = zone_of(zone_name)
    now = now.astimezone(dt.UTC)  # compare instants: aware times in one zone compare by wall
    at = _next_hour(now, hour, zone)
    when = _past_quiet(at, quiet_rules, zone)
    if when <= now + max_delay:
        return when, "quiet_hours" if when > at else "at_hour"
    soon = _past_quiet(now, quiet_rules, zone)
    return soon, "max_delay_quiet" if soon > now else "max_delay"


def next_send_time(contact_id: int, zone_name: str | None, *, now: dt.datetime, hour: int,
                   quiet_rules: Sequence[StrategyRule],
                   max_delay: dt.timedelta) -> dt.datetime:
    """When to send to a contact in `zone_name` (the shop's zone when empty or unknown) whose
    best hour is `hour`: the next start of that hour in their zone after `now` (or `now`
    itself while that hour is going on), moved to the end of any quiet hours it falls in.

    When that is later than now + max_delay, the message goes as soon as it may instead:
    `now`, or, when now is itself in quiet hours, the end of the current quiet period (even if
    that is past the max delay: the gate would hold the message until then anyway).

    `quiet_rules` are quiet StrategyRules (`quiet_rules(channel)`); `contact_id` only names
    the contact (the time depends on the zone alone). Returns an aware UTC datetime."""
    del contact_id
    return _send_time(zone_name, now=now, hour=hour, quiet_rules=quiet_rules,
                      max_delay=max_delay)[0]


# --- a batch -------------------------------------------------------------------------------------

def _zones(contact_ids: list[int]) -> dict[int, str]:
    zones: dict[int, str] = {}
    for start in range(0, len(contact_ids), CHUNK):
        zones.update(Contact.objects.filter(pk__in=contact_ids[start:start + CHUNK])
                     .values_list("pk", "timezone"))
    return zones


def plan_send_choices(contact_ids: Iterable[int], *, now: dt.datetime,
                      max_delay: dt.timedelta, epsilon: float = EPSILON, seed: int | str,
                      strength: float = STRENGTH, prior: Sequence[float] | None = None,
                      channel: str | None = None) -> dict[int, SendPlan]:
    """Each contact's SendPlan. `prior`: the audience's (`audience_prior`), everyone's when
    None; `channel`: whose quiet hours apply (None: all). Queries: the prior (unless given),
    the quiet rules, then two per CHUNK contacts (histograms, time zones)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    prior = list(prior) if prior is not None else audience_prior(None)
    rules = quiet_rules(channel)
    histograms = hour_histograms(ids)
    zones = _zones(ids)
    plans: dict[int, SendPlan] = {}
    for contact_id in ids:
        histogram = histograms[contact_id]
        choice = choose_hour(histogram, prior, strength=strength, epsilon=epsilon,
                             rng=random.Random(f"{seed}:{contact_id}"))
        at, timing = _send_time(zones.get(contact_id), now=now, hour=choice.hour,
                                quiet_rules=rules, max_delay=max_delay)
        plans[contact_id] = SendPlan(at=at, hour=choice.hour, events=sum(histogram),
                                     choice=_choice_reason(choice, histogram), timing=timing)
    return plans


def plan_send_times(contact_ids: Iterable[int], *, now: dt.datetime, max_delay: dt.timedelta,
                    epsilon: float = EPSILON, seed: int | str, strength: float = STRENGTH,
                    prior: Sequence[float] | None = None,
                    channel: str | None = None) -> dict[int, dt.datetime]:
    """Each contact's send time (aware, UTC): `plan_send_choices` without the reasons."""
    return {contact_id: plan.at for contact_id, plan in plan_send_choices(
        contact_ids, now=now, max_delay=max_delay, epsilon=epsilon, seed=seed,
        strength=strength, prior=prior, channel=channel).items()}
