"""One run of the sender's loop: an asyncio loop in a second thread runs the SMTP
connections; the calling thread claims rows, builds them, hands them over and records the
results that come back (see sender.py for why a connection waits on its last result)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import TYPE_CHECKING

from peyvand.messaging import outbox
from peyvand.messaging.journal import SentJournal
from peyvand.messaging.sender_build import Job
from peyvand.messaging.smtp import SENT, Connection, Limits

if TYPE_CHECKING:
    from peyvand.messaging.sender import Sender

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
