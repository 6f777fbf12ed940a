"""The task queue: enqueueing after a commit, and the SQLite storage (no REDIS_URL), zeroing
what it deletes.

A queued task may carry an address (a sign-up's confirmation is queued with it): once the task
has run and its row is deleted, the bytes must not stay readable in the file's free space, and
an erasure empties the queue's write-ahead log as it does the database's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from huey import Huey
from huey.storage import SqliteStorage

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits, never if it rolls
    back: the worker must find the rows the task is about. The arguments are taken now, not
    when the transaction ends. Outside a transaction the task is queued at once."""
    transaction.on_commit(functools.partial(task, *args, **kwargs))


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
