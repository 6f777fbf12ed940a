"""Big query results as numpy columns.

On PostgreSQL the rows of a query come back packed: each column as one array
(`array_agg`), sent by `COPY … TO STDOUT` in binary format and cut by numpy. A million rows
cost a few array operations, where a cursor makes a million Python tuples (and Django
converts every date and moment on the way) and even a plain COPY sends one message per row.
A read of a whole table (`scan=True`) is packed by ranges of its pages (a TID range scan
each, in one query), so neither side holds it all at once. Other databases (SQLite) run the
same queryset through the cursor, converted column by column.

Each column is read as one of these kinds:

- "int": any integer or boolean column, as int64;
- "date": a date, as its proleptic Gregorian ordinal (`date.toordinal()`), int64;
- "moment": a timestamp with time zone, as microseconds since 1970-01-01 UTC, int64;
- "text": a string column, as its UTF-8 bytes in a numpy `S` array (a million short labels
  as one array, not a million Python strings; `labels` turns them into codes).

A NULL is read as 0 (empty for text); queries that need to tell NULL apart say so in SQL.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

# PostgreSQL's binary epochs: dates count days and timestamps microseconds from 2000-01-01
# (UTC for timestamps).
_PG_DATE_BASE = dt.date(2000, 1, 1).toordinal()
_PG_US_BASE = 946_684_800 * 1_000_000
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Pages of a table packed into one row of a scan (16 MB of heap with 8 kB pages).
SCAN_PAGES = 2048


def read(qs: QuerySet, kinds: Sequence[str], *, scan: bool = False) -> list[np.ndarray]:
    """The rows of a values_list queryset as one array per column (in no set order)."""
    parts: list[list[np.ndarray]] = [[] for _ in kinds]
    for block in blocks(qs, kinds, scan=scan):
        for i, column in enumerate(block):
            parts[i].append(column)
    out = []
    for i, kind in enumerate(kinds):  # a column's blocks are freed once it is whole
        out.append(np.concatenate(parts[i]) if parts[i] else _empty(kind))
        parts[i] = []
    return out


def blocks(qs: QuerySet, kinds: Sequence[str], *, scan: bool = False
           ) -> Iterator[list[np.ndarray]]:
    """The rows of a values_list queryset, a block of columns at a time.

    `scan`: the query reads most of its model's table (a whole shop's orders or lines);
    on PostgreSQL it is then run over one range of pages at a time, and memory on both
    sides stays flat however large the table."""
    if connection.vendor == "postgresql":
        yield from _packed_blocks(qs, kinds, scan)
        return
    batch: list[tuple] = []
    for row in qs.iterator(chunk_size=10_000):
        batch.append(row)
        if len(batch) >= 200_000:
            yield _from_tuples(batch, kinds)
            batch = []
    if batch:
        yield _from_tuples(batch, kinds)


def labels(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Texts as (sorted distinct labels, each row's index into them).

    While the labels are few (currencies, categories), one comparison pass per label beats
    sorting millions of strings; np.unique otherwise."""
    found: list[bytes] = []
    rest = values
    while len(rest) and len(found) < 16:
        found.append(bytes(rest[0]))
        rest = rest[rest != rest[0]]
    if len(rest):
        uniq, codes = np.unique(values, return_inverse=True)
        return [v.decode() for v in uniq.tolist()], codes.astype(np.int64)
    found.sort()
    codes = np.zeros(len(values), dtype=np.int64)
    for i, value in enumerate(found[1:], start=1):
        codes[values == value] = i
    return [v.decode() for v in found], codes


def as_datetimes(micros: np.ndarray) -> list[dt.datetime]:
    """Microseconds since 1970 (UTC) as aware datetimes."""
    return [_UNIX_EPOCH + dt.timedelta(microseconds=v) for v in micros.tolist()]


def micros(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since 1970 (UTC), the "moment" kind."""
    return (moment - _UNIX_EPOCH) // dt.timedelta(microseconds=1)


def _empty(kind: str) -> np.ndarray:
    return np.zeros(0, dtype="S1" if kind == "text" else np.int64)


# --- other databases: Python values --------------------------------------------------------------

def _value(v: Any, kind: str) -> Any:
    if v is None:
        return b"" if kind == "text" else 0
    if kind == "text":
        return v.encode()
    if kind == "date":
        return v.toordinal()
    if kind == "moment":
        return micros(v)
    return int(v)


def _from_tuples(rows: list[tuple], kinds: Sequence[str]) -> list[np.ndarray]:
    return [np.array([_value(row[i], kind) for row in rows],
                     dtype="S" if kind == "text" else np.int64)
            for i, kind in enumerate(kinds)]


# --- PostgreSQL: columns packed as arrays ------------------------------------------------------

def _packed_blocks(qs: QuerySet, kinds: Sequence[str], scan: bool
                   ) -> Iterator[list[np.ndarray]]:
    table = connection.ops.quote_name(qs.model._meta.db_table)
    if scan:
        # The chunk's pages, from the outer generate_series (a TID range scan).
        qs = qs.filter(RawSQL(f"{table}.ctid >= ('(' || chunk.lo || ',0)')::tid AND "
                              f"{table}.ctid < ('(' || chunk.lo + %s || ',0)')::tid",
                              (SCAN_PAGES,), output_field=BooleanField()))
    sql, params = qs.query.sql_with_params()
    names = [f"c{i}" for i in range(len(kinds))]
    packed = (f"SELECT {', '.join(f'array_agg({n})' for n in names)} "
              f"FROM ({sql}) AS q ({', '.join(names)})")
    if scan:
        pages = f"pg_relation_size('{table}') / current_setting('block_size')::int"
        packed = (f"SELECT p.* FROM generate_series(0, ({pages})::int, %s) AS chunk (lo) "
                  f"CROSS JOIN LATERAL ({packed}) AS p")
        params = (SCAN_PAGES, *params)
    with connection.cursor() as cursor:
        query = cursor.mogrify(packed, params)
        with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            first = True
            for message in copy:
                data = memoryview(message)
                if first:  # the stream's header comes before the first row
                    data = data[_header_size(data):]
                    first = False
                if not len(data) or struct.unpack_from(">h", data)[0] == -1:
                    continue  # the trailer; the loop ends with the stream
                columns = _row(data, kinds)
                if len(columns[0]):
                    yield columns


def _header_size(data: memoryview) -> int:
    if bytes(data[:11]) != b"PGCOPY\n\xff\r\n\x00":
        raise ValueError("not a binary COPY stream")
    (extension,) = struct.unpack_from(">i", data, 15)
    return 19 + extension


def _row(data: memoryview, kinds: Sequence[str]) -> list[np.ndarray]:
    (fields,) = struct.unpack_from(">h", data)
    if fields != len(kinds):
        raise ValueError(f"expected {len(kinds)} columns, the row has {fields}")
    out, pos = [], 2
    for kind in kinds:
        (length,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if length < 0:  # array_agg over no rows
            out.append(_empty(kind))
            continue
        out.append(_array(data[pos:pos + length], kind))
        pos += length
    return out


def _array(data: memoryview, kind: str) -> np.ndarray:
    """One array in PostgreSQL's binary format: a header, then each element as its length
    and its bytes. Elements of one width (any integer column, short codes) are viewed as
    one record array; others (NULLs, texts of different lengths) are taken one by one."""
    ndim, _nulls, _oid = struct.unpack_from(">iiI", data)
    if ndim == 0:
        return _empty(kind)
    if ndim != 1:
        raise ValueError("expected a one-dimensional array")
    (n,) = struct.unpack_from(">i", data, 12)
    body = data[20:]
    (width,) = struct.unpack_from(">i", body) if n else (0,)
    if width >= 0 and (4 + width) * n == len(body):
        records = np.frombuffer(body, dtype=np.dtype([("l", ">i4"), ("v", f"V{width}")]))
        if (records["l"] == width).all():
            return _decode(records["v"], width, kind)
    values, pos = [], 0
    for _ in range(n):
        (length,) = struct.unpack_from(">i", body, pos)
        pos += 4
        values.append(_value(_element(bytes(body[pos:pos + length]), kind)
                             if length >= 0 else None, kind))
        pos += max(length, 0)
    return np.array(values, dtype="S" if kind == "text" else np.int64)


def _decode(raw: np.ndarray, width: int, kind: str) -> np.ndarray:
    if kind == "text":
        return np.array(raw.view(f"S{width}")) if width else np.zeros(len(raw), dtype="S1")
    if width not in (1, 2, 4, 8):
        raise ValueError(f"a {width}-byte value where a {kind} was expected")
    values = raw.view(f">i{width}" if width > 1 else "i1").astype(np.int64)
    if kind == "date":
        values += _PG_DATE_BASE
    elif kind == "moment":
        values += _PG_US_BASE
    return values


def _element(raw: bytes, kind: str) -> Any:
    if kind == "text":
        return raw.decode()
    value = int.from_bytes(raw, "big", signed=True)
    if kind == "date":
        return dt.date.fromordinal(value + _PG_DATE_BASE)
    if kind == "moment":
        return _UNIX_EPOCH + dt.timedelta(microseconds=value + _PG_US_BASE)
    return value


# --- writing: binary COPY built by numpy -------------------------------------------------------

# How each kind of value is sent: numpy's big-endian type for the database type.
_BINARY = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2", "double precision": ">f8",
           "boolean": "i1", "date": ">i4", "timestamp with time zone": ">i8"}


def copy_into(model: Any, data: Sequence[tuple[str, np.ndarray, np.ndarray | None]]) -> None:
    """Rows into `model`'s table by COPY in binary format (PostgreSQL).

    `data` holds (column, values, valid) for each column written; `valid` marks the rows
    that are not NULL (None: all are). Values are numbers, texts (str), dates as ordinals
    and moments as microseconds since 1970, as `read` gives them. The rows' bytes are laid
    out by numpy a column at a time: no Python object per value, nothing parsed as text.
    """
    fields = {f.column: f for f in model._meta.concrete_fields}
    specs = [(name, _db_type(fields[name]), values, valid) for name, values, valid in data]
    names = ", ".join(connection.ops.quote_name(name) for name, *_ in specs)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, \
            cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
        total = len(specs[0][2]) if specs else 0
        for start in range(0, total, 100_000):
            stop = min(start + 100_000, total)
            copy.write(_rows([(kind, values[start:stop],
                               None if valid is None else valid[start:stop])
                              for _, kind, values, valid in specs]).data)
        copy.write(struct.pack(">h", -1))


def _db_type(field: Any) -> str:
    db_type = field.db_type(connection).split("(")[0]
    if db_type in ("varchar", "text"):
        return "text"
    if db_type in ("bigserial", "serial"):
        return {"bigserial": "bigint", "serial": "integer"}[db_type]
    if db_type not in _BINARY:
        raise ValueError(f"no binary form for {field.column} ({db_type})")
    return db_type


def _field(kind: str, values: np.ndarray, valid: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """A column's bytes as a (rows × width) uint8 matrix, each row its length word and its
    value, and each row's byte count (None: the whole width in every row)."""
    n = len(values)
    if kind == "text":
        # Few distinct texts (segments, tiers, categories): each encoded once.
        index: dict[str, int] = {}
        codes = np.fromiter((index.setdefault(v, len(index)) for v in values.tolist()),
                            dtype=np.int64, count=n)
        encoded = [str(v).encode() for v in index]
        width = max((len(e) for e in encoded), default=0)
        table = np.zeros((len(encoded), 4 + width), dtype=np.uint8)
        for i, e in enumerate(encoded):
            table[i, :4] = np.frombuffer(struct.pack(">i", len(e)), dtype=np.uint8)
            table[i, 4:4 + len(e)] = np.frombuffer(e, dtype=np.uint8)
        sizes = np.array([4 + len(e) for e in encoded], dtype=np.int64)
        return table[codes], sizes[codes]
    if kind == "date":
        values = np.asarray(values, dtype=np.int64) - _PG_DATE_BASE
    elif kind == "timestamp with time zone":
        values = np.asarray(values, dtype=np.int64) - _PG_US_BASE
    if valid is not None:  # whatever stands in NULL's place must still convert
        values = np.where(valid, values, 0)
    body = np.asarray(values).astype(_BINARY[kind])
    width = body.dtype.itemsize
    matrix = np.empty((n, 4 + width), dtype=np.uint8)
    matrix[:, :4] = np.frombuffer(struct.pack(">i", width), dtype=np.uint8)
    matrix[:, 4:] = body.view(np.uint8).reshape(n, width)
    if valid is None:
        return matrix, None
    matrix[~valid, :4] = 255  # length -1: NULL, and no value bytes
    return matrix, np.where(valid, 4 + width, 4)


def _rows(specs: list[tuple[str, np.ndarray, np.ndarray | None]]) -> np.ndarray:
    """The COPY bytes of a slice of rows (see copy_into): every field padded to its
    column's width side by side, then the padding dropped by one boolean mask, which
    leaves each row's fields back to back."""
    n = len(specs[0][1])
    count = np.empty((n, 2), dtype=np.uint8)
    count[:] = np.frombuffer(struct.pack(">h", len(specs)), dtype=np.uint8)
    matrices, masks = [count], [np.ones((n, 2), dtype=bool)]
    for kind, values, valid in specs:
        matrix, sizes = _field(kind, values, valid)
        matrices.append(matrix)
        masks.append(np.ones(matrix.shape, dtype=bool) if sizes is None
                     else np.arange(matrix.shape[1]) < sizes[:, None])
    return np.hstack(matrices)[np.hstack(masks)]
