"""What each step does (the exit conditions checked before every step are in exits.py).

A step's effect runs inside the runner's transaction for that step: everything it writes
(an outbox row, a tag, the enrolment's data) commits with its StepRun or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from peyvand.base.dates import zone_of
from peyvand.journeys.definition import minutes_of, wait_minutes
from peyvand.journeys.models import Enrolment, JourneyVersion

DEFAULT_MAX_DELAY_HOURS = 24  # a best-hour send waits at most this long by default
BEST_HOUR_EPSILON = 0.1  # share of best-hour sends at an explored hour (besttime.py)


@dataclass
class Move:
    """A step's result: its outcome, where the enrolment goes next (None: the end), when,
    and for a wait_event the event it now waits for."""

    outcome: str
    next: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None  # next_run_at (default: now)
    waiting_for: str = ""
    wait_until: dt.datetime | None = None
    finish_reason: str | None = None  # set: the journey ends here, done with this reason


class Context:
    """What a run of due enrolments loads once: versions, snapshots, segment memberships."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.queued = 0  # messages queued: the sender is woken once, at the end
        self._versions: dict[int, JourneyVersion] = {}
        self._snapshots: dict[int, Any] = {}
        self._prior: list[float] | None = None

    def version(self, version_id: int) -> JourneyVersion:
        if version_id not in self._versions:
            self._versions[version_id] = JourneyVersion.objects.select_related(
                "journey").get(pk=version_id)
        return self._versions[version_id]

    def snapshot(self, snapshot_id: int):
        from peyvand.messaging.models import ContentSnapshot

        if snapshot_id not in self._snapshots:
            self._snapshots[snapshot_id] = ContentSnapshot.objects.get(pk=snapshot_id)
        return self._snapshots[snapshot_id]

    def prior(self) -> list[float]:
        """Everyone's hours (besttime.audience_prior), read once per run."""
        if self._prior is None:
            from peyvand.journeys.besttime import audience_prior

            self._prior = audience_prior(None)
        return self._prior


def matching_ids(rule: Any, contact_ids: list[int]) -> set[int]:
    from peyvand.audiences.queries import matching

    return set(matching(rule).filter(pk__in=contact_ids).values_list("pk", flat=True))


def _matches(rule: Any, contact_id: int) -> bool:
    return contact_id in matching_ids(rule, [contact_id])


def rule_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def source_of(item: Enrolment) -> str:
    """The outbox source of this visit's message: unique per (enrolment, node, visit)."""
    return f"journey:{item.pk}:{item.node}:{item.visit}"


def best_time(item: Enrolment, step: dict[str, Any], channel: str, ctx: Context) \
        -> tuple[dt.datetime, dict[str, Any]]:
    """F6: when this contact's message goes (their best hour, besttime.py) and why. Seeded by
    (enrolment, node), so the step run again after a crash plans the same time."""
    from peyvand.journeys.besttime import plan_send_choices

    delay = int(step.get("max_delay_hours", DEFAULT_MAX_DELAY_HOURS))
    plan = plan_send_choices([item.contact_id], now=ctx.now, max_delay=dt.timedelta(
        hours=delay), epsilon=BEST_HOUR_EPSILON, seed=f"{item.pk}:{item.node}",
        prior=ctx.prior(), channel=channel)[item.contact_id]
    return plan.at, {"send_after": plan.at.isoformat(), "hour": plan.hour,
                     "choice": plan.choice, "timing": plan.timing, "reason": str(plan.text)}


def _send(item: Enrolment, step: dict[str, Any], version: JourneyVersion, ctx: Context) -> Move:
    from peyvand.messaging.single import queue_marketing

    snapshot = ctx.snapshot(version.snapshots[item.node])
    send_after: dt.datetime | None = None
    detail: dict[str, Any] = {}
    if step.get("best_hour"):
        send_after, detail = best_time(item, step, snapshot.channel, ctx)
    if step.get("if_capped") == "skip":
        from peyvand.messaging.gate import DEFER, check_outbound

        decision = check_outbound(item.contact_id, snapshot.channel, topic=snapshot.topic,
                                  message_class="marketing", content_type=snapshot.content_type,
                                  at=send_after or ctx.now)
        if decision.verdict == DEFER:
            return Move("skipped_capped", step.get("next"), {"reason": decision.reason})
    row = queue_marketing(snapshot, item.contact_id, source_of(item), send_after=send_after,
                          kick=False)
    if row is None:
        return Move("no_address", step.get("next"), {"channel": snapshot.channel})
    item.data["message"] = row.pk
    ctx.queued += 1
    return Move("queued", step.get("next"), {"message": row.pk, **detail})


def send_many(items: list[Enrolment], ctx: Context) -> dict[int, Move]:
    """The send step of many enrolments (none with if_capped: skip or best_hour): per snapshot, the
    addresses, link keys and outbox rows in a fixed number of queries. {enrolment id: Move}"""
    from peyvand.messaging.single import queue_marketing_many

    groups: dict[int, list[Enrolment]] = {}
    for item in items:
        version = ctx.version(item.version_id)
        groups.setdefault(version.snapshots[item.node], []).append(item)
    queued = {snapshot_id: queue_marketing_many(ctx.snapshot(snapshot_id), [
        (i.contact_id, source_of(i)) for i in group]) for snapshot_id, group in groups.items()}
    out: dict[int, Move] = {}  # the enrolments change only once every row is queued
    for snapshot_id, group in groups.items():
        snapshot, rows = ctx.snapshot(snapshot_id), queued[snapshot_id]
        for item in group:
            step = ctx.version(item.version_id).definition["steps"][item.node]
            row = rows[source_of(item)]
            if row is None:
                out[item.pk] = Move("no_address", step.get("next"),
                                    {"channel": snapshot.channel})
                continue
            item.data["message"] = row
            ctx.queued += 1
            out[item.pk] = Move("queued", step.get("next"), {"message": row})
    return out


def batched(item: Enrolment, step: dict[str, Any]) -> bool:
    """Whether the step runs in send_many rather than one by one (a send asking the gate
    first, or planned at the contact's best hour, goes one by one)."""
    return step["type"] == "send" and step.get("if_capped") != "skip" \
        and not step.get("best_hour")


def _wait(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    minutes = wait_minutes(step)
    return Move("waited", step.get("next"), {"minutes": minutes},
                at=ctx.now + dt.timedelta(minutes=minutes))


def next_local_time(now: dt.datetime, tz_name: str, time: str,
                    weekday: int | None = None) -> dt.datetime:
    """The first moment after `now` that is `time` (HH:MM) in the time zone `tz_name` (the
    shop's when unknown), on the ISO `weekday` (1 Monday … 7 Sunday) when given."""
    zone = zone_of(tz_name)
    hour, minute = (int(part) for part in time.split(":"))
    local = now.astimezone(zone)
    day = local.date()
    for _day in range(9):
        at = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        # A time skipped by a clock change comes out an hour on: still that day.
        if at > local and (weekday is None or day.isoweekday() == weekday):
            return at.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
    raise AssertionError("a weekday comes round within a week")


def _wait_until(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    from peyvand.contacts.models import Contact

    tz_name = Contact.objects.filter(pk=item.contact_id).values_list(
        "timezone", flat=True).first() or ""
    at = next_local_time(ctx.now, tz_name, step["time"], step.get("weekday"))
    return Move("waited", step.get("next"), {"until": at.isoformat()}, at=at)


def _wait_event(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    until = ctx.now + dt.timedelta(minutes=minutes_of(step["timeout"], "timeout"))
    return Move("waiting", item.node, {"event": step["event"]}, at=until,
                waiting_for=step["event"], wait_until=until)


def _branch(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    on = step.get("on", "rule")
    if on == "rule":
        yes = _matches(step["rule"], item.contact_id)
        return Move("yes" if yes else "no", step.get("yes" if yes else "no"))
    arm = response_of(item) if on == "response" else wait_outcome(item)
    return Move(arm, step.get(arm) or step.get("else"), {"on": on})


def response_of(item: Enrolment) -> str:
    """What the person did with the journey's last message: clicked, else opened (people,
    not machines: tracking's human events), else none (or no message sent)."""
    from peyvand.tracking.queries import human_responses

    message = item.data.get("message")
    return human_responses([message]).get(message, "none") if message else "none"


def wait_outcome(item: Enrolment) -> str:
    """How the enrolment's last wait_event ended ("event" or "timeout", its StepRun's
    outcome); "else" when it has waited for nothing yet."""
    from peyvand.journeys.models import StepRun

    last = (StepRun.objects.filter(enrolment_id=item.pk, outcome__in=("event", "timeout"))
            .order_by("-finished_at", "-id").values_list("outcome", flat=True).first())
    return last or "else"


def arm_of(item: Enrolment, percent: int) -> str:
    """a for `percent`% of enrolments, b for the rest: drawn from a hash of the visit, so
    the same visit always takes the same arm (it is recorded in the enrolment's data too)."""
    digest = hashlib.sha256(f"{item.pk}:{item.node}:{item.visit}".encode()).digest()
    return "a" if int.from_bytes(digest[:8], "big") % 100 < percent else "b"


def _split(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    arms = item.data.setdefault("arms", {})
    arm = arms.get(item.node) or arm_of(item, step["percent"])
    arms[item.node] = arm
    return Move(arm, step.get(arm), {"arm": arm})


def _tag(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_tag_contacts

    remove = "remove" in step
    name = step["remove" if remove else "add"]
    changed = do_tag_contacts(Actor.system(f"journey:{version.journey_id}"), [item.contact_id],
                              name, remove=remove)
    return Move("removed" if remove else "added", step.get("next"),
                {"tag": name, "changed": changed})


def _update_field(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    """Set one custom field through contacts' update action (its checks, timeline entry and
    hooks); a value it refuses now (the field changed type, the person is erased) is
    recorded and the journey goes on."""
    from peyvand.base.actor import Actor
    from peyvand.base.errors import Invalid
    from peyvand.contacts.actions import do_update_contact
    from peyvand.contacts.models import Contact

    key, value = step["field"], step.get("value")
    contact = Contact.objects.get(pk=item.contact_id)
    try:
        with transaction.atomic():
            changed = do_update_contact(Actor.system(f"journey:{version.journey_id}"), contact,
                                        {"fields": {key: value}})
    except Invalid as exc:
        return Move("refused", step.get("next"), {"field": key, "reason": str(
            next(iter(exc.errors.values()), ""))})
    return Move("updated" if changed else "unchanged", step.get("next"), {"field": key})


def _webhook(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    """POST the enrolment's ids to the step's URL (webhook.py): the answer's status, or the
    error, is the step's outcome; the journey goes on either way."""
    from peyvand.journeys.webhook import call

    payload = {"journey": version.journey_id, "enrolment": item.pk,
               "contact": item.contact_id, "node": item.node}
    result = call(step["url"], payload, f"{item.pk}:{item.node}:{item.visit}")
    status = result.get("status")
    outcome = "error" if status is None else "delivered" if 200 <= status < 300 else "refused"
    return Move(outcome, step.get("next"), result)


def _task(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    """Hand the person to staff: one StaffTask per visit of this step (the step run's key is
    the task's dedupe key, so a retried round finds it). A user named in the step who is gone
    or deactivated since leaves the task to the team."""
    from django.contrib.auth import get_user_model

    from peyvand.base.actor import Actor
    from peyvand.base.errors import Invalid
    from peyvand.contacts.models import Contact
    from peyvand.support.actions import do_create_task

    assignee = None
    if step.get("assign_to"):
        assignee = get_user_model().objects.filter(username=step["assign_to"],
                                                   is_active=True).first()
    due = ctx.now + dt.timedelta(hours=step["due_hours"]) if step.get("due_hours") else None
    contact = Contact.objects.get(pk=item.contact_id)
    try:
        with transaction.atomic():
            task = do_create_task(
                Actor.system(f"journey:{version.journey_id}"), contact, step["title"],
                kind=step.get("kind", "call"), assignee=assignee, due_at=due,
                source=f"journey:{version.journey_id}:{item.node}",
                source_label=version.journey.name,
                dedupe_key=f"journey:{item.pk}:{item.node}:{item.visit}")
    except Invalid as exc:
        return Move("refused", step.get("next"), {"reason": str(
            next(iter(exc.errors.values()), ""))})
    return Move("created", step.get("next"), {"task": task.pk})


def _exit(item: Enrolment, step: dict[str, Any], version, ctx: Context) -> Move:
    return Move("exit", None, finish_reason="exit")


EFFECTS = {"send": _send, "wait": _wait, "wait_event": _wait_event, "branch": _branch,
           "split": _split, "tag": _tag, "exit": _exit, "wait_until": _wait_until,
           "update_field": _update_field, "webhook": _webhook, "task": _task}
