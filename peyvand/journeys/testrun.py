"""Test mode: a dry run of a definition for one contact, time compressed. Read-only.

From `start`, each step is evaluated as it would run now, with the clock moved on instead of
waiting: a send asks the OutboundGate (`check_outbound`, which queues and records nothing),
a branch reads the person's data, a split shows the arm its hash gives, a wait_event shows
both ways and follows the timeout unless the event is assumed. The exit conditions the runner
checks before a step (erased, consent, the goal, a left segment) are checked on the person's
data as it is now (earlier simulated steps change nothing in the database).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.journeys.definition import EXITS, minutes_of, wait_minutes

MAX_STEPS = 60  # a loop through waits would go on for ever: the test stops here


def _span(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return _("%(n)s days") % {"n": minutes // 1440}
    if minutes and minutes % 60 == 0:
        return _("%(n)s hours") % {"n": minutes // 60}
    return _("%(n)s minutes") % {"n": minutes}


def dry_arm(contact_id: int, node: str, visit: int, percent: int) -> str:
    """The arm for a test run: the runner's draw (steps.arm_of) with the contact in place of
    the enrolment, which a dry run does not have."""
    digest = hashlib.sha256(f"test-{contact_id}:{node}:{visit}".encode()).digest()
    return "a" if int.from_bytes(digest[:8], "big") % 100 < percent else "b"


def _matches(rule: Any, contact_id: int) -> bool:
    from peyvand.audiences.queries import matching

    return matching(rule).filter(pk=contact_id).exists()


def _channel_of(node: str, step: dict[str, Any], snapshots: dict[str, int] | None):
    """(channel, topic, content_type) of a send step: the version's frozen words, or the
    draft's template as it is now; None when there is no such template."""
    from peyvand.messaging.models import ContentSnapshot, MessageTemplate

    found: ContentSnapshot | MessageTemplate | None
    if snapshots and node in snapshots:
        found = ContentSnapshot.objects.filter(pk=snapshots[node]).first()
    else:
        found = MessageTemplate.objects.filter(name=step.get("template")).first()
    return None if found is None else (found.channel, found.topic, found.content_type)


def _send(contact_id: int, node: str, step: dict[str, Any], at: dt.datetime,
          snapshots: dict[str, int] | None) -> tuple[str, str, str | None]:
    from peyvand.messaging.gate import DEFER, DENY, check_outbound
    from peyvand.messaging.single import address_of

    found = _channel_of(node, step, snapshots)
    if found is None:
        return "no_template", _("There is no template named “%(name)s”.") % {
            "name": step.get("template")}, step.get("next")
    channel, topic, content_type = found
    if address_of(contact_id, channel) is None:
        return "no_address", _("No %(channel)s address: the journey goes on without "
                               "sending.") % {"channel": channel}, step.get("next")
    decision = check_outbound(contact_id, channel, topic=topic or None,
                              message_class="marketing", content_type=content_type, at=at)
    hour = " " + _("(at the contact's best hour)") if step.get("best_hour") else ""
    if decision.verdict == DENY:
        return "denied", _("The gate refuses it: %(reason)s.") % {
            "reason": decision.text}, step.get("next")
    if decision.verdict == DEFER:
        if step.get("if_capped") == "skip":
            return "skipped_capped", _("The gate would hold it (%(reason)s): skipped, the "
                                       "journey goes on.") % {"reason": decision.text}, \
                step.get("next")
        return "deferred", _("Queued; the gate holds it until %(until)s (%(reason)s).") % {
            "until": timezone.localtime(decision.until).strftime("%Y-%m-%d %H:%M"),
            "reason": decision.text} + hour, step.get("next")
    return "queued", _("Would be sent by %(channel)s.") % {"channel": channel} + hour, \
        step.get("next")


def exit_reason(contact_id: int, definition: dict[str, Any], step: dict[str, Any],
                alive: bool) -> str | None:
    """Why the runner would end the journey before this step, in words (None: it goes on).
    Consent for a send step is the gate's answer there."""
    if not alive:
        return _("The contact is erased: the journey ends.")
    if definition.get("goal") is not None and _matches(definition["goal"], contact_id):
        return _("The contact meets the goal: the journey ends (goal reached).")
    trigger = definition.get("trigger") or {}
    if trigger.get("type") == "segment_entered":
        from peyvand.audiences.models import SegmentMember

        if not SegmentMember.objects.filter(segment_id=trigger.get("segment") or 0,
                                            contact_id=contact_id).exists():
            return _("The contact is not in the trigger's segment: the journey ends.")
    return None


def dry_run(contact_id: int, definition: dict[str, Any], *, assume_events: bool = False,
            snapshots: dict[str, int] | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """The steps this contact would take: [{node, type, at, outcome, reason, next}], the
    simulated time at each step, and how it ends."""
    from peyvand.contacts.models import Contact
    from peyvand.journeys.steps import next_local_time

    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return {"rows": [], "end": _("There is no such contact."), "at": now}
    alive = contact.erased_at is None
    at = start = now or timezone.now()
    steps = definition.get("steps") or {}
    node: str | None = definition.get("start")
    rows: list[dict[str, Any]] = []
    visits: dict[str, int] = {}
    end = _("The journey ends: no step comes next (completed).")
    while node is not None:
        if node not in steps:
            end = _("Step “%(node)s” does not exist.") % {"node": node}
            break
        if len(rows) >= MAX_STEPS:
            end = _("Stopped after %(n)s steps (the journey loops).") % {"n": MAX_STEPS}
            break
        step = steps[node]
        kind = step.get("type", "")
        visits[node] = visits.get(node, 0) + 1
        row: dict[str, Any] = {"node": node, "type": kind, "at": at, "elapsed": at - start}
        stop = exit_reason(contact_id, definition, step, alive)
        if stop is not None:
            rows.append({**row, "outcome": "ended", "reason": stop, "next": None})
            end = stop
            break
        outcome, reason, onward = _evaluate(contact, node, step, at, visits[node],
                                            assume_events, snapshots)
        if kind == "wait":
            at += dt.timedelta(minutes=wait_minutes(step))
        elif kind == "wait_until":
            at = next_local_time(at, contact.timezone or "", step["time"], step.get("weekday"))
        elif kind == "wait_event" and not assume_events:
            at += dt.timedelta(minutes=minutes_of(step["timeout"], "timeout"))
        rows.append({**row, "outcome": outcome, "reason": reason, "next": onward})
        if kind == "exit":
            end = _("The journey ends here (exit).")
        node = onward
    return {"rows": rows, "end": end, "at": at, "elapsed": at - start}


def _evaluate(contact, node: str, step: dict[str, Any], at: dt.datetime, visit: int,
              assume_events: bool, snapshots) -> tuple[str, str, str | None]:
    """(outcome, the reason in words, the next step) of one step, read-only."""
    kind = step.get("type", "")
    if kind == "send":
        return _send(contact.pk, node, step, at, snapshots)
    if kind == "wait":
        return "waited", _("Waits %(time)s: the clock moves on.") % {
            "time": _span(wait_minutes(step))}, step.get("next")
    if kind == "wait_until":
        return "waited", _("Waits until %(time)s in the contact's time zone.") % {
            "time": step["time"]}, step.get("next")
    if kind == "wait_event":
        span = _span(minutes_of(step["timeout"], "timeout"))
        both = _("If the event (%(event)s) comes → %(yes)s; else after %(time)s → "
                 "%(no)s.") % {"event": step.get("event"), "yes": step.get("next") or "—",
                               "time": span, "no": step.get("timeout_next") or "—"}
        if assume_events:
            return "event", both + " " + _("Assumed: the event happened."), step.get("next")
        return "timeout", both + " " + _("Followed: no event."), step.get("timeout_next")
    if kind == "branch":
        yes = _matches(step.get("rule"), contact.pk)
        return ("yes", _("The contact matches the rule."), step.get("yes")) if yes else \
            ("no", _("The contact does not match the rule."), step.get("no"))
    if kind == "split":
        arm = dry_arm(contact.pk, node, visit, step.get("percent", 0))
        return arm, _("%(percent)s%% take a; this test draws %(arm)s (a real enrolment "
                      "draws from its own number).") % {"percent": step.get("percent"),
                                                        "arm": arm}, step.get(arm)
    if kind == "tag":
        remove = "remove" in step
        name = step.get("remove" if remove else "add")
        has = contact.tags.filter(name=name).exists()
        if remove:
            words = _("Would remove the tag “%(tag)s”.") if has else \
                _("Does not have the tag “%(tag)s”: nothing to remove.")
        else:
            words = _("Already has the tag “%(tag)s”.") if has else \
                _("Would add the tag “%(tag)s”.")
        return ("removed" if remove else "added"), words % {"tag": name}, step.get("next")
    if kind == "update_field":
        return "updated", _("Would set the field “%(field)s” to “%(value)s”.") % {
            "field": step.get("field"), "value": step.get("value")}, step.get("next")
    if kind == "webhook":
        return "not_called", _("Would call %(url)s (not called in a test).") % {
            "url": step.get("url")}, step.get("next")
    if kind == "exit":
        return "exit", _("The journey ends here."), None
    onward = next((step.get(k) for k in EXITS.get(kind, ("next",)) if step.get(k)), None)
    return "not_simulated", _("A step of type “%(type)s” is not simulated; the test goes on "
                              "by its first way out.") % {"type": kind}, onward
