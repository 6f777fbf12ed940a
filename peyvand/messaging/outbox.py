"""The outbox state machine: rows are queued once per (source, contact, channel), claimed by one
sender, and end sent / deferred (with a next attempt) / failed / bounced.

queued ──claim──▶ sending ──▶ sent ──(DSN, tracking)──▶ bounced
deferred ─(due)─▶            ├─▶ deferred (4xx, gate defer; retried with backoff)
unknown ─(due)──▶            └─▶ failed (5xx, gate deny, too many retries)
sending ──(sender died)──▶ unknown (resent, and flagged `resent_after_crash`)
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from peyvand.base.db import datetime_adapter, execute_many
from peyvand.contacts.timeline import append_events
from peyvand.messaging import journal
from peyvand.messaging.models import OutboxMessage

log = logging.getLogger("peyvand.messaging")
S = OutboxMessage.State

RETRY_BASE = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8


def retry_at(attempts: int, now: dt.datetime | None = None) -> dt.datetime:
    """Exponential backoff: 1, 2, 4 … minutes after the n-th failed attempt, at most 6 h."""
    delay = min(RETRY_BASE * (2 ** max(0, attempts - 1)), RETRY_MAX)
    return (now or timezone.now()) + delay


# Not over yet: a message in one of these states may still leave.
WAITING_STATES = (S.QUEUED, S.SENDING, S.DEFERRED, S.UNKNOWN)
# Claimed in this order: rows a crash left unknown, then retries that are due, then new ones.
_DUE_STATES = (S.UNKNOWN, S.DEFERRED, S.QUEUED)


def _due_by(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def due_filter(now: dt.datetime) -> Q:
    return Q(state__in=_DUE_STATES) & _due_by(now)


def claim(worker: str, limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this worker; they become `sending`.

    One query per due state, each a range of the (state, next_attempt_at, id) index read in
    its order, so a claim costs the same however many rows were sent before (ordering the
    whole queue by id made SQLite scan past every sent row at each claim).
    PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never take the same row. SQLite: the
    transaction is IMMEDIATE (settings), so the selects and the update run under the write
    lock and two senders never take the same row either.
    The SQL is written out (the same the ORM would make, see test_outbox): a sender claims
    every 100 messages, and building these queries cost more than running them."""
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    select, update = _claim_sql(connection.vendor)
    rows: list[OutboxMessage] = []
    with transaction.atomic():
        for state in _DUE_STATES:
            # The rows are locked (FOR UPDATE, or SQLite's IMMEDIATE write lock) until the
            # update commits, so the claimed values can be set on them here: no second read.
            rows += OutboxMessage.objects.raw(select, [state, at, limit - len(rows)])
            if len(rows) >= limit:
                break
        if not rows:
            return []
        ids = [r.pk for r in rows]
        with connection.cursor() as cursor:
            cursor.execute(f"{update}({', '.join(['%s'] * len(ids))})",
                           [S.SENDING, worker, at, *ids])
    for row in rows:
        row.state, row.claimed_by, row.claimed_at = S.SENDING, worker, now
        row.attempts += 1
    return rows


@functools.cache
def _claim_sql(vendor: str) -> tuple[str, str]:
    """(select the due rows of a state, mark rows claimed: ids follow) for this database."""
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    select = (f"SELECT * FROM {table} WHERE state = %s"
              " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
              " ORDER BY next_attempt_at, id LIMIT %s")
    if vendor == "postgresql":
        select += " FOR UPDATE SKIP LOCKED"
    update = (f"UPDATE {table} SET state = %s, claimed_by = %s, claimed_at = %s,"
              " attempts = attempts + 1 WHERE id IN ")
    return select, update


def recover(worker: str, is_dead) -> int:
    """Rows left in `sending` by senders that died. Those their sent journal says the server
    accepted are sent; the fate of the rest is unknown, so they become `unknown`, due now,
    and are sent again with `resent_after_crash` set. Returns how many are resent."""
    owners = set(OutboxMessage.objects.filter(state=S.SENDING).exclude(claimed_by=worker)
                 .values_list("claimed_by", flat=True).distinct())
    dead = [owner for owner in owners if is_dead(owner)]
    if not dead:
        return 0
    now = timezone.now()
    with transaction.atomic():
        accepted: list[OutboxMessage] = []
        for owner in dead:
            ids = journal.accepted_by(owner)
            for start in range(0, len(ids), 500):
                accepted += OutboxMessage.objects.filter(
                    id__in=ids[start:start + 500], state=S.SENDING, claimed_by=owner)
        for row in accepted:
            row.state, row.sent_at = S.SENT, now
            row.smtp_reply = row.smtp_reply or "accepted (recorded from the sent journal)"
        finish(accepted)
        count = OutboxMessage.objects.filter(state=S.SENDING, claimed_by__in=dead).update(
            state=S.UNKNOWN, resent_after_crash=True, next_attempt_at=now)
    for owner in dead:
        journal.forget(owner)
    if accepted:
        log.warning("%d messages a stopped sender had sent are recorded from its journal",
                    len(accepted))
    if count:
        log.warning("%d messages were in flight; they are resent and flagged", count)
    return count


_EVENT: dict[str, str] = {S.SENT: "message.sent", S.DEFERRED: "message.deferred",
                          S.FAILED: "message.failed", S.BOUNCED: "message.bounced"}
FIELDS = ["state", "attempts", "sent_at", "next_attempt_at", "smtp_code", "smtp_reply",
          "gate_verdict", "gate_reason", "gate_text", "message_id", "merge_data",
          "content_digest"]


def _update(rows: list[OutboxMessage]) -> None:
    # executemany of one UPDATE: bulk_update's CASE WHEN costs more to compile than to run.
    # In finish's transaction (execute_many runs on the driver's connection).
    ops = connection.ops
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    sets = ", ".join(f"{ops.quote_name(f)} = %s" for f in FIELDS)
    adapt = datetime_adapter()
    params = [[adapt(getattr(row, f)) if f.endswith("_at") else getattr(row, f)
               for f in FIELDS] + [row.pk] for row in rows]
    execute_many(f"UPDATE {table} SET {sets} WHERE id = %s", params)


def finish(rows: Iterable[OutboxMessage]) -> None:
    """Write rows whose fields the sender set (state and why), with their timeline events,
    in one transaction: one commit for a whole group of sent messages."""
    rows = list(rows)
    if not rows:
        return
    now = timezone.now()
    events = []
    for row in rows:
        kind = _EVENT.get(row.state)
        if kind is None or (row.state == S.DEFERRED and row.gate_verdict == "defer"
                            and row.attempts > 1):
            continue  # a message waiting out a cap again is not news
        data = {"outbox": row.pk, "source": row.source, "channel": row.channel}
        if row.subject and row.channel == "email":
            data["subject"] = row.subject[:300]
        if row.state != S.SENT:
            data["reason"] = row.smtp_reply or row.gate_reason
        events.append((row.contact_id, kind, row.sent_at or now, data))
    with transaction.atomic():
        _update(rows)
        append_events(events)  # one INSERT per group instead of one per message


def move_outbox_rows(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: the merged contact's messages count for the survivor (caps,
    history). Where both got the same message, the survivor's row stays; unsent duplicates
    of it are dropped so the person does not get it twice."""
    mine = set(OutboxMessage.objects.filter(contact_id=survivor_id)
               .values_list("source", "channel"))
    theirs = OutboxMessage.objects.filter(contact_id=merged_id)
    clash = [pk for pk, source, channel in theirs.values_list("pk", "source", "channel")
             if (source, channel) in mine]
    OutboxMessage.objects.filter(pk__in=clash).delete()
    theirs.exclude(pk__in=clash).update(contact_id=survivor_id)


def record_bounce(message_id: int, reply: str = "", *, hard: bool = True) -> bool:
    """For tracking's DSN handling: the message with this outbox id bounced. Only the row
    changes; tracking writes the timeline event and tells consent (suppression)."""
    changes: dict = {"smtp_reply": reply[:500]} if reply else {}
    if hard:
        changes["state"] = S.BOUNCED
    if not changes:
        return OutboxMessage.objects.filter(pk=message_id).exists()
    return OutboxMessage.objects.filter(pk=message_id).update(**changes) == 1


def counts_by_state(qs) -> dict[str, int]:
    found = dict(qs.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {state: found.get(state, 0) for state in S.values}
