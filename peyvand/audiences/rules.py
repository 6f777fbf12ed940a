"""A rule tree checked and compiled to one `Q` on contacts (docs/subsystems/audiences.md).

Every node is checked as it is compiled; the first fault is refused with the path of its node
(`rules.all[1].op`), so the API, the CLI and the rule builder can point at it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from peyvand.audiences.fields import FIELDS, Field, custom_field
from peyvand.audiences.models import Segment
from peyvand.audiences.predicates import Context, everyone, no_one
from peyvand.base.errors import Invalid

MAX_DEPTH = 8
MAX_CONDITIONS = 100
CONDITION_KEYS = {"field", "op", "value", "in_last"}
EVERYONE: dict[str, Any] = {"all": []}


class Cycle(Invalid):
    """A segment that would include itself, through however many others."""


def compile_rules(rules: Any, *, now: dt.datetime | None = None, language: str = "en",
                  expanding: tuple[int, ...] = ()) -> Q:
    """The rule as a filter on contacts (erased ones are the caller's to leave out)."""
    ctx = Context(now=now or timezone.now(), expanding=expanding)
    ctx.cache["language"] = language
    ctx.cache["conditions"] = 0
    return _node(rules, ctx, "rules", 0)


def check_rules(rules: Any, *, segment_id: int | None = None) -> None:
    """Raise Invalid unless the rule compiles (for a saved segment: without naming itself)."""
    compile_rules(rules, expanding=(segment_id,) if segment_id else ())


def find_field(path: Any, ctx: Context) -> Field | None:
    if not isinstance(path, str):
        return None
    if path.startswith("contact.fields."):
        return custom_field(path.removeprefix("contact.fields."), ctx)
    if path == "segment":
        return SEGMENT_FIELD
    return FIELDS.get(path)


def _node(rule: Any, ctx: Context, where: str, depth: int) -> Q:
    ctx.node = where
    if not isinstance(rule, dict):
        raise ctx.refuse(_("a rule is an object: {\"all\": […]}, {\"any\": […]}, "
                           "{\"not\": rule} or a condition"))
    if depth > MAX_DEPTH:
        raise ctx.refuse(_("rules may nest at most %(n)s deep") % {"n": MAX_DEPTH})
    groups = [k for k in ("all", "any", "not") if k in rule]
    if groups:
        key = groups[0]
        if len(rule) != 1:
            raise ctx.refuse(_("a group holds only its one key (%(key)s)") % {"key": key})
        if key == "not":
            return ~_node(rule["not"], ctx, f"{where}.not", depth + 1)
        children = rule[key]
        if not isinstance(children, list):
            raise ctx.refuse(_("%(key)s takes a list of rules") % {"key": key}, f".{key}")
        q = everyone() if key == "all" else no_one()
        for i, child in enumerate(children):
            part = _node(child, ctx, f"{where}.{key}[{i}]", depth + 1)
            q = q & part if key == "all" else q | part
        return q
    return _condition(rule, ctx, where)


def _condition(rule: dict[str, Any], ctx: Context, where: str) -> Q:
    unknown = set(rule) - CONDITION_KEYS
    if unknown:
        raise ctx.refuse(_("unknown key %(key)s; a condition is {\"field\", \"op\", \"value\"}")
                         % {"key": ", ".join(sorted(unknown))})
    ctx.cache["conditions"] += 1
    if ctx.cache["conditions"] > MAX_CONDITIONS:
        raise ctx.refuse(_("a rule holds at most %(n)s conditions") % {"n": MAX_CONDITIONS})
    field = find_field(rule.get("field"), ctx)
    if field is None:
        raise ctx.refuse(_("unknown field %(path)r (GET /api/v1/segments/fields lists them)")
                         % {"path": rule.get("field")}, ".field")
    op = rule.get("op")
    if op not in field.ops:
        raise ctx.refuse(_("%(path)s (%(type)s) cannot take %(op)r; it takes %(ops)s")
                         % {"path": field.path, "type": field.type, "op": op,
                            "ops": ", ".join(field.ops)}, ".op")
    if "in_last" in rule and not field.windowed:
        raise ctx.refuse(_("%(path)s cannot take in_last") % {"path": field.path}, ".in_last")
    if "value" not in rule and op not in ("is_set", "is_not_set", "has", "has_not"):
        raise ctx.refuse(_("%(op)s needs a value") % {"op": op}, ".value")
    return field.compile(rule, ctx)


def _segment(cond: dict[str, Any], ctx: Context) -> Q:
    """Membership of another segment, evaluated live by inlining its rule."""
    op, value = cond["op"], cond.get("value")
    ids = value if op == "in" else [value]
    if not isinstance(ids, list) or not ids or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ctx.refuse(_("expected a segment id (in: a list of them)"), ".value")
    where = ctx.node
    q = no_one()
    for segment_id in ids:
        if segment_id in ctx.expanding:
            cycle = ctx.refuse(_("segment #%(id)s would include itself") % {"id": segment_id},
                               ".value")
            raise Cycle(cycle.errors)
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            raise ctx.refuse(_("no segment #%(id)s") % {"id": segment_id}, ".value")
        inner = Context(now=ctx.now, expanding=(*ctx.expanding, segment_id), cache=ctx.cache)
        try:
            q |= _node(segment.rules, inner, "rules", 0)
        except Cycle as cycle:
            raise Cycle({f"{where}.value": next(iter(cycle.errors.values()))})
        except Invalid:
            raise ctx.refuse(_("segment #%(id)s (%(name)s) has a rule that no longer holds")
                             % {"id": segment_id, "name": segment.name}, ".value")
        ctx.node = where
    return ~q if op == "ne" else q


SEGMENT_FIELD = Field("segment", "segment", "segment", _("In segment"), _segment)


def all_fields(language: str = "en") -> list[Field]:
    """The catalogue with this shop's custom fields, as the field picker groups it."""
    ctx = Context(now=timezone.now())
    ctx.cache["language"] = language
    from peyvand.contacts.models import CustomField

    customs = [custom_field(f.key, ctx) for f in CustomField.objects.all()]
    return [*FIELDS.values(), *[f for f in customs if f is not None], SEGMENT_FIELD]
