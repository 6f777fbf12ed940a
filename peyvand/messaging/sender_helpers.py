"""Helper sender processes: a big backlog is shared by up to `serving.sender_processes()`
senders, this one and helpers forked from it when that is safe (see can_fork), else started
as `peyvand.messaging.worker`. Each reports its counts in one line (`Stats.line`)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import connections as databases
from django.utils import timezone

from peyvand.messaging import outbox
from peyvand.messaging.models import OutboxMessage
from peyvand.messaging.sender_slots import SenderBusy

log = logging.getLogger("peyvand.messaging")

# Below this many due messages one process sends alone: a second one costs up to ~1.3 s of
# CPU to start (a new Python, when it cannot be forked) and a share of the connections.
SPAWN_AT = 1000


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


def helpers_wanted(processes: int) -> int:
    """How many more sender processes the backlog is worth (0 for a small one)."""
    if processes <= 1:
        return 0
    due = OutboxMessage.objects.filter(outbox.due_filter(timezone.now()))
    return max(0, min(processes, due[:SPAWN_AT * processes].count() // SPAWN_AT) - 1)


class Helper:
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


def can_fork() -> bool:
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


def start_helper(connections: int, batch: int, held: list[IO[str]],
                 send_all: Callable[..., Stats]) -> Helper:
    """A helper sending with `connections` connections: forked when that is safe (it runs
    `send_all` as one process, then exits), else started as `peyvand.messaging.worker`.
    `held`: the parent's slot files, which the forked helper lets go of."""
    if not can_fork():
        spawned = subprocess.Popen(
            [sys.executable, "-m", "peyvand.messaging.worker", "--processes", "1",
             "--connections", str(connections), "--batch", str(batch)],
            stdout=subprocess.PIPE, text=True)
        log.info("helper sender %d started as a new process", spawned.pid)
        return Helper(spawned.pid, spawned=spawned)
    sys.stdout.flush()
    sys.stderr.flush()
    _before_fork()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        log.info("helper sender %d forked", pid)
        return Helper(pid, out=os.fdopen(read_end, "rb"))
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

