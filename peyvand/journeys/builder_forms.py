"""The builder's forms as data: for each draft step (and the trigger) the fields to show,
their values from the definition and the fault next to the field it names. The template
draws every form with one loop, so a step type added later gets its JSON field."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from peyvand.journeys.builder import TRIGGER_FIELDS, exits_of, fault_place
from peyvand.journeys.definition import EVENTS, EXITS, TRIGGERS, UNITS


def _field(name: str, label: str, kind: str = "text", value: Any = "",
           choices: list[tuple[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": label, "kind": kind,
            "value": "" if value is None else str(value), "choices": choices or [], **extra}


def _units() -> list[tuple[str, str]]:
    return [("minutes", _("minutes")), ("hours", _("hours")), ("days", _("days"))]


def _duration_fields(spec: Any, prefix: str, label: str) -> list[dict[str, Any]]:
    spec = spec if isinstance(spec, dict) else {}
    unit = next((u for u in UNITS if u in spec), "days")
    return [_field(f"{prefix}amount", label, "number", spec.get(unit, 1)),
            _field(f"{prefix}unit", _("Unit"), "select", unit, _units())]


def _weekdays() -> list[tuple[str, str]]:
    from peyvand.journeys.views import WEEKDAYS

    return [("", _("Every day"))] + [(str(i), str(day)) for i, day in enumerate(WEEKDAYS, 1)]


def _type_fields(kind: str, step: dict[str, Any], choices: dict[str, Any]) \
        -> list[dict[str, Any]]:
    if kind == "send":
        names = [(n, n) for n in choices["templates"]]
        if step.get("template") and step["template"] not in choices["templates"]:
            names.insert(0, (step["template"], step["template"]))
        return [_field("template", _("Marketing template"), "select", step.get("template"),
                       names),
                _field("if_capped", _("When caps or quiet hours hold it"), "select",
                       step.get("if_capped", "defer"),
                       [("defer", _("Send it later")), ("skip", _("Skip it and go on"))]),
                _field("best_hour", _("At the contact's best hour"), "checkbox",
                       "1" if step.get("best_hour") else ""),
                _field("max_delay_hours", _("At most this many hours later (1–168)"),
                       "number", step.get("max_delay_hours", ""))]
    if kind == "wait":
        return _duration_fields(step, "", _("Wait"))
    if kind == "wait_until":
        return [_field("time", _("Local time"), "time", step.get("time")),
                _field("weekday", _("Weekday"), "select", step.get("weekday", ""),
                       _weekdays())]
    if kind == "wait_event":
        labels = {"opened": _("an open"), "clicked": _("a click"), "ordered": _("an order")}
        return [_field("event", _("Event"), "select", step.get("event"),
                       [(e, str(labels.get(e, e))) for e in EVENTS]),
                *_duration_fields(step.get("timeout"), "timeout_", _("At most"))]
    if kind == "branch":
        return [_field("rule", _("Rule (JSON, as a segment's)"), "json",
                       json.dumps(step.get("rule"), ensure_ascii=False, indent=1))]
    if kind == "split":
        return [_field("percent", _("Percent taking a"), "number", step.get("percent", 10),
                       min=0, max=100)]
    if kind == "tag":
        return [_field("action", _("Action"), "select",
                       "remove" if "remove" in step else "add",
                       [("add", _("Add the tag")), ("remove", _("Remove the tag"))]),
                _field("tag", _("Tag"), "text", step.get("remove", step.get("add")))]
    if kind == "update_field":
        keys = [(k, k) for k in choices["fields"]]
        return [_field("field", _("Custom field"), "select", step.get("field"), keys),
                _field("value", _("Value (empty clears it)"), "text", step.get("value"))]
    if kind == "webhook":
        return [_field("url", _("Address (https)"), "url", step.get("url"))]
    if kind == "exit":
        return []
    body = {k: v for k, v in step.items() if k != "type" and k not in exits_of(kind)}
    return [_field("json", _("Step (JSON)"), "json",
                   json.dumps(body, ensure_ascii=False, indent=1))]


def _exit_label(key: str) -> str:
    return {"next": _("then"), "timeout_next": _("if no event"), "yes": _("yes"),
            "no": _("no"), "a": "a", "b": "b"}.get(key, key)


def _place(errors: dict[str, str]) -> dict[tuple[str, str], str]:
    return {fault_place(path): reason for path, reason in errors.items()}


def step_forms(definition: dict[str, Any], order: list[str], choices: dict[str, Any],
               errors: dict[str, str]) -> list[dict[str, Any]]:
    """Each draft step in reading order: its fields with values and faults, its exits as
    selects of the other steps, the faults naming no field, and whether it opens."""
    steps = definition.get("steps") or {}
    placed = _place(errors)
    out = []
    for node in order:
        step = steps[node]
        kind = step.get("type", "")
        fields = _type_fields(kind, step, choices)
        targets = [("", _("(the journey ends)"))] + [(n, n) for n in order if n != node]
        fields += [_field(f"exit_{key}", _exit_label(key), "select", step.get(key, ""),
                          targets) for key in exits_of(kind)]
        names = {f["name"] for f in fields}
        for f in fields:
            f["error"] = placed.get((node, f["name"]), "")
        loose = [reason for (where, name), reason in placed.items()
                 if where == node and name not in names]
        keys = exits_of(kind)
        out.append({"node": node, "type": kind, "step": step, "fields": fields,
                    "errors": loose, "open": any(where == node for where, _n in placed),
                    "exit_keys": [(k, _exit_label(k)) for k in keys]})
    return out


def trigger_form(definition: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The trigger's type and the fields of each type (the page shows the chosen type's)."""
    trigger = definition.get("trigger") or {"type": "manual"}
    placed = _place(errors)
    labels = {"segment": _("Segment number"), "days": _("Days without contact"),
              "field": _("Date field (birthday, signup_anniversary, fields.<key>)"),
              "offset_days": _("Days after the date (negative: before)"),
              "tag": _("Tag"), "sku": _("Product SKU"), "status": _("Status (due, overdue)"),
              "threshold": _("P(alive) below")}
    fields: dict[str, dict[str, Any]] = {}
    for kind, keys in TRIGGER_FIELDS.items():
        for key, of in keys:
            name = f"trigger_{key}"
            if name not in fields:
                fields[name] = _field(name, labels.get(key, key),
                                      "number" if of != "text" else "text", "", kinds=[],
                                      error=placed.get(("trigger", name), ""),
                                      step="any" if of == "float" else "1")
            fields[name]["kinds"].append(kind)
            if trigger.get("type") == kind and key in trigger:
                fields[name]["value"] = str(trigger[key])
    for f in fields.values():
        f["kinds"] = " ".join(f["kinds"])
        f["shown"] = trigger.get("type") in f["kinds"].split()
    return {"type": trigger.get("type"), "types": TRIGGERS, "fields": list(fields.values()),
            "error": placed.get(("trigger", "trigger_type"), ""),
            "open": any(where == "trigger" for where, _n in placed)}


def step_types() -> list[str]:
    return list(EXITS)
