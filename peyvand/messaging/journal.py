"""The sent journal (SQLite): one append-only file per sender process, a line per message the
server accepted, written before the connection goes on.

Why: a connection may end its next message only once the last one's acceptance is recorded
(the crash bound: at most one accepted-but-unrecorded message per connection). Committing
each small group to SQLite was a fifth of a sender's time; appending an id to a file is one
write(2), which survives the process being killed as a commit does (synchronous=NORMAL: neither
survives a power cut). The outbox rows follow in bigger groups; a sender that died is
recovered from its journal (outbox.recover) before its rows are resent.

PostgreSQL senders may run on several machines, where another's journal cannot be read: they
commit each group as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from django.conf import settings

log = logging.getLogger("peyvand.messaging")


def path_for(worker: str) -> Path:
    name = hashlib.sha1(worker.encode()).hexdigest()[:20]
    return settings.HOME / "senders" / f"sent-{name}.log"


class SentJournal:
    def __init__(self, worker: str):
        self.path = path_for(worker)
        self.path.parent.mkdir(exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def add(self, message_id: int) -> bool:
        """Record one accepted message (its outbox id); False when it could not be written
        (a full disk, say): the caller then waits for the database, as without a journal."""
        if self._fd is None:
            return False
        try:
            os.write(self._fd, b"%d\n" % message_id)
        except OSError:
            log.exception("the sent journal %s cannot be written; committing instead",
                          self.path)
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Everything in it is in the outbox now."""
        self.close()
        self.path.unlink(missing_ok=True)


def accepted_by(worker: str) -> list[int]:
    """The ids a (dead) sender's journal holds. Only whole lines count: a line without its
    end (torn by a power cut; one small write is not cut by a kill) could be another id."""
    try:
        raw = path_for(worker).read_bytes()
    except FileNotFoundError:
        return []
    return [int(line) for line in raw.split(b"\n")[:-1] if line.isdigit()]


def forget(worker: str) -> None:
    path_for(worker).unlink(missing_ok=True)
