"""Reading journeys: lists, one journey with its versions, the per-step report, and the
journeys one contact is or was on."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, QuerySet
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
