"""Writing many new rows at once: COPY on PostgreSQL, one executemany on SQLite.

Rows are plain dicts of column values (attnames, e.g. "contact_id"), so the PostgreSQL path
builds no model instances: for a million contacts, Django's per-object preparation costs more
than the database's work. Both paths insert exactly the given columns, inside the caller's
transaction; a unique-constraint clash raises django.db.IntegrityError either way.
"""

from __future__ import annotations

import json
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, JSONField, Model

from peyvand.base.db import datetime_adapter


def _pg() -> bool:
    return connection.vendor == "postgresql"


def new_ids(model: type[Model], count: int) -> list[int]:
    """Reserve `count` primary keys from the table's sequence (PostgreSQL)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _copy(model: type[Model], rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    quote = connection.ops.quote_name
    sql = (f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           "FROM STDIN")
    # A JSON column gets its text; everything else goes to psycopg as it is.
    json_at = [i for i, c in enumerate(columns)
               if isinstance(model._meta.get_field(c), JSONField)]
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    with (connection.cursor() as cursor, connection.wrap_database_errors,
          cursor.cursor.copy(sql) as copy):
        for row in rows:
            if json_at:
                cells = list(values(row))
                for i in json_at:
                    if cells[i] is not None:
                        cells[i] = json.dumps(cells[i], ensure_ascii=False)
                copy.write_row(cells)
            else:
                copy.write_row(values(row))


def _sqlite_insert(model: type[Model], rows: list[dict[str, Any]], with_ids: bool) -> list[int]:
    """One executemany of plain values: bulk_create's per-value compilation costs several
    times SQLite's own work (issue 19: 20 of an order import's 35 seconds). Ids: the rows of
    one statement, inside the caller's transaction (which holds SQLite's write lock), take
    consecutive AUTOINCREMENT values ending at the last one inserted."""
    columns = list(rows[0])
    quote = connection.ops.quote_name
    adapters: list[Any] = []
    for name in columns:
        column = model._meta.get_field(name)
        if isinstance(column, JSONField):
            adapters.append(lambda v: None if v is None else json.dumps(v, ensure_ascii=False))
        elif isinstance(column, DateTimeField):
            adapters.append(datetime_adapter())
        elif isinstance(column, DateField):
            adapters.append(connection.ops.adapt_datefield_value)
        else:
            adapters.append(None)
    adapted = [(i, a) for i, a in enumerate(adapters) if a is not None]
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)

    def cells(row: dict[str, Any]) -> list[Any]:
        out = list(values(row))
        for i, adapt in adapted:
            out[i] = adapt(out[i])
        return out

    sql = (f"INSERT INTO {quote(model._meta.db_table)} "
           f"({', '.join(quote(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})")
    with transaction.atomic(savepoint=False), connection.wrap_database_errors:
        connection.ensure_connection()
        driver = connection.connection
        driver.executemany(sql, [cells(row) for row in rows])
        if not with_ids:
            return []
        last = driver.execute("SELECT last_insert_rowid()").fetchone()[0]
    return list(range(last - len(rows) + 1, last + 1))


def insert_rows(model: type[Model], rows: list[dict[str, Any]], *,
                with_ids: bool = False) -> list[int]:
    """Insert `rows`; with_ids returns their new primary keys, in order."""
    if not rows:
        return []
    if _pg():
        ids: list[int] = []
        if with_ids:
            ids = new_ids(model, len(rows))
            rows = [{"id": pk, **row} for pk, row in zip(ids, rows, strict=True)]
        _copy(model, rows)
        return ids
    if connection.vendor == "sqlite":
        return _sqlite_insert(model, rows, with_ids)
    objs = model._default_manager.bulk_create([model(**row) for row in rows])
    return [obj.pk for obj in objs] if with_ids else []
