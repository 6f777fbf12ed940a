"""The journey page's builder: a step's or the trigger's form fields → the draft patched.

Pure: each function takes the draft definition and the posted fields and returns the new
definition (a copy); the view saves it through actions.do_save_journey, whose check names the
fault by path (`steps.s3.timeout.days`), and `fault_place` finds the step and form field to
show it next to. A step type this module does not know (added later) is edited as its JSON.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.utils.translation import gettext as _

from peyvand.base.errors import Invalid
from peyvand.journeys.definition import EXITS, UNITS

# Starting values of a new step: enough for the check to accept most of them at once.
NEW_STEP: dict[str, dict[str, Any]] = {
    "wait": {"days": 1}, "wait_until": {"time": "09:00"},
    "wait_event": {"event": "opened", "timeout": {"days": 3}},
    "branch": {"rule": {"field": "contact.tags", "op": "has", "value": "vip"}},
    "split": {"percent": 10}, "tag": {"add": "journey"},
    "webhook": {"url": "https://example.com/hook"}, "send": {"if_capped": "defer"},
}
# Step fields whose form name differs from the definition's key (fault_place reads it back).
FIELD_OF_KEY = {**{unit: "amount" for unit in UNITS}, "add": "tag", "remove": "tag",
                "weekday": "weekday", "timeout": "timeout_amount"}


class BuilderInvalid(Invalid):
    pass


def _text(form: Any, key: str) -> str:
    return str(form.get(key) or "").strip()


def _whole(form: Any, key: str, path: str) -> int:
    raw = _text(form, key)
    try:
        return int(raw)
    except ValueError:
        raise BuilderInvalid({path: _("Give a whole number.")}) from None


def _duration(form: Any, prefix: str, path: str) -> dict[str, int]:
    unit = _text(form, f"{prefix}unit")
    if unit not in UNITS:
        raise BuilderInvalid({path: _("Give exactly one of minutes, hours or days.")})
    return {unit: _whole(form, f"{prefix}amount", f"{path}.{unit}")}


def _json(form: Any, key: str, path: str) -> Any:
    try:
        return json.loads(_text(form, key) or "null")
    except json.JSONDecodeError as exc:
        raise BuilderInvalid({path: _("This is not JSON (line %(line)s, column %(column)s).")
                              % {"line": exc.lineno, "column": exc.colno}}) from None


def step_fields(kind: str, form: Any, path: str) -> dict[str, Any]:
    """The body of a step of this type from its form (exits apart)."""
    if kind == "send":
        body: dict[str, Any] = {"template": _text(form, "template"),
                                "if_capped": _text(form, "if_capped") or "defer"}
        if form.get("best_hour"):
            body["best_hour"] = True
            if _text(form, "max_delay_hours"):
                body["max_delay_hours"] = _whole(form, "max_delay_hours",
                                                 f"{path}.max_delay_hours")
        return body
    if kind == "wait":
        return _duration(form, "", path)
    if kind == "wait_until":
        body = {"time": _text(form, "time")}
        if _text(form, "weekday"):
            body["weekday"] = _whole(form, "weekday", f"{path}.weekday")
        return body
    if kind == "wait_event":
        return {"event": _text(form, "event"),
                "timeout": _duration(form, "timeout_", f"{path}.timeout")}
    if kind == "branch":
        return {"rule": _json(form, "rule", f"{path}.rule")}
    if kind == "split":
        return {"percent": _whole(form, "percent", f"{path}.percent")}
    if kind == "tag":
        return {"remove" if form.get("action") == "remove" else "add": _text(form, "tag")}
    if kind == "update_field":
        value = _text(form, "value")
        return {"field": _text(form, "field"), "value": value or None}
    if kind == "webhook":
        return {"url": _text(form, "url")}
    if kind == "exit":
        return {}
    body = _json(form, "json", path)  # a type this builder does not know: its JSON
    if not isinstance(body, dict):
        raise BuilderInvalid({path: _("Give the step as a JSON object.")})
    body.pop("type", None)
    return body


def exits_of(kind: str) -> tuple[str, ...]:
    return EXITS.get(kind, ("next",))


def _steps(definition: dict[str, Any], node: str) -> dict[str, Any]:
    steps = definition.get("steps") or {}
    if node not in steps:
        raise BuilderInvalid({"node": _("There is no step “%(node)s” in the draft.")
                              % {"node": node}}, status=404)
    return steps


def reached(definition: dict[str, Any]) -> set[str]:
    steps = definition.get("steps") or {}
    seen: set[str] = set()
    todo = [definition.get("start")]
    while todo:
        node = todo.pop()
        if isinstance(node, str) and node in steps and node not in seen:
            seen.add(node)
            todo += [steps[node].get(k) for k in exits_of(steps[node].get("type", ""))]
    return seen


def prune(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Drop from `after` the steps an edit left unreached (reached before it): a way out
    pointed elsewhere takes what only it led to, as the page then says. The ids dropped."""
    gone = sorted(reached(before) - reached(after))
    for node in gone:
        after["steps"].pop(node, None)
    return gone


def edit_step(definition: dict[str, Any], node: str, form: Any) \
        -> tuple[dict[str, Any], list[str]]:
    """The draft with step `node` replaced by its form: its fields and its exits (an empty
    exit ends the journey there; steps only it led to are dropped, see prune)."""
    out = copy.deepcopy(definition)
    steps = _steps(out, node)
    kind = steps[node]["type"]
    step = {"type": kind, **step_fields(kind, form, f"steps.{node}")}
    for key in exits_of(kind):
        if _text(form, f"exit_{key}"):
            step[key] = _text(form, f"exit_{key}")
    steps[node] = step
    return out, prune(definition, out)


def new_id(steps: dict[str, Any]) -> str:
    n = len(steps) + 1
    while f"s{n}" in steps:
        n += 1
    return f"s{n}"


def new_step(kind: str, form: Any) -> dict[str, Any]:
    if kind not in EXITS:
        raise BuilderInvalid({"type": _("A step's type is one of: %(kinds)s.")
                              % {"kinds": ", ".join(EXITS)}})
    step: dict[str, Any] = {"type": kind, **copy.deepcopy(NEW_STEP.get(kind, {}))}
    if kind == "send":
        step["template"] = _text(form, "default_template")
    if kind == "update_field":
        step.update(field=_text(form, "default_field"), value=None)
    return step


def add_after(definition: dict[str, Any], node: str, kind: str, exit_key: str,
              form: Any) -> tuple[dict[str, Any], str]:
    """The draft with a new step of `kind` between `node` and where its `exit_key` led (the
    new step goes on there by its first exit); and the new step's id."""
    out = copy.deepcopy(definition)
    steps = _steps(out, node)
    keys = exits_of(steps[node]["type"])
    if exit_key not in keys:
        exit_key = keys[0] if keys else ""
    if not exit_key:
        raise BuilderInvalid({f"steps.{node}": _("Nothing comes after this step: it ends "
                                                 "the journey.")})
    created = new_id(steps)
    step = new_step(kind, form)
    onward = steps[node].get(exit_key)
    if onward and exits_of(kind):
        step[exits_of(kind)[0]] = onward
    steps[created] = step
    steps[node][exit_key] = created
    return out, created


def first_step(definition: dict[str, Any], kind: str, form: Any) -> dict[str, Any]:
    """An empty draft's first step (the trigger from the form, manual by default)."""
    out = copy.deepcopy(definition)
    out.setdefault("trigger", {"type": "manual"})
    out["steps"] = {"s1": new_step(kind, form)}
    out["start"] = "s1"
    return out


def pointing_at(definition: dict[str, Any], node: str) -> list[str]:
    """The steps whose exits name `node`."""
    return sorted(other for other, step in (definition.get("steps") or {}).items()
                  if other != node and node in (step.get(k) for k in exits_of(step.get(
                      "type", ""))))


def delete_step(definition: dict[str, Any], node: str) -> dict[str, Any]:
    """The draft without `node`: refused while other steps lead to it (naming them), or when
    it is the first step and others remain."""
    out = copy.deepcopy(definition)
    steps = _steps(out, node)
    pointing = pointing_at(out, node)
    if pointing:
        raise BuilderInvalid({f"steps.{node}": _("Steps %(steps)s lead here: point them "
                                                 "elsewhere first.")
                              % {"steps": ", ".join(pointing)}})
    if out.get("start") == node and len(steps) > 1:
        raise BuilderInvalid({f"steps.{node}": _("This is the first step: make another the "
                                                 "first before deleting it.")})
    del steps[node]
    if not steps:
        return {}
    return out


TRIGGER_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    # type → (field, kind): "int", "float" or "text"; kept in the definition when given.
    "segment_entered": (("segment", "int"),), "segment_left": (("segment", "int"),),
    "forgotten": (("days", "int"),), "date": (("field", "text"), ("offset_days", "int")),
    "tag_added": (("tag", "text"),), "order_product": (("sku", "text"),),
    "overdue": (("status", "text"),), "p_alive_below": (("threshold", "float"),),
}


def edit_trigger(definition: dict[str, Any], form: Any) -> dict[str, Any]:
    """The draft with the trigger of the form: its type and that type's fields."""
    out = copy.deepcopy(definition)
    kind = _text(form, "trigger_type")
    trigger: dict[str, Any] = {"type": kind}
    for key, of in TRIGGER_FIELDS.get(kind, ()):
        raw = _text(form, f"trigger_{key}")
        if not raw:
            continue
        if of == "text":
            trigger[key] = raw
            continue
        try:
            trigger[key] = int(raw) if of == "int" else float(raw)
        except ValueError:
            raise BuilderInvalid({f"trigger.{key}": _("Give a number.")}) from None
    out["trigger"] = trigger
    return out


def fault_place(path: str) -> tuple[str, str]:
    """(step id or "trigger" or "", form field) where a fault of this path shows:
    `steps.s3.timeout.days` → ("s3", "timeout_amount"), `trigger.days` → ("trigger",
    "trigger_days"), anything else → ("", "")."""
    parts = path.split(".")
    if parts[0] == "trigger":
        return "trigger", f"trigger_{parts[1]}" if len(parts) > 1 else "trigger_type"
    if parts[0] != "steps" or len(parts) < 2:
        return "", ""
    key = parts[2].split("[")[0] if len(parts) > 2 else ""
    if key in exits_of("wait_event") + exits_of("branch") + exits_of("split"):
        return parts[1], f"exit_{key}"
    return parts[1], FIELD_OF_KEY.get(key, key)
