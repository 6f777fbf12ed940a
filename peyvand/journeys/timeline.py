"""The timeline entries journeys write: "journey.entered" and "journey.left" (done or
exited, with the reason), registered from apps.py. The runner writes a round's "left"
entries together, one statement for the round (contacts.timeline.append_events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.contacts.timeline import append_event, append_events, register_kind
from peyvand.journeys.models import Enrolment

ENDED = (Enrolment.State.DONE, Enrolment.State.EXITED)


def register(owner: str) -> None:
    register_kind("journey.entered", gettext_lazy("Entered a journey"), owner=owner,
                  summary=entry_summary)
    register_kind("journey.left", gettext_lazy("Left a journey"), owner=owner,
                  summary=entry_summary)


def reason_words(reason: str) -> str:
    """Why an enrolment ended, in words (consent reasons are "consent:<why>")."""
    if reason.startswith("consent:"):
        return _("consent withdrawn")
    return str({
        "completed": _("finished"), "exit": _("reached an exit step"),
        "goal": _("reached the goal"), "ordered": _("ordered"),
        "erased": _("erased"), "left_segment": _("left the segment"),
        "merged": _("merged into another contact"), "error": _("a step failed"),
    }.get(reason, reason))


def entry_summary(event: Any) -> str:
    data = event.data or {}
    name = str(data.get("name", ""))
    if event.kind == "journey.left" and data.get("reason"):
        return f"{name} · {reason_words(str(data['reason']))}"
    return name


def entered(item: Enrolment, name: str) -> None:
    append_event(item.contact_id, "journey.entered", {
        "journey": item.journey_id, "name": name, "rotation": item.rotation,
        "source": item.data.get("source", "")}, at=item.entered_at)


def left(items: Iterable[Enrolment], names: dict[int, str], at: dt.datetime) -> None:
    """One "journey.left" per ended enrolment, in one statement; names: {journey id: name}."""
    append_events((item.contact_id, "journey.left", at, {
        "journey": item.journey_id, "name": names.get(item.journey_id, ""),
        "rotation": item.rotation, "state": item.state, "reason": item.exit_reason,
        "node": item.node}) for item in items)
