"""Database helpers: for long-running servers (mail catcher, inbound SMTP, sender), planner
statistics, and looking up many rows by a unique key at once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


def refresh_connections() -> None:
    """Drop connections that died or outlived CONN_MAX_AGE, as Django does per request.

    Never inside a transaction: there the connection is in use (and in tests it holds the
    test's own transaction, which closing would lose).
    """
    if not connection.in_atomic_block:
        close_old_connections()


def find_by_unique_key(model: Any, fixed: Sequence[str], varying: str,
                       groups: Mapping[tuple, Collection[str]],
                       columns: Sequence[str]) -> list[tuple]:
    """`columns` of the rows of `model` whose unique key (*fixed, varying) is (group, value)
    for one of the group's values, in one query whatever the number of values.

    On PostgreSQL one probe of the unique index per value (unnest, then a LATERAL lookup with
    LIMIT 1, which keeps the planner from a hash join): given an IN list, the planner uses
    the index for the fixed columns alone and filters every row of the group once its
    statistics lag behind the table (as they do during a large import), so each batch read
    more than the last. One array parameter per group also spares thousands of placeholders.
    """
    wanted = {key: list(values) for key, values in groups.items() if values}
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column = lambda name: quote(model._meta.get_field(name).column)  # noqa: E731
        where = "".join(f"{column(name)} = %s AND " for name in fixed)
        one = (f"SELECT t.* FROM unnest(%s::text[]) AS v(value) CROSS JOIN LATERAL "
               f"(SELECT {', '.join(column(c) for c in columns)} "
               f"FROM {quote(model._meta.db_table)} "
               f"WHERE {where}{column(varying)} = v.value LIMIT 1) AS t")
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join([one] * len(wanted)),
                           [p for key, values in wanted.items() for p in (values, *key)])
            return [tuple(row) for row in cursor.fetchall()]
    from django.db.models import Q

    cond = Q()
    for key, values in wanted.items():
        cond |= Q(**dict(zip(fixed, key, strict=True)), **{f"{varying}__in": values})
    return list(model._base_manager.filter(cond).values_list(*columns))


# Rows examined per index when SQLite gathers statistics: approximate, and fast on any size.
ANALYSIS_LIMIT = 1000


def refresh_planner_statistics() -> None:
    """Give SQLite's query planner table statistics (PostgreSQL's autovacuum keeps its own).

    Without them SQLite guesses, and may scan a whole table through a low-selectivity index
    (all e-mail consent rows) instead of looking up the 100 contacts a sender asks about."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")


def ensure_planner_statistics() -> None:
    """refresh_planner_statistics unless SQLite has gathered some already."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            refresh_planner_statistics()


def forget_freed_pages() -> bool:
    """After an erasure on SQLite: copy the write-ahead log into the database file and empty
    it, so no older page image holding erased data stays in the -wal file (the database file
    itself zeroes what is deleted: secure_delete in settings). False when a reader kept the
    log from being emptied; the next checkpoint then does it. PostgreSQL: nothing to do here
    (docs/security.md says what its VACUUM does and does not do). The SQLite task queue's
    log is emptied likewise."""
    from peyvand.base.queue import forget_freed_queue_pages

    forget_freed_queue_pages()
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return connection.vendor != "sqlite"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _log, _done = cursor.fetchone()
        # Statistics sampled from indexes (sqlite_stat4, when compiled in) may hold values.
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'")
        sampled = cursor.fetchone() is not None
    if sampled:
        refresh_planner_statistics()
    if busy:
        logger.warning("the write-ahead log could not be emptied after an erasure (a reader "
                       "was busy); the next checkpoint empties it")
    return not busy


def execute_many(sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """One statement (`%s` placeholders) for many rows, run on the database driver's own
    connection, in the caller's transaction. For hot bulk writes of a few rows at a time (a
    sender records ~5 messages per commit): Django's cursor wrapper rewrites the placeholders
    by regex and checks its debug settings on every call, which cost as much as SQLite's own
    work. Not seen by Django's query log or execute wrappers."""
    connection.ensure_connection()
    driver = connection.connection
    if connection.vendor == "sqlite":
        driver.executemany(_qmark(sql), rows)
    else:
        with driver.cursor() as cursor:
            cursor.executemany(sql, rows)


@lru_cache(maxsize=64)
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")  # our statements hold no literal %


def datetime_adapter() -> Callable[[dt.datetime | None], Any]:
    """The database's adapt_datetimefield_value, remembering each value: rows written in one
    group share their few times (one `now`), and adapting is the costly part."""
    adapt_value = connection.ops.adapt_datetimefield_value
    seen: dict[dt.datetime | None, Any] = {}

    def adapt(value: dt.datetime | None) -> Any:
        if value not in seen:
            seen[value] = adapt_value(value)
        return seen[value]

    return adapt
