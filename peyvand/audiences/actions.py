"""Writing segments and materialising their membership.

A refresh compares the rule's answer now with the members the last refresh found, in SQL
(the compiled rule's answer written once into a temporary table, then INSERT … SELECT and
DELETE … NOT EXISTS against it), so 1,000,000 members never pass through Python. Who
entered or left is recorded (SegmentChange, the contact's timeline) and handed to
SEGMENT_CHANGED_HOOKS. The first refresh of a segment, and the first after its rule
changed, is a baseline: its members are recorded without "entered" rows, so editing a rule
never looks like thousands of people joining at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.audiences.hooks import SEGMENT_CHANGED_HOOKS
from peyvand.audiences.models import Segment, SegmentChange, SegmentMember
from peyvand.audiences.queries import matching, segment_work_memory
from peyvand.audiences.rules import check_rules
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.language import join_list
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require
from peyvand.contacts.timeline import append_event_rows

logger = logging.getLogger(__name__)

CHANGE_CHUNK = 5000
ANALYZE_AFTER = 10_000  # members written or removed by one refresh
DIRTY_KEY = "audiences:dirty"


def _check(name: Any, rules: Any, *, segment: Segment | None = None) -> str:
    clean = normalise_text(name if isinstance(name, str) else "")
    if not clean:
        raise Invalid({"name": _("Give the segment a name.")})
    if len(clean) > 100:
        raise Invalid({"name": _("A segment's name has at most 100 characters.")})
    others = Segment.objects.filter(name=clean)
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    if others.exists():
        raise Invalid({"name": _("A segment named “%(name)s” exists already.") % {"name": clean}})
    check_rules(rules, segment_id=segment.pk if segment else None)
    return clean


@transaction.atomic
def do_create_segment(actor: Actor, name: Any, rules: Any, *, description: str = "",
                      auto_refresh: bool = True) -> Segment:
    require(actor, "segments.edit")
    clean = _check(name, rules)
    segment = Segment.objects.create(name=clean, rules=rules, description=description[:300],
                                     auto_refresh=auto_refresh, created_by_label=actor.label)
    record_audit(actor, "segment.create", target_type="segment", target_id=segment.pk,
                 summary=clean, details={"rules": rules})
    return segment


@transaction.atomic
def do_update_segment(actor: Actor, segment: Segment, *, name: Any = None, rules: Any = None,
                      description: str | None = None, auto_refresh: bool | None = None
                      ) -> Segment:
    """Change what is given. A new rule starts membership afresh (the next refresh is a
    baseline)."""
    require(actor, "segments.edit")
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    new_rules = segment.rules if rules is None else rules
    segment.name = _check(segment.name if name is None else name, new_rules, segment=segment)
    if description is not None:
        segment.description = description[:300]
    if auto_refresh is not None:
        segment.auto_refresh = auto_refresh
    if rules is not None and rules != segment.rules:
        segment.rules = rules
        SegmentMember.objects.filter(segment=segment).delete()
        segment.member_count, segment.refreshed_at = 0, None
    segment.save()
    record_audit(actor, "segment.update", target_type="segment", target_id=segment.pk,
                 summary=segment.name, details={"rules": segment.rules})
    return segment


@transaction.atomic
def do_delete_segment(actor: Actor, segment: Segment) -> None:
    """Delete a segment no other segment's rule names (those would stop compiling)."""
    require(actor, "segments.edit")
    users = [s.name for s in Segment.objects.exclude(pk=segment.pk) if _names(s.rules, segment.pk)]
    if users:
        raise Invalid({"segment": _("Segments %(names)s use this one; change them first.")
                       % {"names": join_list(users)}}, status=409)
    record_audit(actor, "segment.delete", target_type="segment", target_id=segment.pk,
                 summary=segment.name, details={"rules": segment.rules})
    segment.delete()


def _names(rule: Any, segment_id: int) -> bool:
    """Whether a rule refers to the segment."""
    if not isinstance(rule, dict):
        return False
    if rule.get("field") == "segment":
        value = rule.get("value")
        return value == segment_id or (isinstance(value, list) and segment_id in value)
    children: list[Any] = []
    for key in ("all", "any"):
        if isinstance(rule.get(key), list):
            children.extend(rule[key])
    if "not" in rule:
        children.append(rule["not"])
    return any(_names(child, segment_id) for child in children)


# ---- membership -----------------------------------------------------------------------------

def _sql(qs: Any) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.order_by().query.sql_with_params()
    return sql, tuple(params)


def refresh_segment(segment: Segment, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Bring the materialised membership up to date; returns {count, entered, left,
    baseline}."""
    now = now or timezone.now()
    with transaction.atomic(), segment_work_memory():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        baseline = segment.refreshed_at is None
        at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores it
        match_sql, match_params = _sql(matching(segment.rules, now=now,
                                                segment_id=segment.pk).values("id"))
        members = connection.ops.quote_name(SegmentMember._meta.db_table)
        changes = connection.ops.quote_name(SegmentChange._meta.db_table)
        with connection.cursor() as cursor:
            if baseline:  # nothing to compare with: write the answer as it is
                cursor.execute(f"DELETE FROM {members} WHERE segment_id = %s", (segment.pk,))
                left = cursor.rowcount
                cursor.execute(f"INSERT INTO {members} (segment_id, contact_id, since) "
                               f"SELECT %s, m.id, %s FROM ({match_sql}) m",
                               (segment.pk, at, *match_params))
                entered = cursor.rowcount
            else:
                entered, left = _compare(cursor, segment.pk, at, match_sql, match_params,
                                         members, changes)
            if connection.vendor == "postgresql" and max(entered, left) >= ANALYZE_AFTER:
                # Planned on a table PostgreSQL still thinks small, the next refresh's
                # anti-joins would rescan the members for every contact.
                cursor.execute(f"ANALYZE {members}")
        count = SegmentMember.objects.filter(segment=segment).count()
        Segment.objects.filter(pk=segment.pk).update(member_count=count, refreshed_at=now)
        if not baseline and (entered or left):
            _record_on_timelines(segment, now)
    if not baseline and (entered or left):
        transaction.on_commit(lambda: _run_hooks(segment.pk, now))
    return {"count": count, "entered": 0 if baseline else entered,
            "left": 0 if baseline else left, "baseline": baseline}


ANSWER_TABLE = "audiences_refresh_answer"


def _compare(cursor: Any, segment_id: int, at: Any, match_sql: str,
             match_params: tuple[Any, ...], members: str, changes: str) -> tuple[int, int]:
    """Record who left and who entered, then make the members the rule's answer; returns
    (entered, left). The rule is evaluated once, into a temporary table the four statements
    join (evaluated in each, the steady refresh of a 3-condition segment took 51 s at 1M
    contacts; bench/segments.py). The table lives in this transaction only."""
    answer = connection.ops.quote_name(ANSWER_TABLE)
    cursor.execute(f"CREATE TEMPORARY TABLE {answer} AS {match_sql}", match_params)
    # Indexed, so an anti-join planned as a nested loop looks each member up: PostgreSQL
    # plans one when the members' statistics predate this segment's rows (a 6,130-member
    # segment at 100k, below ANALYZE_AFTER: 37M comparisons, 2.4 s, without the index).
    cursor.execute(f"CREATE INDEX {connection.ops.quote_name(ANSWER_TABLE + '_id')} "
                   f"ON {answer} (id)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {answer}")  # autovacuum never sees temporary tables
    # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN as a hashed sub-plan only while the
    # hash fits in work_mem, else it rescans the sub-query for every row (hours at a million
    # members); NOT EXISTS becomes an anti-join that spills (bench/segments.py).
    gone = (f"segment_id = %s AND NOT EXISTS (SELECT 1 FROM {answer} m "
            f"WHERE m.id = {members}.contact_id)")
    new = (f"FROM {answer} m WHERE NOT EXISTS (SELECT 1 FROM {members} s "
           f"WHERE s.segment_id = %s AND s.contact_id = m.id)")
    cursor.execute(f"INSERT INTO {changes} (segment_id, contact_id, kind, at) "
                   f"SELECT segment_id, contact_id, %s, %s FROM {members} WHERE {gone}",
                   (SegmentChange.Kind.LEFT, at, segment_id))
    cursor.execute(f"DELETE FROM {members} WHERE {gone}", (segment_id,))
    left = cursor.rowcount
    cursor.execute(f"INSERT INTO {changes} (segment_id, contact_id, kind, at) "
                   f"SELECT %s, m.id, %s, %s {new}",
                   (segment_id, SegmentChange.Kind.ENTERED, at, segment_id))
    cursor.execute(f"INSERT INTO {members} (segment_id, contact_id, since) "
                   f"SELECT %s, m.id, %s {new}", (segment_id, at, segment_id))
    entered = cursor.rowcount
    cursor.execute(f"DROP TABLE {answer}")
    return entered, left


def _changes_at(segment_id: int, at: dt.datetime):
    return SegmentChange.objects.filter(segment_id=segment_id, at=at).order_by("id")


def _record_on_timelines(segment: Segment, at: dt.datetime) -> None:
    rows: list[dict[str, Any]] = []
    for contact_id, kind in _changes_at(segment.pk, at).values_list("contact_id", "kind"):
        rows.append({"contact_id": contact_id, "kind": f"segment.{kind}", "at": at,
                     "actor_label": "", "data": {"segment": segment.pk, "name": segment.name}})
        if len(rows) >= CHANGE_CHUNK:
            append_event_rows(rows)
            rows = []
    append_event_rows(rows)


def _run_hooks(segment_id: int, at: dt.datetime) -> None:
    entered: list[int] = []
    left: list[int] = []
    for contact_id, kind in _changes_at(segment_id, at).values_list("contact_id", "kind"):
        (entered if kind == SegmentChange.Kind.ENTERED else left).append(contact_id)
        if len(entered) + len(left) >= CHANGE_CHUNK:
            _call_hooks(segment_id, entered, left, at)
            entered, left = [], []
    if entered or left:
        _call_hooks(segment_id, entered, left, at)


def _call_hooks(segment_id: int, entered: list[int], left: list[int], at: dt.datetime) -> None:
    for hook in SEGMENT_CHANGED_HOOKS:
        try:
            hook(segment_id, entered, left, at)
        except Exception:  # one floor's failure must not stop the others hearing of it
            logger.exception("segment change hook %s failed", hook)


@transaction.atomic
def do_refresh_segment(actor: Actor, segment: Segment) -> dict[str, Any]:
    require(actor, "segments.edit")
    result = refresh_segment(segment)
    record_audit(actor, "segment.refresh", target_type="segment", target_id=segment.pk,
                 summary=segment.name, details=result)
    return result


def refresh_due_segments(*, force: bool = False) -> dict[int, dict[str, Any]]:
    """The schedule: refresh every kept-up-to-date segment when the data changed since (a
    hook marked it) or an hour passed. Returns each refreshed segment's result."""
    dirty = cache.get(DIRTY_KEY)
    stale = timezone.now() - dt.timedelta(hours=1)
    due = Segment.objects.filter(auto_refresh=True)
    if not (force or dirty):
        due = due.filter(Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=stale))
    cache.delete(DIRTY_KEY)
    done = {}
    for segment in due.order_by("id"):
        try:
            done[segment.pk] = refresh_segment(segment)
        except Invalid:
            logger.warning("segment %s has a rule that no longer compiles", segment.pk)
    return done


def mark_data_changed(*_args: Any, **_kwargs: Any) -> None:
    """Hook for the floors below: something segments read changed; the next scheduled run
    (within a minute) refreshes the kept-up-to-date segments."""
    cache.set(DIRTY_KEY, True, None)


def on_merge(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: the merged person's history follows them; their membership is
    found again for the survivor at the next refresh."""
    SegmentChange.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    SegmentMember.objects.filter(contact_id=merged_id).delete()
    mark_data_changed()
