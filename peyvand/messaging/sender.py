"""The sender: claims outbox rows, asks the OutboundGate, builds MIME and sends over a pool of
SMTP connections.

Threads: the calling thread does all database work (one writer, which SQLite wants anyway);
an asyncio loop in a second thread runs the N SMTP connections. A connection hands its result
back and ends its next message (sends the final dot, when the server accepts it) only once that
result is committed; it sends the rest of the next message meanwhile. So at any moment at most
one accepted-but-unrecorded message exists per connection: after a SIGKILL, resending the rows
found in `sending` duplicates at most `connections` messages.

Processes: one sender uses one core (the GIL), so a big backlog is shared by up to
`serving.sender_processes()` sender processes, each claiming its own rows (SKIP LOCKED on
PostgreSQL; on SQLite every claim is one IMMEDIATE transaction, so two never take the same
row) and holding its own slot: a PostgreSQL advisory lock, or on SQLite a lock file naming the
holder. The pool's SMTP connections are split between them, so after a crash the resent
messages are still at most `connections`.

The sender is split by what it does: `sender_slots` (who else is alive, whose turn it is to
write), `sender_build` (gate and build a chunk), `sender_helpers` (helper processes and their
counts); the connections' thread and the claim-build-record loop (`SendingRound`) are here.
"""

from __future__ import annotations

import asyncio
import os
import queue
import secrets
import socket
import threading
import time
from typing import IO

from django.utils import timezone

from peyvand.base.db import ensure_planner_statistics
from peyvand.messaging import outbox
from peyvand.messaging.content import Prepared
from peyvand.messaging.dkim import signer_from_settings
from peyvand.messaging.journal import SentJournal
from peyvand.messaging.mime import MimeTemplate
from peyvand.messaging.sender_build import Job, MessageBuilder, S
from peyvand.messaging.sender_helpers import Helper, Stats, helpers_wanted, start_helper
from peyvand.messaging.sender_slots import SenderBusy, SenderSlot
from peyvand.messaging.smtp import DEFERRED, SENT, Connection, Limits, Outcome, smtp_config
from peyvand.serving import sender_processes

__all__ = ["Job", "Sender", "SenderBusy", "Stats", "run_sender", "send_all"]


# Results in the sent journal (SQLite) are written to the outbox this many at a time.
RECORD_GROUP = 50


class SendingRound:
    def __init__(self, sender: Sender, *, until_empty: bool, max_seconds: float | None,
                 poll: float, started: float):
        self.sender = sender
        self.until_empty, self.max_seconds, self.poll, self.started = (
            until_empty, max_seconds, poll, started)
        self.results: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.jobs: asyncio.Queue = asyncio.Queue()
        self.limits = Limits(sender.config.rate, sender.config.domain_rate)
        # SQLite: accepted messages are recorded in the sent journal first (see journal.py).
        self.sent = SentJournal(sender.worker) if sender._write_lock is not None else None
        self.in_flight = 0  # handed to the connections, result not back yet
        self.exhausted = False

    # --- the connections' thread ---------------------------------------------------------
    async def _connection(self) -> None:
        conn = Connection(self.sender.config)
        # Until the last message this connection sent is recorded (in the journal, else
        # committed), the next goes up to its final dot and waits there: it is ended, so
        # accepted by the server, only then. At any moment at most one accepted-but-
        # unrecorded message per connection, and the wait is hidden.
        committed: asyncio.Future | None = None
        try:
            while True:
                job = await self.jobs.get()
                if job is None:
                    return
                await self.limits.take(job.rcpt.rpartition("@")[2].lower())
                outcome = await conn.stage(job.envelope_from, job.rcpt, job.data,
                                           job.eight_bit, canonical=True)
                if outcome is None:  # staged: all but the final dot
                    if committed is not None:
                        await committed
                    outcome = await conn.complete()
                if conn.session is not None:
                    self.sender._eight_bit = conn.session.eight_bit
                if self.sent is not None and (outcome.kind != SENT
                                              or self.sent.add(job.row.pk)):
                    committed = None  # nothing the server accepted is unrecorded
                else:
                    committed = self.loop.create_future()
                self.results.put((job, outcome, committed))
        finally:
            await conn.close()

    async def _connections(self) -> None:
        await asyncio.gather(*(self._connection() for _ in range(self.sender.connections)))

    # --- the calling thread ----------------------------------------------------------------
    def drain(self, block: bool = False) -> None:
        """Take the results that came back (waiting up to 0.5 s for one if `block`) and
        record them, which lets connections waiting on them go on. Results in the
        journal wait for a group of RECORD_GROUP (fewer commits), unless `block`. Unless
        blocking, only when this sender can write at once: while another has the turn,
        building on is better than waiting."""
        sender = self.sender
        got = sender._unrecorded
        before = len(got)
        try:
            got.append(self.results.get(timeout=0.5) if block and not got
                       else self.results.get_nowait())
            while True:
                got.append(self.results.get_nowait())
        except queue.Empty:
            pass
        self.in_flight -= len(got) - before  # back from the connections
        waited_on = [fut for _j, _o, fut in got if fut is not None]
        if not got or not (block or waited_on or len(got) >= RECORD_GROUP):
            return
        if sender.record([(job, outcome) for job, outcome, _f in got], wait=block):
            if waited_on:
                self.loop.call_soon_threadsafe(_release_all, waited_on)
            sender._unrecorded = []
            sender._record_due = False
        else:
            sender._record_due = True  # try again after the next message built

    def hand_over(self, ready: list[Job]) -> None:
        if ready:  # one wake-up of the loop per group, not per message
            self.loop.call_soon_threadsafe(_put_all, self.jobs, ready)
            self.in_flight += len(ready)
            self.drain()

    def run(self) -> None:
        thread = threading.Thread(target=lambda: self.loop.run_until_complete(
            self._connections()), name="peyvand-smtp", daemon=True)
        thread.start()
        try:
            self._feed()
            if self.sent is not None:
                self.sent.remove()  # everything it held is in the outbox now
        except BaseException:
            # Connections may be waiting for a commit that will not come: stop them.
            self.loop.call_soon_threadsafe(
                lambda: [t.cancel() for t in asyncio.all_tasks(self.loop)])
            raise
        finally:
            for _ in range(self.sender.connections):
                self.loop.call_soon_threadsafe(self.jobs.put_nowait, None)
            thread.join(timeout=30)
            if not thread.is_alive():
                self.loop.close()
            if self.sent is not None:
                self.sent.close()  # kept, unless removed above: the next sender recovers from it

    def _feed(self) -> None:
        """Claim, build and hand over until nothing is due (or the time is up), recording
        what comes back."""
        sender = self.sender
        low_water = sender.connections * 2
        last_recover = time.monotonic()
        while True:
            timed_out = (self.max_seconds is not None
                         and time.monotonic() - self.started > self.max_seconds)
            block = self.in_flight > 0
            # Claim and build the next chunk when the connections run short, not before:
            # rows claimed ahead would be flagged as in flight after a crash. A chunk costs
            # a fixed number of queries, so bigger chunks are cheaper per message, and the
            # connections keep sending what was built while the next one is made.
            if self.in_flight < low_water and not self.exhausted and not timed_out:
                with sender._turn():
                    rows = outbox.claim(sender.worker, sender.batch)
                sender.stats.claimed += len(rows)
                if rows:
                    # No transaction around building: on SQLite it would hold the write
                    # lock (IMMEDIATE) while this process builds, stalling other senders.
                    self.hand_over(sender._prepare(rows, self.hand_over))
                    block = False
                elif self.until_empty:
                    self.exhausted = True
                elif self.in_flight == 0:
                    if sender._unrecorded:
                        self.drain(True)
                    time.sleep(self.poll)
                    if time.monotonic() - last_recover > 30:
                        outbox.recover(sender.worker, sender._is_dead)
                        last_recover = time.monotonic()
                    continue
            # Connections idle: nothing to wait for, write what the journal holds.
            self.drain(block or (self.in_flight == 0 and bool(sender._unrecorded)))
            if (self.exhausted or timed_out) and self.in_flight == 0 \
                    and not sender._unrecorded:
                return


def _put_all(jobs: asyncio.Queue, items: list[Job]) -> None:
    for item in items:
        jobs.put_nowait(item)


def _release_all(futures: list[asyncio.Future]) -> None:
    for fut in futures:
        if not fut.done():
            fut.set_result(None)


class Sender(SenderSlot, MessageBuilder):
    def __init__(self, *, connections: int | None = None, batch: int = 100, config=None,
                 worker: str | None = None):
        self.config = config or smtp_config()
        self.connections = connections or self.config.connections or 10
        self.batch = batch
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stats = Stats()
        self._lockfile: IO[str] | None = None
        self._write_lock: IO[str] | None = None
        self._prepared: dict[int, Prepared] = {}
        self._mime: dict[int, MimeTemplate] = {}
        self._written_mime: MimeTemplate | None = None
        # Whether the server took 8-bit bodies when a connection last spoke to it; messages
        # are built to match (base64 until a first session has said so).
        self._eight_bit = False
        self._dkim = signer_from_settings()  # None unless PEYVAND_DKIM_KEY_FILE is set
        # Results back from the connections, not yet written (see SendingRound.drain), and
        # whether writing them is overdue (another sender had the turn).
        self._unrecorded: list[tuple[Job, Outcome, asyncio.Future | None]] = []
        self._record_due = False

    # --- recording results ---------------------------------------------------------------
    def record(self, results: list[tuple[Job, Outcome]], *, wait: bool = True) -> bool:
        """Write the results in one transaction. wait=False: only if this sender can write
        now (False, nothing written, when another sender has the turn)."""
        with self._turn(wait) as mine:
            if not mine:
                return False
            now = timezone.now()
            rows = []
            for job, outcome in results:
                row = job.row
                row.smtp_code, row.smtp_reply = outcome.code, outcome.reply
                if outcome.kind == SENT:
                    row.state, row.sent_at = S.SENT, now
                elif outcome.kind == DEFERRED and row.attempts < outbox.MAX_ATTEMPTS:
                    row.state, row.next_attempt_at = S.DEFERRED, outbox.retry_at(row.attempts,
                                                                                  now)
                else:
                    row.state = S.FAILED
                self._count(row.state)
                rows.append(row)
            outbox.finish(rows)
        return True

    # --- the loop ----------------------------------------------------------------------------
    def run(self, *, until_empty: bool = True, max_seconds: float | None = None,
            poll: float = 2.0, acquired: bool = False) -> Stats:
        """Send due messages. until_empty: return when nothing is due; else keep polling
        (for `max_seconds` when given). acquired: the caller already took a slot."""
        started = time.monotonic()
        if not acquired:
            self._acquire()
        try:
            ensure_planner_statistics()  # a fresh SQLite file would scan the consent table
            self.stats.recovered = outbox.recover(self.worker, self._is_dead)
            SendingRound(self, until_empty=until_empty, max_seconds=max_seconds, poll=poll,
                         started=started).run()
        finally:
            self._release()
        self.stats.seconds = time.monotonic() - started
        return self.stats


def send_all(*, connections: int | None = None, batch: int = 100,
             processes: int | None = None, until_empty: bool = True,
             max_seconds: float | None = None) -> Stats:
    """Send what is due with up to `processes` sender processes (default: one per CPU, as
    the backlog warrants): this one and helpers, forked from it when that is safe (see
    sender_helpers.can_fork), else started as `peyvand.messaging.worker`, which inherit this
    process's environment (PEYVAND_HOME, DATABASE_URL). The pool's connections are divided
    between them. Returns the sum of their stats; raises SenderBusy when no slot is free."""
    config = smtp_config()
    total = connections or config.connections or 10
    wanted = processes or sender_processes()
    helpers = helpers_wanted(wanted) if until_empty else 0
    share = max(1, total // (helpers + 1))
    sender = Sender(connections=share, batch=batch, config=config)
    sender._acquire()  # before starting helpers, so a busy instance starts nothing
    started: list[Helper] = []
    held = [f for f in (sender._lockfile, sender._write_lock) if f is not None]
    try:
        for _ in range(helpers):
            started.append(start_helper(share, batch, held, send_all))
    except BaseException:
        sender._release()
        raise
    try:
        stats = sender.run(until_empty=until_empty, max_seconds=max_seconds, acquired=True)
    finally:
        outs = [helper.result() for helper in started]
    for out in outs:
        stats.add_line(out)
    stats.extra["processes"] = helpers + 1
    return stats


def run_sender(**kwargs) -> Stats | None:
    """Run the senders until nothing is due; None when every slot is taken."""
    try:
        return send_all(**{k: v for k, v in kwargs.items()
                           if k in ("connections", "batch", "processes", "until_empty",
                                    "max_seconds")})
    except SenderBusy:
        return None
