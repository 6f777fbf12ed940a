"""The journey runner: claim due enrolments with a lease, run each one's steps, one database
transaction per step.

A step's transaction locks its enrolment (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transaction holds the write lock), checks the lease is still this worker's, checks the exit
conditions, records the StepRun under UNIQUE (enrolment, node, rotation), has the step's
effect and moves the enrolment on. A worker killed mid-step loses the whole step: it runs
again, once, after the lease runs out. Timers are rows (`next_run_at`), never sleeping
processes; events wake the enrolments waiting on them (`wake`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import socket

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from peyvand.journeys.models import Enrolment, Journey, StepRun
from peyvand.journeys.steps import EFFECTS, Context, Move, exit_reason

log = logging.getLogger("peyvand.journeys")
E = Enrolment.State
LEASE = dt.timedelta(minutes=5)
# Steps one enrolment may run in a row in one claim (a loop of zero waits stops here).
MAX_STEPS_IN_A_ROW = 20


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
    steps = 0
    ctx = Context(timezone.now())
    for pk in ids:
        steps += run_enrolment(pk, worker, ctx)
    if ctx.queued:
        from peyvand.messaging.single import kick

        kick()
    return {"claimed": len(ids), "steps": steps}


def run_enrolment(pk: int, worker: str, ctx: Context) -> int:
    """Run the enrolment's due steps, each in its own transaction, until it waits, ends or
    has run MAX_STEPS_IN_A_ROW; then its lease is let go. Returns the steps run."""
    ran = 0
    for _n in range(MAX_STEPS_IN_A_ROW):
        ctx.now = timezone.now()
        try:
            result = step_once(pk, worker, ctx, last=_n == MAX_STEPS_IN_A_ROW - 1)
        except DatabaseError:  # a lock or a lost connection: the lease runs out, it is retried
            log.exception("journey enrolment %s: a step's transaction failed", pk)
            return ran
        except Exception:
            log.exception("journey enrolment %s failed at a step", pk)
            _fail(pk, worker)
            return ran
        ran += result.ran
        if not result.again:
            break
    return ran


class _Result:
    def __init__(self, ran: int = 0, again: bool = False) -> None:
        self.ran, self.again = ran, again


@transaction.atomic
def step_once(pk: int, worker: str, ctx: Context, *, last: bool = False) -> _Result:
    """One step of one enrolment, in one transaction (see the module's docstring)."""
    item = Enrolment.objects.select_for_update().filter(pk=pk, lease_owner=worker).first()
    if item is None or item.state not in (E.ACTIVE, E.WAITING):
        return _Result()  # the lease went to another worker, or it ended meanwhile
    if item.next_run_at is None or item.next_run_at > ctx.now:
        _save(item, release=True)
        return _Result()
    version = ctx.version(item.version_id)
    if version.journey.status != Journey.Status.LIVE:
        _save(item, release=True)
        return _Result()
    ending = exit_reason(item, version, ctx)
    if ending is not None:
        _finish(item, *ending, ctx.now)
        return _Result()
    step = version.definition["steps"][item.node]
    if item.state == E.WAITING:  # no event came before the timeout
        _resolve_wait(item, "timeout", ctx.now)
        _advance(item, Move("timeout", step.get("timeout_next")), ctx.now)
        return _Result(again=_save(item, release=last))
    run, created = _record(item, ctx.now)
    if created:
        move = EFFECTS[step["type"]](item, step, version, ctx)
        run.outcome, run.detail, run.finished_at = move.outcome, \
            {**move.detail, "next": move.next}, ctx.now
        if move.outcome != "waiting":
            run.save(update_fields=["outcome", "detail", "finished_at"])
        else:
            run.save(update_fields=["outcome", "detail"])
    else:  # it ran already (a worker whose lease ran out): its effect committed with it
        move = Move(run.outcome, run.detail.get("next"))
    _advance(item, move, ctx.now)
    return _Result(ran=1 if created else 0, again=_save(item, release=last))


def _record(item: Enrolment, now: dt.datetime) -> tuple[StepRun, bool]:
    try:
        with transaction.atomic():
            return StepRun.objects.create(enrolment=item, node=item.node, rotation=item.visit,
                                          started_at=now, outcome="running"), True
    except IntegrityError:
        return StepRun.objects.get(enrolment=item, node=item.node, rotation=item.visit), False


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


def _save(item: Enrolment, *, release: bool) -> bool:
    """Write the enrolment; keep the lease only when it is due again now (the next step runs
    in this claim). Returns whether it should run again."""
    again = (not release and item.state == E.ACTIVE and item.next_run_at is not None
             and item.next_run_at <= timezone.now())
    if not again:
        item.lease_owner, item.lease_until = "", None
    item.save(update_fields=["state", "node", "next_run_at", "lease_owner", "lease_until",
                             "waiting_for", "wait_until", "finished_at", "exit_reason", "data"])
    return again


def _finish(item: Enrolment, state: str, reason: str, now: dt.datetime) -> None:
    item.state, item.exit_reason, item.finished_at, item.next_run_at = state, reason, now, None
    item.waiting_for, item.wait_until = "", None
    _save(item, release=True)


def _resolve_wait(item: Enrolment, outcome: str, now: dt.datetime) -> None:
    """The wait_event step's run is finished by the event or by its timeout."""
    StepRun.objects.filter(enrolment=item, node=item.node, rotation=item.visit).update(
        outcome=outcome, finished_at=now)


def _fail(pk: int, worker: str) -> None:
    """A step that raised: the enrolment stops as failed (its step rolled back), for a person
    to look at, rather than being retried for ever."""
    Enrolment.objects.filter(pk=pk, lease_owner=worker).update(
        state=E.FAILED, exit_reason="error", finished_at=timezone.now(), next_run_at=None,
        lease_owner="", lease_until=None)


def wake(contact_id: int, event: str, message_id: int | None = None) -> int:
    """The contact opened, clicked or ordered: the enrolments waiting for it go on to their
    step's `next`, due now. An open or a click wakes only an enrolment whose last message
    it was (when it sent one). Returns how many woke."""
    woke = 0
    now = timezone.now()
    waiting = Enrolment.objects.filter(contact_id=contact_id, state=E.WAITING,
                                       waiting_for=event).select_related("version")
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
                woke += 1
    return woke


def due_count() -> int:
    now = timezone.now()
    return Enrolment.objects.filter(state__in=(E.ACTIVE, E.WAITING), next_run_at__lte=now,
                                     journey__status=Journey.Status.LIVE).count()
