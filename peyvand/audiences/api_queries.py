"""Reads the API and the CLI share on top of `queries`: the live count of a saved segment, its
live members in the contacts list's order, the field catalogue as the picker groups it, and
the rule grammar as the OpenAPI description and `--help` state it (built from the catalogue,
so it cannot drift from what the compiler accepts)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from peyvand.audiences.fields import FIELDS, GROUPS
from peyvand.audiences.models import Segment
from peyvand.audiences.predicates import OPS_BY_TYPE
from peyvand.audiences.queries import count_of, matching, members_now
from peyvand.audiences.rules import MAX_CONDITIONS, MAX_DEPTH, all_fields
from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.base.roles import require


def live_count(segment: Segment) -> int | None:
    """Who the rule matches now; None when the saved rule no longer compiles (a custom field
    it names was deleted, a segment it names changed), so one broken segment does not break
    a whole list."""
    try:
        return count_of(members_now(segment))
    except Invalid:
        return None


def segment_data(segment: Segment) -> dict[str, Any]:
    """A segment as the API and `--json` show it: the live count beside the last refresh's."""
    return {"id": segment.pk, "name": segment.name, "description": segment.description,
            "rules": segment.rules, "count": live_count(segment),
            "refreshed_at": segment.refreshed_at, "member_count": segment.member_count,
            "auto_refresh": segment.auto_refresh, "created_at": segment.created_at}


def count_rules(actor: Actor, rules: Any) -> int:
    """How many people a rule not saved matches now (Invalid naming the node otherwise)."""
    require(actor, "segments.view")
    return count_of(matching(rules))


def live_members(actor: Actor, segment: Segment) -> QuerySet:
    """The segment's members now, newest contact first (as a preview lists them)."""
    require(actor, "segments.view")
    require(actor, "contacts.view")
    return members_now(segment).order_by("-created_at", "-id")


def field_catalogue(language: str) -> dict[str, Any]:
    """Every path a rule can name, flat with its group, and the groups in the picker's order;
    labels in the active language (custom fields' in `language`)."""
    items = [field.describe() for field in all_fields(language)]
    used = {item["group"] for item in items}
    groups = [{"key": key, "label": str(label)} for key, label in GROUPS.items() if key in used]
    return {"groups": groups, "items": items, "count": len(items)}


def _paths_by_type() -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for field in FIELDS.values():
        paths.setdefault(field.type, []).append(f"`{field.path}`")
    paths.setdefault("segment", []).append("`segment`")
    return paths


def rules_description() -> str:
    """The grammar, the ops of each type and the paths of each type, in Markdown (the
    OpenAPI description of every `rules` field). docs/subsystems/audiences.md says more."""
    paths = _paths_by_type()
    types = "\n".join(
        f"- `{kind}`: ops {', '.join(ops)}; paths {', '.join(paths.get(kind, [])) or '—'}"
        + (", `contact.fields.<key>` (custom fields of this type)"
           if kind in ("text", "choice", "number", "date", "boolean") else "")
        for kind, ops in OPS_BY_TYPE.items())
    return (
        "A rule tree (JSON). `rule := {\"all\": [rule, …]} | {\"any\": [rule, …]} | "
        "{\"not\": rule} | condition`; `condition := {\"field\": PATH, \"op\": OP, "
        "\"value\": V, \"in_last\": {\"days\": N}?}`. `{\"all\": []}` is everyone, "
        f"`{{\"any\": []}}` no one. At most {MAX_DEPTH} deep and {MAX_CONDITIONS} conditions.\n\n"
        "Values: text a string (`in`: a list); numbers and money numbers (money in minor "
        "units; `between`: `[low, high]`); dates ISO `\"2024-08-02\"`, relative ops "
        "(`within_last`, `not_within_last`, `within_next`) `{\"days\": N}`; boolean `true`/"
        "`false`; set a string or a list; activity `{\"broadcast\": ID?, \"days\": N?}`; "
        "segment a segment id (`in`: a list).\n\n"
        f"Types, their ops and paths:\n{types}\n\n"
        "`GET /api/v1/segments/fields` lists every path with its type, ops, labels and "
        "choices. A rule that does not hold is refused with 400 naming the node, e.g. "
        "`{\"errors\": {\"rules.all[1].op\": \"…\"}}`.")


RULES_EXAMPLE: dict[str, Any] = {"all": [
    {"field": "orders.total_spent", "op": "gt", "value": 50000000, "in_last": {"days": 365}},
    {"field": "engagement.clicked", "op": "within_last", "value": {"days": 90}},
    {"not": {"field": "insights.tier", "op": "eq", "value": "most_valuable"}},
]}
