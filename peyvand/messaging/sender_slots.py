"""Sender slots: at most `serving.sender_processes()` senders run at once, each holding a
slot, and a sender that died is told apart from one still sending.

A slot is a PostgreSQL advisory lock, or on SQLite a lock file naming its holder. On SQLite
senders also take turns writing, on a second file lock (`_turn`).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.conf import settings
from django.db import connection

from peyvand.serving import sender_processes


class SenderBusy(Exception):
    """Every sender slot is taken (at most `sender_processes()` senders run at once)."""




def _lock_key(worker: str) -> int:
    return int.from_bytes(hashlib.sha1(worker.encode()).digest()[:8], "big", signed=True)


def holds_a_slot(worker: str) -> bool:
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



class SenderSlot:
    """What a sender does to hold its slot and take its turn writing (a part of `Sender`)."""

    worker: str
    _lockfile: IO[str] | None
    _write_lock: IO[str] | None

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
            return not holds_a_slot(worker)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(worker)])
            got = cur.fetchone()[0]
            if got:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(worker)])
        return bool(got)
