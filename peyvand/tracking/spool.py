"""The durable spool between a tracking hit and its TrackingEvent row.

The fast path appends each hit as one line to this process's segment file (under
PEYVAND_HOME/tracking-spool/) with a single O_APPEND write BEFORE it answers, so every hit a
client saw acknowledged survives a crash of the web process (the bytes are in the kernel's
page cache; like SQLite's WAL at synchronous=NORMAL, only a power cut can lose the last
ones). One write is a few microseconds, where a SQLite commit per hit cost ~80.

`events.drain_spool()` reads the segments, stores the hits and then records how far it got
in `<segment>.off`. Each hit carries a random id that is unique in TrackingEvent, so a drain
interrupted between the two never counts a hit twice. Each line carries a CRC: a line not
yet completely written is left for the next drain.

Line: "<crc32 hex> <hit_id TAB kind TAB message_id TAB contact_id TAB issued TAB url TAB topic
TAB user agent TAB unix time>" (tabs and line breaks inside values become spaces).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed

log = logging.getLogger(__name__)
SEGMENT_BYTES = 32 * 1024 * 1024  # a writer starts a new segment beyond this
SUFFIX, OFFSET_SUFFIX = ".hits", ".off"

_lock = threading.Lock()
_writer: dict = {}  # dir, fd, path, size
_dir: list[Path] = []  # the spool directory, once known (reset when settings change)
_ids: list = []  # (random prefix, counter): hit ids without a syscall per hit
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def spool_dir() -> Path:
    if _dir:
        return _dir[0]
    given = settings.TRACKING_SPOOL
    path = Path(given) if given else Path(settings.HOME) / "tracking-spool"
    path.mkdir(parents=True, exist_ok=True)
    _dir[:] = [path]
    return path


def _forget_dir(setting: str, **kwargs) -> None:
    if setting in ("TRACKING_SPOOL", "HOME"):
        _dir.clear()


setting_changed.connect(_forget_dir)


def _hit_id() -> str:
    if not _ids:
        _ids[:] = [secrets.token_hex(8), itertools.count()]
    return f"{_ids[0]}{next(_ids[1]):08x}"


def _after_fork_in_child() -> None:
    """A forked child (granian's workers) writes its own segment with its own hit ids; asking
    the pid on every hit instead cost a syscall each."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _writer.get("fd") is not None:
        os.close(_writer["fd"])  # the child's copy; the parent's stays open
    _writer.clear()
    _ids.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _open_segment(directory: Path) -> None:
    if _writer.get("fd") is not None:
        os.close(_writer["fd"])
    path = directory / f"{os.getpid()}-{time.time_ns()}{SUFFIX}"
    _writer.update(dir=directory, path=path, size=0,
                   fd=os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))


def append(kind: str, message_id: int, contact_id: int, issued: int, url: str, topic: str,
           user_agent: str) -> str:
    """Write one hit durably (in the file when this returns); returns its hit id."""
    hit_id = _hit_id()
    body = (f"{hit_id}\t{kind}\t{message_id}\t{contact_id}\t{issued}\t{url.translate(_CLEAN)}\t"
            f"{topic.translate(_CLEAN)}\t{user_agent[:512].translate(_CLEAN)}\t"
            f"{time.time():.6f}").encode("utf-8", "replace")
    line = b"%08x %s\n" % (zlib.crc32(body), body)
    directory = spool_dir()
    with _lock:  # one write per line, never into a segment being closed
        if _writer.get("dir") is not directory or _writer["size"] > SEGMENT_BYTES:
            _open_segment(directory)
        written = os.write(_writer["fd"], line)
        _writer["size"] += written
    if written != len(line):
        raise OSError("short write to the tracking spool")
    return hit_id


def close() -> None:
    with _lock:
        if _writer.get("fd") is not None:
            os.close(_writer["fd"])
        _writer.clear()


# --- reading (the drain) ---------------------------------------------------------------------

def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"), key=lambda p: _order(p.name))


def _order(name: str) -> tuple[int, int]:
    pid, _dash, stamp = name[:-len(SUFFIX)].partition("-")
    return (int(stamp) if stamp.isdigit() else 0, int(pid) if pid.isdigit() else 0)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sealed(path: Path, segments: list[Path]) -> bool:
    """No one will write to this segment again: its writer moved on or is gone."""
    pid, stamp = _order(path.name)[1], _order(path.name)[0]
    if any(_order(p.name)[1] == pid and _order(p.name)[0] > stamp for p in segments):
        return True
    if pid == os.getpid():
        return _writer.get("path") != path
    return not _alive(pid)


def _offset(path: Path) -> int:
    try:
        return int(path.with_suffix(OFFSET_SUFFIX).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def save_offset(path: Path, offset: int) -> None:
    tmp = path.with_suffix(".off-tmp")
    tmp.write_text(str(offset))
    os.replace(tmp, path.with_suffix(OFFSET_SUFFIX))


def batches(limit: int) -> Iterator[tuple[Path, int, list[tuple], bool]]:
    """(segment, offset after these rows, rows, segment sealed and now fully read) per batch
    of at most `limit` complete lines not yet drained."""
    directory = spool_dir()
    segments = _segments(directory)
    for path in segments:
        sealed = _sealed(path, segments)  # decided before reading: no write can follow
        start = _offset(path)
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
        rows: list[tuple] = []
        pos = 0
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                break
            row = _parse(data[pos:end])
            if row is None and (data.find(b"\n", end + 1) < 0 and not sealed):
                break  # possibly still being written: the next drain reads it
            pos = end + 1
            if row is not None:
                rows.append(row)
            if len(rows) >= limit:
                yield path, start + pos, rows, False
                rows = []
        done = sealed and start + pos == start + len(data)
        yield path, start + pos, rows, done


def _parse(line: bytes) -> tuple | None:
    crc, _space, body = line.partition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(body):
            raise ValueError("crc")
        hit_id, kind, message_id, contact_id, issued, url, topic, ua, at = (
            body.decode("utf-8").split("\t"))
        return (hit_id, kind, int(message_id), int(contact_id), int(issued), url, topic, ua,
                float(at))
    except ValueError:
        log.warning("tracking spool: unreadable line skipped")
        return None


def finish(path: Path) -> None:
    """A sealed segment is fully stored: remove it and its offset."""
    for name in (path, path.with_suffix(OFFSET_SUFFIX)):
        name.unlink(missing_ok=True)


def blank_lines(contact_id: int) -> int:
    """Write spaces over the drained lines of one contact's hits (an erasure); the drain reads
    only past each segment's offset, so they are never read again. Returns how many."""
    count = 0
    for path in _segments(spool_dir()):
        end = _offset(path)
        if not end:
            continue
        with open(path, "r+b") as fh:  # in place; writers only ever append past `end`
            data = fh.read(end)
            pos = 0
            while (newline := data.find(b"\n", pos)) >= 0:
                line = data[pos:newline]
                row = _parse(line) if line.strip() else None
                if row is not None and row[3] == contact_id:
                    fh.seek(pos)
                    fh.write(b" " * len(line))
                    count += 1
                pos = newline + 1
    return count


def pending() -> int:
    """Hits written and not yet drained."""
    count = 0
    for path in _segments(spool_dir()):
        with open(path, "rb") as fh:
            fh.seek(_offset(path))
            count += fh.read().count(b"\n")
    return count
