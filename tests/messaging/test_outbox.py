"""outbox.claim: its written-out SQL takes the rows the ORM query would, in the same order,
and gives the same values."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from peyvand.messaging import outbox
from peyvand.messaging.models import OutboxMessage

S = OutboxMessage.State


@pytest.fixture
def rows(make_contact):
    """40 rows in every state, some due and some not, in a shuffled order of ids."""
    contact = make_contact("claim@example.com")
    now = timezone.now()
    rng = random.Random(5)
    made = []
    for i in range(40):
        state = rng.choice([S.QUEUED, S.QUEUED, S.DEFERRED, S.UNKNOWN, S.SENT, S.SENDING])
        when = rng.choice([None, now - dt.timedelta(minutes=rng.randint(1, 90)),
                           now + dt.timedelta(minutes=5)])
        made.append(OutboxMessage(source=f"s{i}", contact=contact, channel="email",
                                  to_address="claim@example.com", state=state,
                                  next_attempt_at=when, attempts=rng.randint(0, 3),
                                  resent_after_crash=state == S.UNKNOWN))
    OutboxMessage.objects.bulk_create(made)
    return now


def _orm_order(now, limit):
    """What claim took when it was written with the ORM."""
    found: list[OutboxMessage] = []
    for state in (S.UNKNOWN, S.DEFERRED, S.QUEUED):
        found += OutboxMessage.objects.filter(outbox._due_by(now), state=state).order_by(
            "next_attempt_at", "id")[:limit - len(found)]
    return found


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_claim_takes_what_the_orm_query_would(rows, limit):
    expected = _orm_order(timezone.now(), limit)
    before = {r.pk: r for r in OutboxMessage.objects.all()}
    claimed = outbox.claim("host:1:me", limit)
    assert [r.pk for r in claimed] == [r.pk for r in expected]
    assert claimed, "the fixture has due rows"
    for row in claimed:
        stored = OutboxMessage.objects.get(pk=row.pk)
        assert (stored.state, stored.claimed_by) == (S.SENDING, "host:1:me")
        assert stored.attempts == before[row.pk].attempts + 1
        for field in OutboxMessage._meta.concrete_fields:  # same values as read back
            mine, theirs = getattr(row, field.attname), getattr(stored, field.attname)
            assert mine == theirs, field.name
            if field.name not in ("state", "claimed_by", "claimed_at", "attempts"):
                assert type(mine) is type(theirs), field.name  # as the database gave them
    # nothing else changed
    rest = OutboxMessage.objects.exclude(pk__in=[r.pk for r in claimed])
    assert all(r.state == before[r.pk].state for r in rest)


def test_claim_skips_what_is_not_due(rows):
    taken = outbox.claim("host:1:me", 1000)
    now = timezone.now()
    assert all(r.next_attempt_at is None or r.next_attempt_at <= now for r in taken)
    assert not OutboxMessage.objects.filter(outbox.due_filter(now)).exists()
    assert outbox.claim("host:1:me", 10) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_sqlite_claims_read_the_due_index_in_order(rows):
    select, _update = outbox._claim_sql("sqlite")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("EXPLAIN QUERY PLAN " + select.replace("%s", "?"),
                       ["queued", "2030-01-01 00:00:00", 100])
        plan = " ".join(str(r[-1]) for r in cursor.fetchall())
    assert "USING INDEX outbox_due" in plan and "TEMP B-TREE" not in plan, plan


def test_finish_writes_rows_and_events_together_or_not_at_all(rows, monkeypatch):
    from peyvand.contacts.models import TimelineEvent

    (row,) = outbox.claim("host:1:me", 1)
    row.state, row.sent_at, row.smtp_code = S.SENT, timezone.now(), 250

    def broken(events):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "append_events", broken)
    with pytest.raises(RuntimeError):
        outbox.finish([row])
    # the update ran on the driver's connection, in finish's transaction: rolled back too
    assert OutboxMessage.objects.get(pk=row.pk).state == S.SENDING
    monkeypatch.undo()
    events = TimelineEvent.objects.filter(kind="message.sent").count()
    outbox.finish([row])
    assert OutboxMessage.objects.get(pk=row.pk).state == S.SENT
    assert TimelineEvent.objects.filter(kind="message.sent").count() == events + 1
