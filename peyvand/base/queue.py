"""The task queue's SQLite storage (no REDIS_URL), zeroing what it deletes.

A queued task may carry an address (a sign-up's confirmation is queued with it): once the task
has run and its row is deleted, the bytes must not stay readable in the file's free space, and
an erasure empties the queue's write-ahead log as it does the database's.
"""

from __future__ import annotations

import logging

from huey import Huey
from huey.storage import SqliteStorage

logger = logging.getLogger(__name__)


class SecureSqliteStorage(SqliteStorage):
    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma secure_delete=ON")
        return conn


class SqliteHuey(Huey):
    storage_class = SecureSqliteStorage


def forget_freed_queue_pages() -> None:
    """Empty the SQLite queue's write-ahead log into its file (see base.db.forget_freed_pages);
    nothing to do for Redis or the in-memory queue of tests."""
    from huey.contrib.djhuey import HUEY

    storage = HUEY.storage
    if not isinstance(storage, SecureSqliteStorage):
        return
    try:
        busy = storage.conn.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()[0]
    except Exception:  # noqa: BLE001 - the erasure is done; the next checkpoint does this
        logger.warning("the task queue's log could not be emptied", exc_info=True)
        return
    if busy:
        logger.warning("the task queue's write-ahead log could not be emptied (busy)")
