"""Reading journeys: lists, one journey with its versions, the per-step report, and the
journeys one contact is or was on."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import BooleanField, Case, Count, Max, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.shortcuts import get_object_or_404

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.journeys.models import Enrolment, Journey, StepRun

E = Enrolment.State


def journeys(actor: Actor) -> QuerySet[Journey]:
    require(actor, "journeys.view")
    return Journey.objects.all()


def journey_of(actor: Actor, pk: int) -> Journey:
    require(actor, "journeys.view")
    return get_object_or_404(Journey, pk=pk)


def journey_data(journey: Journey) -> dict[str, Any]:
    latest = journey.versions.order_by("-number").first()
    return {
        "id": journey.pk, "name": journey.name, "status": journey.status,
        "re_entry": journey.re_entry, "re_entry_days": journey.re_entry_days,
        "max_active": journey.max_active, "definition": journey.definition,
        "version": latest.number if latest else None,
        "published_at": latest.published_at if latest else None,
        "created_at": journey.created_at, "created_by": journey.created_by,
        "updated_at": journey.updated_at, "updated_by": journey.updated_by,
    }


def report(actor: Actor, journey: Journey) -> dict[str, Any]:
    """Per step, from the rows: people at it now (waiting: a timer or an event), step runs
    done, people who exited there; and the enrolments by state."""
    require(actor, "journeys.view")
    nodes: dict[str, dict[str, int]] = {}

    def node(name: str) -> dict[str, int]:
        return nodes.setdefault(name, {"waiting": 0, "done": 0, "exited": 0})

    rows = (Enrolment.objects.filter(journey=journey).values("node", "state")
            .annotate(n=Count("id")).order_by())
    states = dict.fromkeys(E.values, 0)
    for row in rows:
        states[row["state"]] += row["n"]
        if row["state"] in (E.ACTIVE, E.WAITING):
            node(row["node"])["waiting"] += row["n"]
        elif row["state"] == E.EXITED:
            node(row["node"])["exited"] += row["n"]
    for name, n in (StepRun.objects.filter(enrolment__journey=journey, finished_at__isnull=False)
                    .values("node").annotate(n=Count("id")).order_by().values_list("node", "n")):
        node(name)["done"] += n
    return {"enrolments": states,
            "steps": [{"node": k, **v} for k, v in sorted(nodes.items())]}


def contact_journeys(actor: Actor, contact_id: int) -> list[dict[str, Any]]:
    require(actor, "journeys.view")
    require(actor, "contacts.view")
    return [{"journey": e.journey_id, "name": e.journey.name, "version": e.version.number,
             "rotation": e.rotation, "state": e.state, "node": e.node,
             "entered_at": e.entered_at, "finished_at": e.finished_at,
             "exit_reason": e.exit_reason}
            for e in Enrolment.objects.filter(contact_id=contact_id)
            .select_related("journey", "version").order_by("-entered_at", "-id")]


def forgotten_people(actor: Actor, days: int) -> QuerySet[Any]:
    """F7's list page: the people forgotten for `days` (forgotten.py)."""
    require(actor, "journeys.view")
    require(actor, "contacts.view")
    from peyvand.journeys.forgotten import forgotten

    return forgotten(days)


def last_sent(contact_ids: list[int]) -> dict[int, Any]:
    """When each of these contacts was last sent a message (absent: never); one query."""
    from peyvand.messaging.models import OutboxMessage

    return dict(OutboxMessage.objects.filter(contact_id__in=contact_ids, sent_at__isnull=False)
                .values("contact_id").annotate(at=Max("sent_at")).order_by()
                .values_list("contact_id", "at"))


def state_counts(journey_ids: list[int]) -> dict[int, dict[str, int]]:
    """Enrolments by state for each of these journeys (report's `enrolments`, for a list
    page): one GROUP BY query, not one report per row."""
    out = {pk: dict.fromkeys(E.values, 0) for pk in journey_ids}
    for pk, state, n in (Enrolment.objects.filter(journey_id__in=journey_ids)
                         .values("journey_id", "state").annotate(n=Count("id")).order_by()
                         .values_list("journey_id", "state", "n")):
        out[pk][state] = n
    return out


def live_versions(journey_ids: list[int]) -> dict[int, int]:
    """{journey id: its latest version's number} (absent: never published); one query."""
    from peyvand.journeys.models import JourneyVersion

    return dict(JourneyVersion.objects.filter(journey_id__in=journey_ids).values("journey_id")
                .annotate(n=Max("number")).order_by().values_list("journey_id", "n"))


def flow_order(definition: dict[str, Any]) -> list[str]:
    """The steps in the order a reader follows them: breadth first from `start`, each step's
    exits in their written order."""
    from peyvand.journeys.definition import targets

    steps = definition.get("steps") or {}
    start = definition.get("start")
    if start not in steps:
        return list(steps)
    order, todo = [start], [start]
    while todo:
        for target in targets(steps[todo.pop(0)]):
            if target in steps and target not in order:
                order.append(target)
                todo.append(target)
    return order + [node for node in steps if node not in order]


def flow(actor: Actor, journey: Journey) -> dict[str, Any]:
    """The latest published version's steps as a flow, each with its report counts and its
    conversions (enrolments that ran the step and then reached the journey's goal)."""
    from peyvand.journeys.actions import latest_version
    from peyvand.journeys.definition import exits_of

    counts = report(actor, journey)
    version = latest_version(journey)
    if version is None:
        return {"version": None, "steps": [], "enrolments": counts["enrolments"]}
    per_node = {row["node"]: row for row in counts["steps"]}
    converted = dict(StepRun.objects.filter(enrolment__journey=journey,
                                            enrolment__exit_reason="goal")
                     .values("node").annotate(n=Count("enrolment", distinct=True)).order_by()
                     .values_list("node", "n"))
    steps = version.definition["steps"]
    rows = []
    for node in flow_order(version.definition):
        step = steps[node]
        rows.append({"node": node, "type": step["type"], "step": step,
                     "exits": [(key, step[key]) for key in exits_of(step)
                               if step.get(key)],
                     "waiting": per_node.get(node, {}).get("waiting", 0),
                     "done": per_node.get(node, {}).get("done", 0),
                     "exited": per_node.get(node, {}).get("exited", 0),
                     "conversions": converted.get(node, 0)})
    return {"version": version, "steps": rows, "enrolments": counts["enrolments"],
            "goal": version.definition.get("goal")}


Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), written out: no scipy import per page


def _holdout_arm(steps: dict[str, Any], split: dict[str, Any]) -> str:
    """The split's arm that sends nothing on its way (the holdout); `a` when both or
    neither do (the documented use: `percent` to a, the holdout)."""
    from peyvand.journeys.definition import EXITS

    def sends(node: str | None) -> bool:
        seen, todo = set(), [node] if node else []
        while todo:
            here = todo.pop()
            if here in seen or here not in steps:
                continue
            seen.add(here)
            if steps[here].get("type") == "send":
                return True
            todo += [steps[here].get(k) for k in EXITS.get(steps[here].get("type"), ())
                     if steps[here].get(k)]
        return False

    a, b = sends(split.get("a")), sends(split.get("b"))
    return "b" if a and not b else "a"


def _arm(people: int, converted: int) -> dict[str, Any]:
    return {"people": people, "converted": converted,
            "rate": converted / people if people else None}


def goal_report(journey: Journey) -> dict[str, Any] | None:
    """Conversion to the goal of the latest version (None without a goal): enrolments whose
    contact reached it (exit reason `goal`, or the goal rule matches them now). With a split
    step (the first in reading order), per arm, the journey's arm against the holdout: the
    difference with its 95% interval (two proportions, normal approximation, unpooled) and
    the ratio."""
    from peyvand.audiences.queries import matching
    from peyvand.journeys.actions import latest_version

    version = latest_version(journey)
    goal = version.definition.get("goal") if version else None
    if version is None or goal is None:
        return None
    steps = version.definition["steps"]
    split = next((n for n in flow_order(version.definition)
                  if steps[n].get("type") == "split"), None)
    # One GROUP BY, whatever the number of enrolments: (arm, converted) → n.
    met = Case(When(Q(exit_reason="goal") | Q(contact__in=matching(goal).values("pk")),
                    then=Value(True)), default=Value(False), output_field=BooleanField())
    rows = Enrolment.objects.filter(journey=journey).annotate(
        arm=KeyTextTransform(split or "", KeyTransform("arms", "data")), met=met)
    groups = {(row["arm"], row["met"]): row["n"] for row in
              rows.values("arm", "met").annotate(n=Count("id")).order_by()}

    def arm_of(arm: str | None) -> dict[str, Any]:
        people = sum(n for (a, _m), n in groups.items() if arm is None or a == arm)
        return _arm(people, sum(n for (a, m), n in groups.items()
                                if m and (arm is None or a == arm)))

    out: dict[str, Any] = {"goal": goal, "split": split, "overall": arm_of(None),
                           "journey": None, "holdout": None}
    if split is None:
        return out
    holdout = _holdout_arm(steps, steps[split])
    treated = "b" if holdout == "a" else "a"
    for name, arm in (("journey", treated), ("holdout", holdout)):
        out[name] = {"arm": arm, **arm_of(arm)}
    out.update(lift(out["journey"], out["holdout"]))
    return out


def lift(treated: dict[str, Any], holdout: dict[str, Any]) -> dict[str, Any]:
    """The difference of the rates (treated − holdout) with its 95% interval and their
    ratio; None where a group is empty (or, for the ratio, the holdout converted no one)."""
    n1, n2 = treated["people"], holdout["people"]
    if not n1 or not n2:
        return {"difference": None, "low": None, "high": None, "ratio": None}
    p1, p2 = treated["converted"] / n1, holdout["converted"] / n2
    half = Z95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return {"difference": p1 - p2, "low": p1 - p2 - half, "high": p1 - p2 + half,
            "ratio": p1 / p2 if p2 else None}
