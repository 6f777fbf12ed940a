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
write), `sender_build` (gate and build a chunk), `sender_loop` (the connections' thread and
the claim-build-record loop), `sender_helpers` (helper processes and their counts).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from typing import IO

from django.utils import timezone

from peyvand.base.db import ensure_planner_statistics
from peyvand.messaging import outbox
from peyvand.messaging.content import Prepared
from peyvand.messaging.dkim import signer_from_settings
from peyvand.messaging.mime import MimeTemplate
from peyvand.messaging.sender_build import Job, MessageBuilder, S
from peyvand.messaging.sender_helpers import Helper, Stats, helpers_wanted, start_helper
from peyvand.messaging.sender_loop import SendingRound
from peyvand.messaging.sender_slots import SenderBusy, SenderSlot
from peyvand.messaging.smtp import DEFERRED, SENT, Outcome, smtp_config
from peyvand.serving import sender_processes

__all__ = ["Job", "Sender", "SenderBusy", "Stats", "run_sender", "send_all"]


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
