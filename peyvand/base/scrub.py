"""Finding a person's addresses in stored text, JSON values and files, and taking them out.

Erasure (contacts.actions.do_erase_contact) removes rows linked to a contact; copies kept by
address instead (audit details, job rows, caught mail, export and report files) are found
through `Needles`: the person's e-mail addresses, mobiles and national ID, matched however a
file wrote them (upper case, Persian digits, 0912 … or +98 912 …, spaced or dashed).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import html
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from django.db.models import Q

from peyvand.base.normalise.text import ascii_digits

ERASED = "[erased]"
# Shortest value looked for: anything shorter would match unrelated text.
MIN_NEEDLE = 6
CHUNK = 4 * 1024 * 1024
# What a file may put inside an address or a number (spaces, dashes, brackets, direction marks).
_SEPARATORS = str.maketrans("", "", " \t\r\n\u00a0\u200c\u200e\u200f-()")


def fold(text: str) -> str:
    """Text as compared with needles: ASCII digits, case-folded, without separators."""
    return ascii_digits(text).casefold().translate(_SEPARATORS)


@dataclass(frozen=True)
class Needles:
    """What identifies one person in text: e-mails, E.164 mobiles, national IDs, as stored."""

    values: frozenset[str]

    @classmethod
    def of(cls, values: Iterable[str]) -> Needles:
        return cls(frozenset(v.strip() for v in values if v and len(v.strip()) >= MIN_NEEDLE))

    def __bool__(self) -> bool:
        return bool(self.values)

    def stored_forms(self) -> list[str]:
        """Forms stored text holds (for a database prefilter): each value, and a mobile
        +98912… also as 0912…"""
        forms = set(self.values)
        forms.update("0" + v[3:] for v in self.values if v.startswith("+98"))
        return sorted(forms)

    @cached_property
    def folded(self) -> list[str]:
        """The needles as `fold` writes them, mobiles also by their national digits."""
        forms = {fold(v) for v in self.values}
        # A mobile in any notation holds its national digits (+98 912… / 0912… / 912…).
        forms.update(fold(v)[3:] for v in self.values if v.startswith("+98"))
        forms.update(fold(v)[1:] for v in self.values if v.startswith("+"))
        return sorted(f for f in forms if len(f) >= MIN_NEEDLE)

    def found_in(self, text: str) -> bool:
        folded = fold(text)
        return any(n in folded for n in self.folded)

    def scrub(self, value: Any) -> Any:
        """A JSON-like value with every string naming the person replaced: the address itself
        by ERASED where it appears as written, the whole string when written otherwise."""
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        if isinstance(value, str) and self.found_in(value):
            text = value
            for form in self.stored_forms():
                text = _replace_folded_case(text, form)
            return text if not self.found_in(text) else ERASED
        return value


def stored_text_filter(needles: Needles, field: str):
    """A Q matching rows whose text (or JSON) column `field` holds one of the needles as
    stored; JSON may hold non-ASCII characters escaped, so those are looked for both ways."""
    query = Q(pk__in=[])
    for form in needles.stored_forms():
        query |= Q(**{f"{field}__icontains": form})
        escaped = json.dumps(form)[1:-1]
        if escaped != form:
            query |= Q(**{f"{field}__icontains": escaped})
    return query


def _replace_folded_case(text: str, form: str) -> str:
    lower, target = text.casefold(), form.casefold()
    if len(lower) != len(text):  # casefold changed lengths (ß …): no safe positions
        return text
    out, start = [], 0
    while (i := lower.find(target, start)) >= 0:
        out += [text[start:i], ERASED]
        start = i + len(target)
    return "".join(out) + text[start:]


# --- rows -------------------------------------------------------------------------------------

def blank_columns(queryset, keep: Iterable[str]) -> int:
    """Empty every column of the rows but those in `keep` (their own id, state, times ...):
    a column added later is emptied too unless someone decides it may stay. Returns the
    number of rows. A required column with no empty value must be listed in `keep`."""
    keep = set(keep)
    values: dict[str, Any] = {}
    for field in queryset.model._meta.concrete_fields:
        if field.primary_key or field.name in keep:
            continue
        if field.null:
            values[field.name] = None
        elif field.has_default():
            values[field.name] = field.get_default()
        elif field.get_internal_type() == "BinaryField":
            values[field.name] = b""
        elif field.empty_strings_allowed:
            values[field.name] = ""
        else:
            raise ValueError(f"{queryset.model.__name__}.{field.name}: no empty value; "
                             "list it among the columns an erasure keeps")
    return queryset.update(**values)


# --- files ------------------------------------------------------------------------------------

@dataclass
class FileOutcome:
    path: Path
    action: str  # "rewritten" (rows left out) or "deleted"
    rows: int = 0  # rows left out of a rewritten file

    def as_dict(self, root: Path) -> dict[str, Any]:
        try:
            name = str(self.path.relative_to(root))
        except ValueError:
            name = self.path.name
        return {"file": name, "action": self.action, "rows": self.rows}


# drop(cells) says whether a row goes: cells are a CSV/XLSX row's values, or [object] for a
# JSON export line.
Drop = Callable[[list[Any]], bool]


def file_mentions(path: Path, needles: Needles) -> bool:
    """Whether the file holds one of the needles, in UTF-8, UTF-16 or (XLSX) its sheets."""
    if not needles:
        return False
    if path.suffix.lower() == ".xlsx" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as book:
            for name in book.namelist():
                if name.endswith(".xml"):
                    with book.open(name) as member:
                        if _stream_mentions(member, "utf-8", needles, unescape=True):
                            return True
        return False
    with open(path, "rb") as fh:
        head = fh.read(4096)
        fh.seek(0)
        return _stream_mentions(fh, _encoding(head), needles)


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a byte-order mark
        return "utf-16-be" if head[:1] == b"\x00" else "utf-16-le"
    return "utf-8-sig"


def _stream_mentions(fh, encoding: str, needles: Needles, *, unescape: bool = False) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    folded = needles.folded
    if not folded:
        return False
    keep = max(len(n) for n in folded)  # a needle may be split between two chunks
    tail = ""
    while True:
        chunk = fh.read(CHUNK)
        text = decoder.decode(chunk, final=not chunk)
        if unescape:
            text = html.unescape(text)
        window = tail + fold(text)
        if any(n in window for n in folded):
            return True
        if not chunk:
            return False
        tail = window[-keep:]


def rewrite_rows(path: Path, drop: Drop) -> int | None:
    """Rewrite one of our own CSV, XLSX or JSON export files without the rows `drop` picks
    (a header row always stays); returns how many went, None when the format is not ours."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _rewrite_csv(path, drop)
    if suffix == ".xlsx":
        return _rewrite_xlsx(path, drop)
    if suffix == ".json":
        return _rewrite_json_lines(path, drop)
    return None


@contextlib.contextmanager
def _replacing(path: Path, mode: str, **kwargs) -> Iterator[Any]:
    """A private temporary file beside `path` that replaces it once written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with open(fd, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _rewrite_csv(path: Path, drop: Drop) -> int:
    with open(path, "rb") as fh:
        encoding = "utf-8-sig" if fh.read(3) == codecs.BOM_UTF8 else "utf-8"
    removed = 0
    with open(path, encoding="utf-8-sig", newline="") as src, \
            _replacing(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        for number, row in enumerate(csv.reader(src)):
            if number and drop(row):
                removed += 1
                continue
            writer.writerow(row)
    return removed


def _rewrite_xlsx(path: Path, drop: Drop) -> int:
    from openpyxl import Workbook, load_workbook

    source = load_workbook(path, read_only=True)
    book = Workbook(write_only=True)
    removed = 0
    for sheet in source.worksheets:
        copy = book.create_sheet(sheet.title)
        for number, row in enumerate(sheet.iter_rows(values_only=True)):
            if number and drop(list(row)):
                removed += 1
                continue
            copy.append(list(row))
    source.close()
    with _replacing(path, "wb") as out:
        book.save(out)
    return removed


def _rewrite_json_lines(path: Path, drop: Drop) -> int | None:
    """The contacts export's JSON: "[", one object per line (comma-separated), "]"."""
    with open(path, encoding="utf-8") as src:
        if src.readline().strip() != "[":
            return None
    removed = kept = 0
    with open(path, encoding="utf-8") as src, _replacing(path, "w", encoding="utf-8") as out:
        out.write("[")
        for line in src:
            text = line.strip().rstrip(",")
            if text in ("[", "]", ""):
                continue
            if drop([json.loads(text)]):
                removed += 1
                continue
            out.write(",\n" if kept else "\n")
            out.write(text)
            kept += 1
        out.write("\n]\n")
    return removed


def scrub_file(path: Path, needles: Needles, *, rewrite: bool) -> FileOutcome | None:
    """Take the person out of one file: our own formats are rewritten without their rows when
    `rewrite`, anything else that names them is deleted; None when it does not name them."""
    if not file_mentions(path, needles):
        return None
    if rewrite:
        def drop(cells: list[Any]) -> bool:
            return needles.found_in("\x00".join(
                json.dumps(c, ensure_ascii=False) if isinstance(c, (dict, list)) else str(c)
                for c in cells if c is not None))

        removed = rewrite_rows(path, drop)
        if removed is not None and not file_mentions(path, needles):
            return FileOutcome(path, "rewritten", removed)
    path.unlink()
    return FileOutcome(path, "deleted")


def scrub_folder(root: Path, needles: Needles, *,
                 rewrite: Callable[[Path], bool] = lambda path: False,
                 since: dt.datetime | None = None) -> list[FileOutcome]:
    """scrub_file on every file under `root` (only those written since `since`, if given),
    except files still being written (".name")."""
    if not needles or not root.is_dir():
        return []
    after = since.timestamp() if since else None
    done = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and (
                after is None or path.stat().st_mtime >= after):
            outcome = scrub_file(path, needles, rewrite=rewrite(path))
            if outcome is not None:
                done.append(outcome)
    return done
