"""How a task reads on the contact's timeline: "Call: reached — will order next week"."""

from __future__ import annotations

from django.utils.translation import gettext as _

from peyvand.support.models import StaffTask


def label_of(choices: type[StaffTask.Kind] | type[StaffTask.Outcome], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def task_summary(event) -> str:
    data = event.data or {}
    if not data:  # erased
        return ""
    kind = label_of(StaffTask.Kind, data.get("kind", ""))
    if event.kind == "task.closed":
        if data.get("state") == StaffTask.State.CANCELLED:
            return _("%(kind)s: cancelled") % {"kind": kind}
        line = f"{kind}: {label_of(StaffTask.Outcome, data.get('outcome', ''))}"
        return f"{line} — {data['note']}" if data.get("note") else line
    return f"{kind}: {data.get('title', '')}"
