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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import logging
import os
import queue
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.db import connections as databases
from django.utils import timezone
from jinja2 import TemplateError

from peyvand.base.db import ensure_planner_statistics
from peyvand.messaging import consent_port, gate, outbox
from peyvand.messaging.channels import sms
from peyvand.messaging.content import Prepared, prepare
from peyvand.messaging.dkim import signer_from_settings
from peyvand.messaging.journal import SentJournal
from peyvand.messaging.mime import MimeTemplate
from peyvand.messaging.models import ContentSnapshot, OutboxMessage
from peyvand.messaging.smtp import DEFERRED, SENT, Connection, Limits, Outcome, smtp_config
from peyvand.messaging.strategy import active_rules
from peyvand.messaging.templates_engine import TemplateInvalid, contexts_for
from peyvand.messaging.tracker import tracker
from peyvand.serving import sender_processes

log = logging.getLogger("peyvand.messaging")
S = OutboxMessage.State


class SenderBusy(Exception):
    """Every sender slot is taken (at most `sender_processes()` senders run at once)."""


# Below this many due messages one process sends alone: a second one costs up to ~1.3 s of
# CPU to start (a new Python, when it cannot be forked) and a share of the connections.
SPAWN_AT = 1000
# While a chunk is built, its messages go to the connections this many at a time, and the
# results that came back meanwhile are recorded: a connection waits for its result to be on
# disk, so recording only between chunks would leave them idle during each build.
HAND_OVER = 10
# Results in the sent journal (SQLite) are written to the outbox this many at a time.
RECORD_GROUP = 50


@dataclass
class Job:
    row: OutboxMessage
    envelope_from: str
    rcpt: str
    data: bytes  # built by mime.MimeTemplate: every line ends in CRLF (canonical)
    eight_bit: bool = False  # built with 8-bit bodies: sent with BODY=8BITMIME


@dataclass
class Stats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    recovered: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    _COUNTS = ("sent", "deferred", "failed", "recovered")

    def line(self) -> str:
        """The one line a worker process prints at the end (helpers report through it)."""
        counts = " ".join(f"{key}={getattr(self, key)}" for key in self._COUNTS)
        return (f"{counts} processes={self.extra.get('processes', 1)} "
                f"seconds={self.seconds:.1f}")

    def add_line(self, out: str) -> None:
        """Add the counts of another worker's `line()` found in its output."""
        for key in self._COUNTS:
            found = re.search(rf"\b{key}=(\d+)", out)
            if found:
                setattr(self, key, getattr(self, key) + int(found.group(1)))


def _lock_key(worker: str) -> int:
    return int.from_bytes(hashlib.sha1(worker.encode()).digest()[:8], "big", signed=True)


def _holds_a_slot(worker: str) -> bool:
    """SQLite: is `worker` the live holder of a sender slot? A slot file is locked by its
    holder for the holder's life and names it; a free or re-taken slot means it is gone."""
    for path in (settings.HOME / "senders").glob("slot-*.lock"):
        with open(path) as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: by whom?
                if probe.read() == worker:
                    return True
            else:
                fcntl.flock(probe, fcntl.LOCK_UN)
    return False


class Sender:
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
        # Results back from the connections, not yet written (see _loop's drain), and
        # whether writing them is overdue (another sender had the turn).
        self._unrecorded: list[tuple[Job, Outcome, asyncio.Future | None]] = []
        self._record_due = False

    # --- who else is alive ------------------------------------------------------------------
    def _acquire(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:  # held by this session for the sender's life
                cur.execute("SELECT pg_advisory_lock(%s)", [_lock_key(self.worker)])
            return
        folder = settings.HOME / "senders"
        folder.mkdir(exist_ok=True)
        for slot in range(sender_processes()):
            lockfile = open(folder / f"slot-{slot}.lock", "a+")  # noqa: SIM115 (held open)
            try:
                fcntl.flock(lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lockfile.close()
                continue
            lockfile.seek(0)
            lockfile.truncate()
            lockfile.write(self.worker)
            lockfile.flush()
            self._lockfile = lockfile
            self._write_lock = open(folder / "write.lock", "a")  # noqa: SIM115 (held open)
            return
        raise SenderBusy

    @contextmanager
    def _turn(self, wait: bool = True) -> Iterator[bool]:
        """SQLite: senders take turns writing on a file lock. SQLite would make a second
        writer sleep 1-100 ms between tries; a file lock wakes it as soon as it is free.
        Yields whether the turn was taken: with wait=False, False when another has it."""
        if self._write_lock is None:  # PostgreSQL: row locks, no waiting for a turn
            yield True
            return
        try:
            fcntl.flock(self._write_lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(self._write_lock, fcntl.LOCK_UN)

    def _release(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(self.worker)])
            return
        if self._lockfile is not None:
            fcntl.flock(self._lockfile, fcntl.LOCK_UN)
            self._lockfile.close()
            self._lockfile = None
        if self._write_lock is not None:
            self._write_lock.close()
            self._write_lock = None

    def _is_dead(self, worker: str) -> bool:
        if connection.vendor != "postgresql":
            return not _holds_a_slot(worker)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(worker)])
            got = cur.fetchone()[0]
            if got:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(worker)])
        return bool(got)

    # --- preparing messages --------------------------------------------------------------
    def _content(self, snapshot_id: int | None) -> tuple[Prepared, MimeTemplate]:
        """The frozen words a row is rendered from (never the live template: what was
        approved is what is sent), compiled once per sender."""
        if snapshot_id is None:
            raise ContentSnapshot.DoesNotExist("no frozen content")
        if snapshot_id not in self._prepared:
            self._prepared[snapshot_id] = prepare(ContentSnapshot.objects.get(pk=snapshot_id))
            self._mime[snapshot_id] = MimeTemplate(
                from_name=self.config.from_name, from_address=self.config.from_address,
                domain=self.config.domain)
        return self._prepared[snapshot_id], self._mime[snapshot_id]

    def _prepare(self, rows: list[OutboxMessage],
                 hand_over: Callable[[list[Job]], None] | None = None) -> list[Job]:
        """Gate and build a chunk of claimed rows. `hand_over(jobs)`, when given, takes the
        built jobs every HAND_OVER messages (the rest are returned), so the connections are
        fed, and their results recorded, while the chunk is still being built."""
        now = timezone.now()
        rules = active_rules()
        ids = sorted({r.contact_id for r in rows})
        contexts = contexts_for(ids, links=False)
        # What the gate needs, loaded for the whole batch: consent, and the sending history
        # the caps look at.
        consent = gate.consent_for_rows(rows)
        limited = any(r.kind != "quiet" for r in rules)
        histories = gate.sent_histories(ids, rules, now) if limited else {}
        done: list[OutboxMessage] = []
        allowed: list[OutboxMessage] = []
        # Contacts with a message allowed in this chunk or still unrecorded from an earlier
        # one (any sender): their next message waits a minute (see below).
        passed: set[int] = gate.contacts_in_flight(rows) if limited else set()
        texts: dict[str, str] = {}
        for row in rows:
            ctx = contexts.get(row.contact_id, {})
            if limited and row.contact_id in passed \
                    and row.message_class not in gate.EXEMPT_CLASSES:
                # Caps count recorded sends; one allowed a moment ago is not recorded yet.
                decision = gate.GateDecision(gate.DEFER, "in_flight",
                                             until=now + dt.timedelta(minutes=1))
            else:
                decision = gate.check_outbound(
                    row.contact_id, row.channel, topic=row.topic,
                    message_class=row.message_class, content_type=row.content_type, at=now,
                    rules=rules, zone_name=ctx.get("timezone", ""),
                    consent=consent[row.pk],
                    history=histories.get(row.contact_id, []))
            if decision.allowed:
                passed.add(row.contact_id)
            row.gate_verdict, row.gate_reason = decision.verdict, decision.reason
            if decision.reason not in texts:  # a translation looked up once per reason
                texts[decision.reason] = decision.text[:300]
            row.gate_text = texts[decision.reason]
            if decision.verdict == gate.DENY:
                row.state = S.FAILED
                done.append(row)
            elif decision.verdict == gate.DEFER:
                row.state, row.next_attempt_at = S.DEFERRED, decision.until
                row.attempts -= 1  # waiting out a rule is not a failed attempt
                done.append(row)
            else:
                allowed.append(row)
        jobs: list[Job] = []
        links_by_source = self._links(allowed)
        for row in allowed:
            ctx = contexts.get(row.contact_id, {})
            written = bool(row.body_text or row.body_html)  # by Peyvand: no template, no links
            links = None
            try:
                if written:
                    mime = self._system_mime()
                    subject, html, text = row.subject, row.body_html, row.body_text
                else:
                    prepared, mime = self._content(row.snapshot_id)
                    links = links_by_source.get(row.source, {}).get(row.contact_id)
                    if links:
                        ctx = {**ctx, "preferences_url": links["preferences"],
                               "unsubscribe_url": links["unsubscribe"]}
                    elif prepared.footer:  # marketing e-mail never goes without the link
                        raise ValueError("no unsubscribe link")
                    subject, html, text = prepared.render(ctx)
                    row.merge_data, row.content_digest = prepared.record(ctx)
            except (TemplateInvalid, TemplateError, ContentSnapshot.DoesNotExist, ValueError,
                    TypeError, ArithmeticError) as exc:  # the template's fault, not the sender's
                row.state, row.smtp_reply = S.FAILED, f"template: {exc}"[:500]
                done.append(row)
                continue
            if row.channel == "sms":
                self._send_sms(row, text, now)
                done.append(row)
                continue
            if not row.to_address.isascii():
                row.state, row.smtp_reply = S.FAILED, "address needs SMTPUTF8"
                done.append(row)
                continue
            # Written messages (confirmations) are not tracked: the person has not agreed yet.
            if html and not written:
                html = tracker().rewrite_links(html, row.pk, contact_id=row.contact_id)
                pixel = tracker().open_pixel_url(row.pk, contact_id=row.contact_id)
                if pixel:
                    img = f'<img src="{pixel}" width="1" height="1" alt="">'
                    html = html.replace("</body>", img + "</body>", 1) if "</body>" in html \
                        else html + img
            row.message_id = mime.message_id(row.pk)
            eight_bit = self._eight_bit
            unsubscribe = None if row.message_class == "transactional" or not links else [
                f"<{links['one_click']}>"]
            data = mime.build(to_name=ctx.get("display_name", ""), to_address=row.to_address,
                              subject=subject, text=text, html=html,
                              message_id=row.message_id, unsubscribe=unsubscribe,
                              eight_bit=eight_bit)
            if self._dkim is not None:
                data = self._dkim.sign(data)
            envelope = (tracker().bounce_address(row.pk, contact_id=row.contact_id)
                        or self.config.from_address)
            jobs.append(Job(row, envelope, row.to_address, data, eight_bit))
            # Results due to be recorded while another sender was writing are tried again
            # after each message built, not only after the next HAND_OVER.
            if hand_over is not None and (len(jobs) >= HAND_OVER or self._record_due):
                hand_over(jobs)
                jobs = []
        if done:
            with self._turn():
                outbox.finish(done)
        for row in done:
            self._count(row.state)
        return jobs

    def _links(self, rows: list[OutboxMessage]) -> dict[str, dict[int, dict[str, str]]]:
        """Consent links (preferences, unsubscribe, one-click) of the rows that carry them,
        per source (the campaign the unsubscribe is counted against), a query per source."""
        wanted: dict[str, list[int]] = {}
        for row in rows:
            if row.body_text or row.body_html or row.snapshot_id is None:
                continue
            try:
                content = self._content(row.snapshot_id)[0].content
            except (TemplateInvalid, TemplateError, ContentSnapshot.DoesNotExist):
                continue  # the row fails when it is built
            if content.carries_consent_links(row.message_class):
                wanted.setdefault(row.source, []).append(row.contact_id)
        return {source: consent_port.links_for_many(ids, campaign=source)
                for source, ids in wanted.items()}

    def _system_mime(self) -> MimeTemplate:
        if self._written_mime is None:
            self._written_mime = MimeTemplate(
                from_name=self.config.from_name, from_address=self.config.from_address,
                domain=self.config.domain)
        return self._written_mime

    def _send_sms(self, row: OutboxMessage, text: str, now) -> None:
        """Through the SMS channel's gateway (catcher, Kavenegar, SMS.ir); a refusal is retried
        like an SMTP 4xx until the attempts run out."""
        accepted, reply = False, ""
        try:
            sent = sms.deliver(row.to_address, text, marketing=row.message_class == "marketing")
        except sms.SmsError as exc:
            reply = f"gateway: {exc}"
        except ValueError as exc:  # the number does not normalise
            reply = f"address: {exc}"
        else:
            tracker().sms_sent(sent, contact_id=row.contact_id, message_id=row.pk)
            accepted, reply = True, f"{sent.gateway} {sent.provider_id}"
        row.smtp_reply = reply[:500]
        if accepted:
            row.state, row.sent_at = S.SENT, now
        elif reply.startswith("gateway:") and row.attempts < outbox.MAX_ATTEMPTS:
            row.state, row.next_attempt_at = S.DEFERRED, outbox.retry_at(row.attempts, now)
        else:
            row.state = S.FAILED

    def _count(self, state: str) -> None:
        if state == S.SENT:
            self.stats.sent += 1
        elif state == S.DEFERRED:
            self.stats.deferred += 1
        elif state == S.FAILED:
            self.stats.failed += 1

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
            self._loop(until_empty, max_seconds, poll, started)
        finally:
            self._release()
        self.stats.seconds = time.monotonic() - started
        return self.stats

    def _loop(self, until_empty, max_seconds, poll, started) -> None:
        results: queue.Queue = queue.Queue()
        loop = asyncio.new_event_loop()
        jobs: asyncio.Queue = asyncio.Queue()
        limits = Limits(self.config.rate, self.config.domain_rate)
        # SQLite: accepted messages are recorded in the sent journal first (see journal.py).
        sent = SentJournal(self.worker) if self._write_lock is not None else None

        async def worker() -> None:
            conn = Connection(self.config)
            # Until the last message this connection sent is recorded (in the journal, else
            # committed), the next goes up to its final dot and waits there: it is ended, so
            # accepted by the server, only then. At any moment at most one accepted-but-
            # unrecorded message per connection, and the wait is hidden.
            committed: asyncio.Future | None = None
            try:
                while True:
                    job = await jobs.get()
                    if job is None:
                        return
                    await limits.take(job.rcpt.rpartition("@")[2].lower())
                    outcome = await conn.stage(job.envelope_from, job.rcpt, job.data,
                                               job.eight_bit, canonical=True)
                    if outcome is None:  # staged: all but the final dot
                        if committed is not None:
                            await committed
                        outcome = await conn.complete()
                    if conn.session is not None:
                        self._eight_bit = conn.session.eight_bit
                    if sent is not None and (outcome.kind != SENT or sent.add(job.row.pk)):
                        committed = None  # nothing the server accepted is unrecorded
                    else:
                        committed = loop.create_future()
                    results.put((job, outcome, committed))
            finally:
                await conn.close()

        async def main() -> None:
            await asyncio.gather(*(worker() for _ in range(self.connections)))

        thread = threading.Thread(target=lambda: loop.run_until_complete(main()),
                                  name="peyvand-smtp", daemon=True)
        thread.start()
        in_flight, exhausted, last_recover = 0, False, time.monotonic()

        def drain(block: bool = False) -> None:
            """Take the results that came back (waiting up to 0.5 s for one if `block`) and
            record them, which lets connections waiting on them go on. Results in the
            journal wait for a group of RECORD_GROUP (fewer commits), unless `block`. Unless
            blocking, only when this sender can write at once: while another has the turn,
            building on is better than waiting."""
            nonlocal in_flight
            got = self._unrecorded
            before = len(got)
            try:
                got.append(results.get(timeout=0.5) if block and not got
                           else results.get_nowait())
                while True:
                    got.append(results.get_nowait())
            except queue.Empty:
                pass
            in_flight -= len(got) - before  # back from the connections
            waited_on = [fut for _j, _o, fut in got if fut is not None]
            if not got or not (block or waited_on or len(got) >= RECORD_GROUP):
                return
            if self.record([(job, outcome) for job, outcome, _f in got], wait=block):
                if waited_on:
                    loop.call_soon_threadsafe(_release_all, waited_on)
                self._unrecorded = []
                self._record_due = False
            else:
                self._record_due = True  # try again after the next message built

        def hand_over(ready: list[Job]) -> None:
            nonlocal in_flight
            if ready:  # one wake-up of the loop per group, not per message
                loop.call_soon_threadsafe(_put_all, jobs, ready)
                in_flight += len(ready)
                drain()

        low_water = self.connections * 2
        try:
            while True:
                timed_out = max_seconds is not None and time.monotonic() - started > max_seconds
                block = in_flight > 0
                # Claim and build the next chunk when the connections run short, not before:
                # rows claimed ahead would be flagged as in flight after a crash. A chunk costs
                # a fixed number of queries, so bigger chunks are cheaper per message, and the
                # connections keep sending what was built while the next one is made.
                if in_flight < low_water and not exhausted and not timed_out:
                    with self._turn():
                        rows = outbox.claim(self.worker, self.batch)
                    self.stats.claimed += len(rows)
                    if rows:
                        # No transaction around building: on SQLite it would hold the write
                        # lock (IMMEDIATE) while this process builds, stalling other senders.
                        hand_over(self._prepare(rows, hand_over))
                        block = False
                    elif until_empty:
                        exhausted = True
                    elif in_flight == 0:
                        if self._unrecorded:
                            drain(True)
                        time.sleep(poll)
                        if time.monotonic() - last_recover > 30:
                            outbox.recover(self.worker, self._is_dead)
                            last_recover = time.monotonic()
                        continue
                # Connections idle: nothing to wait for, write what the journal holds.
                drain(block or (in_flight == 0 and bool(self._unrecorded)))
                if (exhausted or timed_out) and in_flight == 0 and not self._unrecorded:
                    break
            if sent is not None:
                sent.remove()  # everything it held is in the outbox now
        except BaseException:
            # Connections may be waiting for a commit that will not come: stop them.
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
            raise
        finally:
            for _ in range(self.connections):
                loop.call_soon_threadsafe(jobs.put_nowait, None)
            thread.join(timeout=30)
            if not thread.is_alive():
                loop.close()
            if sent is not None:
                sent.close()  # kept, unless removed above: the next sender recovers from it


def _put_all(jobs: asyncio.Queue, items: list[Job]) -> None:
    for item in items:
        jobs.put_nowait(item)


def _release_all(futures: list[asyncio.Future]) -> None:
    for fut in futures:
        if not fut.done():
            fut.set_result(None)


def _helpers_wanted(processes: int) -> int:
    """How many more sender processes the backlog is worth (0 for a small one)."""
    if processes <= 1:
        return 0
    due = OutboxMessage.objects.filter(outbox.due_filter(timezone.now()))
    return max(0, min(processes, due[:SPAWN_AT * processes].count() // SPAWN_AT) - 1)


class _Helper:
    """A helper sender process; `result()` waits for it and gives its output (a stats line)."""

    def __init__(self, pid: int, out: IO[bytes] | None = None,
                 spawned: subprocess.Popen | None = None):
        self.pid, self._out, self._spawned = pid, out, spawned

    def result(self) -> str:
        if self._spawned is not None:
            return self._spawned.communicate()[0]
        assert self._out is not None
        with self._out:
            out = self._out.read().decode(errors="replace")
        os.waitpid(self.pid, 0)
        return out


def _can_fork() -> bool:
    """A helper can be this process forked, which skips the ~1 s a new Python and Django take
    to start, when nothing else runs here: no other thread (a Huey consumer's, say, which
    might hold a lock the child would inherit locked) and no open transaction."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and not any(c.in_atomic_block for c in databases.all(initialized_only=True)))


def _before_fork() -> None:
    """SQLite state must not cross a fork (its locks and shared-memory bookkeeping are per
    process): this process closes its SQLite handles, and opens them again when it next
    queries. PostgreSQL connections stay open here: the slot's advisory lock lives in one."""
    from huey.contrib.djhuey import HUEY

    for conn in databases.all(initialized_only=True):
        if conn.vendor == "sqlite":
            conn.close()
    HUEY.storage.close()  # its SQLite storage keeps one connection; Redis' pool knows forks


# PostgreSQL connections a forked helper inherited. Never closed there: that would send
# Terminate on the socket the parent still uses. They go with the helper's os._exit.
_inherited: list[Any] = []


def _after_fork(held: list[IO[str]]) -> None:
    """In a forked helper: let go of the parent's handles, so they stay the parent's alone."""
    for f in held:  # the parent's slot and write-lock files (flock belongs to the open file)
        f.close()
    for conn in databases.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None  # the next query connects afresh


def _start_helper(connections: int, batch: int, held: list[IO[str]]) -> _Helper:
    if not _can_fork():
        spawned = subprocess.Popen(
            [sys.executable, "-m", "peyvand.messaging.worker", "--processes", "1",
             "--connections", str(connections), "--batch", str(batch)],
            stdout=subprocess.PIPE, text=True)
        log.info("helper sender %d started as a new process", spawned.pid)
        return _Helper(spawned.pid, spawned=spawned)
    sys.stdout.flush()
    sys.stderr.flush()
    _before_fork()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        log.info("helper sender %d forked", pid)
        return _Helper(pid, out=os.fdopen(read_end, "rb"))
    # The helper: what `python -m peyvand.messaging.worker --processes 1` would do.
    code, line = 1, ""
    try:
        os.close(read_end)
        _after_fork(held)
        line = send_all(connections=connections, batch=batch, processes=1).line()
        code = 0
    except SenderBusy:
        line, code = "another sender is running", 3
    except BaseException:
        log.exception("helper sender failed")
    finally:
        try:
            os.write(write_end, line.encode())
        finally:
            os._exit(code)


def send_all(*, connections: int | None = None, batch: int = 100,
             processes: int | None = None, until_empty: bool = True,
             max_seconds: float | None = None) -> Stats:
    """Send what is due with up to `processes` sender processes (default: one per CPU, as
    the backlog warrants): this one and helpers, forked from it when that is safe (see
    _can_fork), else started as `peyvand.messaging.worker`, which inherit this process's
    environment (PEYVAND_HOME, DATABASE_URL). The pool's
    connections are divided between them. Returns the sum of their stats; raises SenderBusy
    when no slot is free."""
    config = smtp_config()
    total = connections or config.connections or 10
    wanted = processes or sender_processes()
    helpers = _helpers_wanted(wanted) if until_empty else 0
    share = max(1, total // (helpers + 1))
    sender = Sender(connections=share, batch=batch, config=config)
    sender._acquire()  # before starting helpers, so a busy instance starts nothing
    started: list[_Helper] = []
    held = [f for f in (sender._lockfile, sender._write_lock) if f is not None]
    try:
        for _ in range(helpers):
            started.append(_start_helper(share, batch, held))
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
