"""The journey runner: claim due enrolments with a lease, run their steps in rounds, one
database transaction per round (one step of each claimed enrolment).

A round locks its enrolments (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transaction holds
the write lock), keeps those whose lease is still this worker's, checks the exit conditions
for all of them at once, records the StepRuns under UNIQUE (enrolment, node, rotation) (a
step recorded before is followed, not run again), has the steps' effects (sends together)
and moves the enrolments on. A step whose effect raises rolls back to its savepoint alone.
A worker killed mid-round loses the whole round: its steps run again, once, after the
leases run out. Timers are rows (`next_run_at`), never sleeping processes; events wake the
enrolments waiting on them (`wake`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import socket
from collections.abc import Callable

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from peyvand.journeys import timeline
from peyvand.journeys.exits import exit_reasons
from peyvand.journeys.models import Enrolment, Journey, StepRun
from peyvand.journeys.steps import EFFECTS, Context, Move, batched, send_many

log = logging.getLogger("peyvand.journeys")
E = Enrolment.State
LEASE = dt.timedelta(minutes=5)
# Steps one enrolment may run in a row in one claim (a loop of zero waits stops here).
MAX_STEPS_IN_A_ROW = 20
RUNNING = "running"  # a StepRun recorded in this round, its effect still to come


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@functools.cache
def _claim_sql(vendor: str) -> tuple[str, str]:
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    journeys = connection.ops.quote_name(Journey._meta.db_table)
    # One range of the (state, next_run_at, id) index per state, as the outbox claims.
    select = (f"SELECT id FROM {table} WHERE state = %s AND next_run_at <= %s"
              " AND (lease_until IS NULL OR lease_until < %s)"
              f" AND journey_id IN (SELECT id FROM {journeys} WHERE status = 'live')"
              " ORDER BY next_run_at, id LIMIT %s")
    if vendor == "postgresql":
        select += " FOR UPDATE SKIP LOCKED"
    update = f"UPDATE {table} SET lease_owner = %s, lease_until = %s WHERE id IN "
    return select, update


def claim(worker: str, limit: int, lease: dt.timedelta = LEASE) -> list[int]:
    """Take up to `limit` due enrolments of live journeys (active, or waiting past their
    timeout) whose lease is free or ran out: their ids, leased to `worker` until now + lease.
    PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never take the same row. SQLite: the
    transaction is IMMEDIATE (settings), so the select and the update hold the write lock."""
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    until = connection.ops.adapt_datetimefield_value(now + lease)
    select, update = _claim_sql(connection.vendor)
    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for state in (E.ACTIVE, E.WAITING):
            cursor.execute(select, [state, at, at, limit - len(ids)])
            ids += [row[0] for row in cursor.fetchall()]
            if len(ids) >= limit:
                break
        if ids:
            cursor.execute(f"{update}({', '.join(['%s'] * len(ids))})",
                           [worker, until, *ids])
    return ids


def run_due(worker: str, limit: int = 200, lease: dt.timedelta = LEASE) -> dict[str, int]:
    """Claim up to `limit` due enrolments and run each as far as it goes now: how many were
    claimed and how many steps ran."""
    ids = claim(worker, limit, lease)
    ctx = Context(timezone.now())
    steps = run_rounds(ids, worker, ctx)
    if ctx.queued:
        from peyvand.messaging.single import kick

        kick()
    return {"claimed": len(ids), "steps": steps}


def run_enrolment(pk: int, worker: str, ctx: Context) -> int:
    """Run one enrolment's due steps (see run_rounds). Returns the steps run."""
    return run_rounds([pk], worker, ctx)


def run_rounds(ids: list[int], worker: str, ctx: Context) -> int:
    """Run the claimed enrolments' due steps, one round (one step of each) per transaction,
    until none is due now or MAX_STEPS_IN_A_ROW rounds ran; the leases of those that stop
    are let go in their last round. Returns the steps run."""
    ran = 0
    for n in range(MAX_STEPS_IN_A_ROW):
        if not ids:
            break
        ctx.now = timezone.now()
        try:
            done, ids = run_round(ids, worker, ctx, last=n == MAX_STEPS_IN_A_ROW - 1)
        except DatabaseError:  # a lock or a lost connection: the leases run out, retried
            log.exception("journey enrolments %s…: a round's transaction failed", ids[:5])
            break
        ran += done
    return ran


@transaction.atomic
def run_round(ids: list[int], worker: str, ctx: Context, *, last: bool = False) \
        -> tuple[int, list[int]]:
    """One step of each of these enrolments, in one transaction (the module's docstring):
    the steps run, and the enrolments due again now (their leases kept)."""
    items = list(Enrolment.objects.select_for_update().filter(
        pk__in=ids, lease_owner=worker, state__in=(E.ACTIVE, E.WAITING)).order_by("id"))
    # Those gone to another worker or ended meanwhile are not here; these stop, leases let go:
    stopped = {i.pk for i in items if i.next_run_at is None or i.next_run_at > ctx.now
               or ctx.version(i.version_id).journey.status != Journey.Status.LIVE}
    endings = exit_reasons([i for i in items if i.pk not in stopped], ctx)
    for item in items:
        if item.pk in endings:
            _end(item, *endings[item.pk], ctx.now)
    stopped |= set(endings)
    # A wait_event step whose event did not come before its timeout:
    timeouts = [i for i in items if i.pk not in stopped and i.state == E.WAITING]
    _resolve_waits(timeouts, "timeout", ctx.now)
    for item in timeouts:
        _advance(item, Move("timeout", _step(item, ctx).get("timeout_next")), ctx.now)
    waited = {i.pk for i in timeouts}
    steps = [i for i in items if i.pk not in stopped and i.pk not in waited]
    ran, failed = _run_steps(steps, ctx)
    saved = [i for i in items if i.pk not in failed]
    again = _save_all(saved, stopped, last=last)
    # Every item was running when locked: those ended now left in this round.
    timeline.left([i for i in saved if i.state in timeline.ENDED], {
        i.journey_id: ctx.version(i.version_id).journey.name for i in saved}, ctx.now)
    return ran, again


def _run_steps(items: list[Enrolment], ctx: Context) -> tuple[int, set[int]]:
    """Record the StepRuns, have the effects of those recorded now and move every enrolment
    on: the steps run, and the enrolments that failed (written already, or left alone)."""
    runs = _record(items, ctx.now)
    fresh = [i for i in items if runs[i.pk].outcome == RUNNING]
    moves, failed = _effects(fresh, ctx)
    for item in items:
        run = runs[item.pk]
        if item.pk in failed:
            continue
        if item.pk in moves:
            move = moves[item.pk]
            run.outcome, run.detail = move.outcome, {**move.detail, "next": move.next}
            run.finished_at = None if move.outcome == "waiting" else ctx.now
        else:  # it ran already (a worker whose lease ran out): its effect committed with it
            move = Move(run.outcome, run.detail.get("next"))
        _advance(item, move, ctx.now)
    done = [runs[i.pk] for i in fresh if i.pk not in failed]
    _write(StepRun, done, ["outcome", "detail", "finished_at"])
    gone = [runs[pk].pk for pk in failed]
    if gone:  # their step rolls back whole
        StepRun.objects.filter(pk__in=gone).delete()
    return len(done), failed


def _record(items: list[Enrolment], now: dt.datetime) -> dict[int, StepRun]:
    """Each enrolment's StepRun for its step, {enrolment id: run}: the unique key decides, a
    run recorded before is kept (and followed); those made now say RUNNING, which no
    committed run does (its effect sets the outcome in the same transaction)."""
    StepRun.objects.bulk_create([StepRun(
        enrolment=item, node=item.node, rotation=item.visit, started_at=now,
        outcome=RUNNING) for item in items], ignore_conflicts=True, batch_size=500)
    wanted = {(item.pk, item.node, item.visit): item.pk for item in items}
    runs: dict[int, StepRun] = {}
    for run in StepRun.objects.filter(enrolment_id__in=[item.pk for item in items],
                                      node__in={item.node for item in items}):
        pk = wanted.get((run.enrolment_id, run.node, run.rotation))
        if pk is not None:
            runs[pk] = run
    return runs


def _effects(items: list[Enrolment], ctx: Context) -> tuple[dict[int, Move], set[int]]:
    """The steps' effects: sends together (send_many), the rest together, each group under
    one savepoint; when a group raises, its steps one by one. A step that raises alone is
    rolled back to its savepoint and its enrolment fails (an error) or is left to be retried
    when its lease runs out (a database error): {enrolment id: Move}, and those that failed."""
    many = [i for i in items if batched(i, _step(i, ctx))]
    rest = [i for i in items if not batched(i, _step(i, ctx))]
    moves = _together(lambda: send_many(many, ctx), len(many))
    moves.update(_together(lambda: {i.pk: _effect(i, ctx) for i in rest}, len(rest)))
    failed: set[int] = set()
    for item in items:
        if item.pk in moves:
            continue
        try:
            with transaction.atomic():
                moves[item.pk] = _effect(item, ctx)
        except DatabaseError:
            log.exception("journey enrolment %s: a step's effect failed", item.pk)
            failed.add(item.pk)
        except Exception:
            log.exception("journey enrolment %s failed at a step", item.pk)
            failed.add(item.pk)
            _fail(item.pk, item.lease_owner)
    return moves, failed


def _together(effects: Callable[[], dict[int, Move]], n: int) -> dict[int, Move]:
    """A group's effects under one savepoint; nothing when one raised (rolled back)."""
    if not n:
        return {}
    try:
        with transaction.atomic():
            return effects()
    except Exception:
        log.warning("journeys: a group of %s steps raised; one by one", n, exc_info=True)
        return {}


def _effect(item: Enrolment, ctx: Context) -> Move:
    return EFFECTS[_step(item, ctx)["type"]](item, _step(item, ctx),
                                            ctx.version(item.version_id), ctx)


def _step(item: Enrolment, ctx: Context) -> dict:
    return ctx.version(item.version_id).definition["steps"][item.node]


def _advance(item: Enrolment, move: Move, now: dt.datetime) -> None:
    """Set the enrolment where the step's result sends it."""
    if move.waiting_for:
        item.state, item.waiting_for, item.wait_until = E.WAITING, move.waiting_for, \
            move.wait_until
        item.next_run_at = move.at
        return
    if move.finish_reason is not None or move.next is None:
        item.state, item.exit_reason = E.DONE, move.finish_reason or "completed"
        item.finished_at, item.next_run_at = now, None
        return
    enter(item, move.next, move.at or now)


def enter(item: Enrolment, node: str, at: dt.datetime) -> None:
    """Move the enrolment to `node`, due at `at`: one more visit of that node."""
    visits = item.data.setdefault("visits", {})
    visits[node] = int(visits.get(node, 0)) + 1
    item.node, item.state, item.next_run_at = node, E.ACTIVE, at
    item.waiting_for, item.wait_until = "", None


FIELDS = ["state", "node", "next_run_at", "lease_owner", "lease_until", "waiting_for",
          "wait_until", "finished_at", "exit_reason", "data"]


def _save_all(items: list[Enrolment], stopped: set[int], *, last: bool) -> list[int]:
    """Write the enrolments back; keep the lease only of those due again now (their next
    step runs in the next round). Returns their ids."""
    now = timezone.now()
    again = [i.pk for i in items if not last and i.pk not in stopped and i.state == E.ACTIVE
             and i.next_run_at is not None and i.next_run_at <= now]
    keep = set(again)
    for item in items:
        if item.pk not in keep:
            item.lease_owner, item.lease_until = "", None
    _write(Enrolment, items, FIELDS)
    return again


def _write(model: type[models.Model], rows: list, names: list[str]) -> None:
    """UPDATE each row's fields by id, one statement run for all (executemany): bulk_update's
    CASE expressions cost more to build than the round's every other query together."""
    if not rows:
        return
    fields: list[models.Field] = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)  # a column of its own, not a relation's end
        fields.append(field)
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(model._meta.db_table)} SET "
           + ", ".join(f"{quote(f.column or f.name)} = %s" for f in fields) + " WHERE id = %s")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[f.get_db_prep_save(getattr(row, f.attname), connection)
                                  for f in fields] + [row.pk] for row in rows])


def _end(item: Enrolment, state: str, reason: str, now: dt.datetime) -> None:
    item.state, item.exit_reason, item.finished_at, item.next_run_at = state, reason, now, None
    item.waiting_for, item.wait_until = "", None


def _resolve_waits(items: list[Enrolment], outcome: str, now: dt.datetime) -> None:
    """The wait_event steps' runs are finished by the event or by their timeout."""
    by_key: dict[tuple[str, int], list[int]] = {}
    for item in items:
        by_key.setdefault((item.node, item.visit), []).append(item.pk)
    for (node, visit), pks in by_key.items():
        StepRun.objects.filter(enrolment_id__in=pks, node=node, rotation=visit).update(
            outcome=outcome, finished_at=now)


def _fail(pk: int, worker: str) -> None:
    """A step that raised: the enrolment stops as failed (its step rolled back), for a person
    to look at, rather than being retried for ever."""
    Enrolment.objects.filter(pk=pk, lease_owner=worker).update(
        state=E.FAILED, exit_reason="error", finished_at=timezone.now(), next_run_at=None,
        lease_owner="", lease_until=None)


def wake(contact_id: int, event: str, message_id: int | None = None) -> int:
    """The contact opened, clicked, ordered or replied: the enrolments waiting for it go on
    to their step's `next`, due now. An open or a click wakes only an enrolment whose last
    message it was (when it sent one). Returns how many woke."""
    woke = 0
    now = timezone.now()
    waiting = Enrolment.objects.filter(contact_id=contact_id, state=E.WAITING,
                                       waiting_for=event).select_related("version__journey")
    for item in waiting:
        sent = item.data.get("message")
        if event != "ordered" and message_id and sent and sent != message_id:
            continue
        step = item.version.definition["steps"][item.node]
        with transaction.atomic():
            node, visit = item.node, item.visit
            _advance(item, Move("event", step.get("next")), now)
            fields = {f: getattr(item, f) for f in (
                "state", "node", "next_run_at", "waiting_for", "wait_until", "finished_at",
                "exit_reason", "data")}
            # Only if still waiting there: a worker may be taking its timeout path right now.
            if Enrolment.objects.filter(pk=item.pk, state=E.WAITING, node=node).update(
                    **fields):
                StepRun.objects.filter(enrolment_id=item.pk, node=node, rotation=visit).update(
                    outcome="event", finished_at=now)
                if item.state in timeline.ENDED:  # the wait was its last step
                    timeline.left([item], {item.journey_id: item.version.journey.name}, now)
                woke += 1
    return woke


def due_count() -> int:
    now = timezone.now()
    return Enrolment.objects.filter(state__in=(E.ACTIVE, E.WAITING), next_run_at__lte=now,
                                     journey__status=Journey.Status.LIVE).count()
