"""The journey definition grammar (docs/subsystems/journeys.md), checked before it is saved.

The first fault is refused with its path (`steps.s3.next`), as audiences' rules are, so the
API, the CLI and the builder can point at it. Beyond the shape: every `next` and arm names a
step, every step is reachable from `start`, and a loop passes through a wait step (otherwise
one claim would run it for ever).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from peyvand.base.errors import Invalid

TRIGGERS = ("manual", "segment_entered", "segment_left", "order", "first_order", "api",
            "forgotten", "date", "tag_added", "order_product", "overdue", "p_alive_below",
            "signup_confirmed", "cart_abandoned")
DUE_STATUSES = ("due", "overdue")
DATE_FIELDS = ("birthday", "signup_anniversary")  # or fields.<key>, a custom date field
MAX_OFFSET_DAYS = 365
EVENTS = ("opened", "clicked", "ordered", "replied")
UNITS = {"minutes": 1, "hours": 60, "days": 1440}
MAX_STEPS = 200
MAX_WAIT_DAYS = 3650
MAX_DELAY_HOURS = 168  # a best-hour send waits at most a week
MAX_TASK_DUE_HOURS = 720  # a staff task is due within 30 days
_STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # fits the outbox source
# Where each step type goes next: the keys naming another step.
EXITS: dict[str, tuple[str, ...]] = {
    "send": ("next",), "wait": ("next",), "wait_event": ("next", "timeout_next"),
    "branch": ("yes", "no"), "split": ("a", "b"), "tag": ("next",), "exit": (),
    "wait_until": ("next",), "update_field": ("next",), "webhook": ("next",),
    "task": ("next",),
}
WAITS = ("wait", "wait_event", "wait_until")
# A branch's arms by what it reads ("on"): a rule; the last message's response; the outcome
# of the last wait_event. "else" takes what has no arm of its own.
BRANCH_ARMS: dict[str, tuple[str, ...]] = {
    "rule": ("yes", "no"), "response": ("clicked", "opened", "none", "else"),
    "event": ("event", "timeout", "else")}
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class DefinitionInvalid(Invalid):
    """A definition refused: the one error names the path of the fault."""


def refuse(path: str, reason: str) -> DefinitionInvalid:
    return DefinitionInvalid({path: reason})


def minutes_of(spec: Any, path: str) -> int:
    """A duration {"minutes"|"hours"|"days": N} (one of them) in minutes."""
    if not isinstance(spec, dict):
        raise refuse(path, _("Give a duration: {\"minutes\" | \"hours\" | \"days\": N}."))
    units = [u for u in UNITS if u in spec]
    if len(units) != 1:
        raise refuse(path, _("Give exactly one of minutes, hours or days."))
    value = spec[units[0]]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise refuse(f"{path}.{units[0]}", _("Give a whole number, 0 or more."))
    total = value * UNITS[units[0]]
    if total > MAX_WAIT_DAYS * 1440:
        raise refuse(f"{path}.{units[0]}", _("A wait is at most ten years."))
    return total


def check_definition(raw: Any, *, templates: bool = True) -> dict[str, Any]:
    """The definition as it is saved, or DefinitionInvalid naming the first fault. With
    `templates`, the send steps' templates must exist and be marketing templates."""
    if not isinstance(raw, dict):
        raise refuse("definition", _("A definition is an object with trigger, start and "
                                     "steps."))
    unknown = set(raw) - {"trigger", "start", "steps", "goal"}
    if unknown:
        raise refuse(sorted(unknown)[0], _("This key is not part of a definition."))
    _check_trigger(raw.get("trigger"))
    steps = raw.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise refuse("steps", _("Give the steps: an object of step id → step."))
    if len(steps) > MAX_STEPS:
        raise refuse("steps", _("A journey has at most 200 steps."))
    start = raw.get("start")
    if not isinstance(start, str) or start not in steps:
        raise refuse("start", _("Name the first step: one of the steps' ids."))
    for node, step in steps.items():
        if not _STEP_ID.fullmatch(str(node)):
            raise refuse(f"steps.{node}", _("A step id is 1 to 32 letters, digits, _ or -."))
        _check_step(step, f"steps.{node}", steps, templates)
    _check_graph(start, steps)
    if raw.get("goal") is not None:
        _check_rule(raw["goal"], "goal")
    return raw


def _check_trigger(trigger: Any) -> None:
    if not isinstance(trigger, dict) or trigger.get("type") not in TRIGGERS:
        raise refuse("trigger.type", _("The trigger is one of: %(kinds)s.")
                     % {"kinds": ", ".join(TRIGGERS)})
    if trigger["type"] in ("segment_entered", "segment_left"):
        from peyvand.audiences.models import Segment

        segment = trigger.get("segment")
        if not isinstance(segment, int) or not Segment.objects.filter(pk=segment).exists():
            raise refuse("trigger.segment", _("Name an existing segment by its number."))
    if trigger["type"] == "forgotten":
        days = trigger.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_WAIT_DAYS:
            raise refuse("trigger.days", _("Give the days without contact: a whole number from "
                                           "1 to 3650."))
    if trigger["type"] == "date":
        _check_date_trigger(trigger)
    if trigger["type"] == "overdue" and trigger.get("status", "overdue") not in DUE_STATUSES:
        raise refuse("trigger.status", _("The status is due or overdue."))
    if trigger["type"] == "p_alive_below":
        threshold = trigger.get("threshold")
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) \
                or not 0 < threshold <= 1:
            raise refuse("trigger.threshold", _("Give a probability above 0 and at most 1, "
                                                "such as 0.3."))
    if trigger["type"] == "order_product":
        sku = trigger.get("sku")
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 100 or sku != sku.strip():
            raise refuse("trigger.sku", _("Give the product's SKU (at most 100 characters)."))
    if trigger["type"] == "signup_confirmed":
        _check_signup_trigger(trigger)
    if trigger["type"] == "tag_added":
        tag = trigger.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 64:
            raise refuse("trigger.tag", _("Name the tag (at most 64 characters)."))


def _check_signup_trigger(trigger: dict[str, Any]) -> None:
    """signup_confirmed: an optional consent topic (its key) and channel."""
    from peyvand.consent.models import Channel, Topic

    unknown = set(trigger) - {"type", "topic", "channel"}
    if unknown:
        raise refuse(f"trigger.{sorted(unknown)[0]}", _("This key is not part of this "
                                                         "trigger."))
    topic = trigger.get("topic")
    if topic is not None and (not isinstance(topic, str)
                              or not Topic.objects.filter(key=topic).exists()):
        raise refuse("trigger.topic", _("Name an existing topic by its key."))
    if trigger.get("channel") is not None and trigger["channel"] not in Channel.values:
        raise refuse("trigger.channel", _("The channel is one of: %(kinds)s.")
                     % {"kinds": ", ".join(Channel.values)})


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_date_trigger(trigger: dict[str, Any]) -> None:
    unknown = set(trigger) - {"type", "field", "offset_days"}
    if unknown:
        raise refuse(f"trigger.{sorted(unknown)[0]}", _("This key is not part of a date "
                                                         "trigger."))
    field = trigger.get("field")
    if not isinstance(field, str) or (field not in DATE_FIELDS
                                      and not field.startswith("fields.")):
        raise refuse("trigger.field", _("The date is birthday, signup_anniversary or "
                                        "fields.<key> (a custom date field)."))
    if field.startswith("fields."):
        from peyvand.contacts.models import CustomField

        if not CustomField.objects.filter(key=field.removeprefix("fields."),
                                          type=CustomField.Type.DATE).exists():
            raise refuse("trigger.field", _("There is no custom date field with this key."))
    if not _whole(trigger.get("offset_days", 0), -MAX_OFFSET_DAYS, MAX_OFFSET_DAYS):
        raise refuse("trigger.offset_days", _("Give the days before (negative) or after the "
                                              "date: a whole number from -365 to 365."))


def _check_rule(rule: Any, path: str) -> None:
    from peyvand.audiences.rules import check_rules

    try:
        check_rules(rule)
    except Invalid as exc:
        where, reason = next(iter(exc.errors.items()))
        # audiences names the fault from "rules" (rules.all[1].op): from the step here.
        raise refuse(path + where.removeprefix("rules"), reason)


def _check_step(step: Any, path: str, steps: dict[str, Any], templates: bool) -> None:
    kind = step.get("type") if isinstance(step, dict) else None
    if kind not in EXITS:
        raise refuse(f"{path}.type", _("A step's type is one of: %(kinds)s.")
                     % {"kinds": ", ".join(EXITS)})
    for key in exits_of(step):
        target = step.get(key)
        if target is not None and (not isinstance(target, str) or target not in steps):
            raise refuse(f"{path}.{key}", _("This names no step of the journey."))
    if kind == "send":
        _check_send(step, path, templates)
    elif kind == "wait":
        minutes_of({u: step[u] for u in UNITS if u in step}, path)
    elif kind == "wait_event":
        if step.get("event") not in EVENTS:
            raise refuse(f"{path}.event", _("The event is one of: %(kinds)s.")
                         % {"kinds": ", ".join(EVENTS)})
        minutes_of(step.get("timeout"), f"{path}.timeout")
    elif kind == "wait_until":
        _check_wait_until(step, path)
    elif kind == "update_field":
        _check_update_field(step, path)
    elif kind == "webhook":
        from peyvand.journeys.webhook import allowed_url

        unknown = set(step) - {"type", "url", "next"}
        if unknown:
            raise refuse(f"{path}.{sorted(unknown)[0]}", _("This key is not part of this "
                                                            "step."))
        if not isinstance(step.get("url"), str) or not allowed_url(step["url"]):
            raise refuse(f"{path}.url", _("Give an https:// address to call."))
    elif kind == "task":
        _check_task(step, path, templates)
    elif kind == "branch":
        _check_branch(step, path)
    elif kind == "split":
        percent = step.get("percent")
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise refuse(f"{path}.percent", _("Give a percentage from 0 to 100."))
    elif kind == "tag":
        names = [k for k in ("add", "remove") if k in step]
        if len(names) != 1 or not isinstance(step[names[0]], str) \
                or not step[names[0]].strip():
            raise refuse(f"{path}.add", _("Give a tag to add or one to remove."))


def _check_branch(step: dict[str, Any], path: str) -> None:
    on = step.get("on", "rule")
    if on not in BRANCH_ARMS:
        raise refuse(f"{path}.on", _("A branch is on a rule, response or event."))
    if on == "rule":
        _check_rule(step.get("rule"), f"{path}.rule")
        return
    unknown = set(step) - {"type", "on", *BRANCH_ARMS[on]}
    if unknown:
        raise refuse(f"{path}.{sorted(unknown)[0]}", _("This key is not part of this step."))


def _check_wait_until(step: dict[str, Any], path: str) -> None:
    unknown = set(step) - {"type", "time", "weekday", "next"}
    if unknown:
        raise refuse(f"{path}.{sorted(unknown)[0]}", _("This key is not part of this step."))
    if not isinstance(step.get("time"), str) or not _TIME.fullmatch(step["time"]):
        raise refuse(f"{path}.time", _("Give the local time as HH:MM, from 00:00 to 23:59."))
    if "weekday" in step and not _whole(step["weekday"], 1, 7):
        raise refuse(f"{path}.weekday", _("Give the weekday as 1 (Monday) to 7 (Sunday)."))


def _check_update_field(step: dict[str, Any], path: str) -> None:
    """A custom field that exists, and a value its type accepts (null clears it)."""
    from peyvand.contacts.fields import fields_by_key, parse_field_value

    unknown = set(step) - {"type", "field", "value", "next"}
    if unknown:
        raise refuse(f"{path}.{sorted(unknown)[0]}", _("This key is not part of this step."))
    key = step.get("field")
    field = fields_by_key().get(key) if isinstance(key, str) else None
    if field is None:
        raise refuse(f"{path}.field", _("Name an existing custom field by its key."))
    if "value" not in step:
        raise refuse(f"{path}.value", _("Give the value to set (null clears the field)."))
    try:
        parse_field_value(field, step["value"])
    except Invalid as exc:
        raise refuse(f"{path}.value", next(iter(exc.errors.values())))


def _check_task(step: dict[str, Any], path: str, saving: bool) -> None:
    """A staff task (support): a title, its kind, when it is due, and optionally whom for; the
    user is looked up when the definition is saved (`saving`)."""
    from peyvand.support.models import TITLE_MAX, StaffTask

    unknown = set(step) - {"type", "title", "kind", "due_hours", "assign_to", "next"}
    if unknown:
        raise refuse(f"{path}.{sorted(unknown)[0]}", _("This key is not part of this step."))
    title = step.get("title")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > TITLE_MAX:
        raise refuse(f"{path}.title", _("Give the task a title of at most 200 characters."))
    if step.get("kind", "call") not in StaffTask.Kind.values:
        raise refuse(f"{path}.kind", _("The kind is one of: %(kinds)s.")
                     % {"kinds": ", ".join(StaffTask.Kind.values)})
    if "due_hours" in step and not _whole(step["due_hours"], 1, MAX_TASK_DUE_HOURS):
        raise refuse(f"{path}.due_hours", _("Give a whole number of hours from 1 to 720."))
    user = step.get("assign_to")
    if user is not None:
        if not isinstance(user, str) or not user.strip():
            raise refuse(f"{path}.assign_to", _("Name the user by their username."))
        if saving:
            from django.contrib.auth import get_user_model

            if not get_user_model().objects.filter(username=user, is_active=True).exists():
                raise refuse(f"{path}.assign_to", _("There is no active user named "
                                                    "“%(name)s”.") % {"name": user})


def _check_send(step: dict[str, Any], path: str, templates: bool) -> None:
    name = step.get("template")
    if not isinstance(name, str) or not name.strip():
        raise refuse(f"{path}.template", _("Name the marketing template to send."))
    if step.get("if_capped", "defer") not in ("defer", "skip"):
        raise refuse(f"{path}.if_capped", _("A capped message is either deferred or "
                                            "skipped."))
    if not isinstance(step.get("best_hour", False), bool):
        raise refuse(f"{path}.best_hour", _("best_hour is true or false."))
    if "max_delay_hours" in step:
        delay = step["max_delay_hours"]
        if not step.get("best_hour"):
            raise refuse(f"{path}.max_delay_hours", _("A maximum delay needs best_hour."))
        if not isinstance(delay, int) or isinstance(delay, bool) \
                or not 1 <= delay <= MAX_DELAY_HOURS:
            raise refuse(f"{path}.max_delay_hours", _("Give a whole number of hours from 1 "
                                                      "to 168."))
    if templates:
        from peyvand.messaging.models import MessageClass, MessageTemplate

        found = MessageTemplate.objects.filter(name=name).first()
        if found is None:
            raise refuse(f"{path}.template", _("There is no template named “%(name)s”.")
                         % {"name": name})
        if found.message_class != MessageClass.MARKETING:
            raise refuse(f"{path}.template", _("A journey sends marketing templates only."))


def exits_of(step: dict[str, Any]) -> tuple[str, ...]:
    """The keys of this step that name the steps it may go to."""
    if step["type"] == "branch":
        return BRANCH_ARMS.get(step.get("on", "rule"), EXITS["branch"])
    return EXITS[step["type"]]


def targets(step: dict[str, Any]) -> list[str]:
    return [step[k] for k in exits_of(step) if step.get(k)]


def _check_graph(start: str, steps: dict[str, Any]) -> None:
    seen, todo = {start}, [start]
    while todo:
        for target in targets(steps[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for node in steps:
        if node not in seen:
            raise refuse(f"steps.{node}", _("No path from the start reaches this step."))
    # Without its wait steps the graph must have no cycle: every loop passes through a wait.
    colour: dict[str, int] = {}
    for root in steps:
        if steps[root]["type"] in WAITS or colour.get(root):
            continue
        stack = [(root, iter(targets(steps[root])))]
        colour[root] = 1
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
            elif steps[nxt]["type"] in WAITS or colour.get(nxt) == 2:
                continue
            elif colour.get(nxt) == 1:
                raise refuse(f"steps.{node}", _("This step loops back without a wait in "
                                                "the loop."))
            else:
                colour[nxt] = 1
                stack.append((nxt, iter(targets(steps[nxt]))))


def wait_minutes(step: dict[str, Any]) -> int:
    return minutes_of({u: step[u] for u in UNITS if u in step}, "wait")


def send_steps(definition: dict[str, Any]) -> dict[str, str]:
    """{node: template name} of the send steps."""
    return {node: step["template"] for node, step in definition.get("steps", {}).items()
            if step.get("type") == "send"}
