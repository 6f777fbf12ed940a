"""Tables from uploaded files: CSV in whatever encoding Persian or Western Excel wrote it, or
XLSX.

Everything streams: a CSV is decoded and split as it is read, an XLSX sheet is parsed by
openpyxl in read-only mode (through defusedxml: no XML entities), so a million-row file never
sits in memory. Files past the limits in imports.limits are refused with the reason.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from peyvand.imports import limits

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t"
# (BOM, codec that strips it). UTF-32 first: its little-endian BOM starts like UTF-16's.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u200c\ufb50-\ufdff\ufe70-\ufeff]")
# A cell longer than this is a quote that was never closed, not data.
csv.field_size_limit(1024 * 1024)

Cell = str | dt.date


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message says why, for the person importing."""


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes strictly; streams, so it is cheap even for 1 GB."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, UnicodeError):
        return False
    return True


def _first_non_ascii(path: Path) -> int:
    with path.open("rb") as fh:
        offset = 0
        while chunk := fh.read(1 << 20):
            found = _HIGH_BYTE.search(chunk)
            if found:
                return offset + found.start()
            offset += len(chunk)
    return 0


# A word: ASCII letters and anything not ASCII (a mis-decoded accent may not be a letter).
_WORD = re.compile(r"(?:[A-Za-z]|[^\x00-\x7f])+")
# Besides letters, what Western Excel writes in Windows-1252: quotes, dashes, money, marks.
_WESTERN_MARKS = frozenset("‘’‚“”„–—…•€£¥¢°§©®™«»·¿¡\u00a0´")


def _share_in_latin_words(text: str) -> float:
    """Of the characters that are not ASCII, the share inside words that also have ASCII
    letters: accents in Latin words (Müller, Hélène) are; words of another script are not."""
    inside = total = 0
    for word in _WORD.findall(text):
        foreign = sum(1 for c in word if not c.isascii())
        if foreign:
            total += foreign
            if foreign < len(word):
                inside += foreign
    return inside / total if total else 0.0


def _reads_as_arabic_script(sample: bytes) -> bool:
    text = sample.decode("cp1256", errors="replace")
    high = [c for c in text if ord(c) > 0x7F]
    return bool(high) and sum(1 for c in high if _ARABIC_SCRIPT.match(c)) >= 0.8 * len(high) \
        and _share_in_latin_words(text) < 0.3


def _reads_as_western(sample: bytes) -> bool:
    """Windows-1252 (and Latin-1, the same letters): every byte that is not ASCII a letter or
    a Western mark, and the letters mostly inside Latin words."""
    text = sample.decode("cp1252", errors="replace")
    high = [c for c in text if ord(c) > 0x7F]
    return bool(high) and all(c.isalpha() or c in _WESTERN_MARKS for c in high) \
        and _share_in_latin_words(text) >= 0.5


def detect_encoding(path: Path) -> str:
    """BOM, then strict UTF-8, then cp1256 when the bytes read as Arabic-script words, then
    cp1252 when they read as accents in Latin words, then charset-normalizer on a sample."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    for bom, codec in _BOMS:
        if head.startswith(bom):
            if not _decodes(path, codec):
                raise UnreadableFile(_("The file starts like %(codec)s text but is not valid "
                                       "%(codec)s.") % {"codec": codec.upper()})
            return codec
    if b"\x00" in head:
        raise UnreadableFile(_("This is not a text file. Upload a CSV or an XLSX file."))
    if _decodes(path, "utf-8"):
        return "utf-8"
    # The sample must hold the bytes that are not ASCII, which may start far into the file.
    start = _first_non_ascii(path)
    with path.open("rb") as fh:
        fh.seek(max(0, start - 1024))
        sample = fh.read(SAMPLE_BYTES)
    if _reads_as_arabic_script(sample):
        return "cp1256"
    if _reads_as_western(sample) and _decodes(path, "cp1252"):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and _decodes(path, best.encoding):
        return best.encoding
    raise UnreadableFile(_("Cannot tell how the text of this file is encoded. Save it from "
                           "Excel as “CSV UTF-8” and upload it again."))


def detect_delimiter(sample: str) -> str:
    """csv.Sniffer on a sample; when it cannot decide, the candidate most frequent in the
    first non-blank line (a one-column file falls back to a comma)."""
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    if found and counts.get(found, 0) > 0:
        return found
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _xlsx_cell(value: Any) -> Cell:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # A date cell is a datetime at midnight; one with a time (an order's) keeps it.
        return value if value.time() != dt.time() else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # Excel stores mobiles and national IDs typed as numbers as floats: 9123456789.0.
        return str(int(value))
    return str(value)


def is_blank(cells: list[Cell]) -> bool:
    return all(isinstance(c, str) and not c.strip() for c in cells)


class Table:
    """One sheet: `headers`, then `rows()` yields (row number, cells) after the header.

    Row numbers are what a spreadsheet shows: the header's row is counted, blank lines too,
    and a quoted cell with line breaks stays one row.
    """

    kind: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str]
    header_row: int

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        raise NotImplementedError

    def position(self) -> int:
        """How far reading has got, in units of `total` (bytes or rows)."""
        raise NotImplementedError

    total: int | None = None
    _number = 0

    def _limits(self) -> None:
        self._max_columns = limits.max_columns()
        self._last_row = limits.max_rows()  # until the header is found

    def _within_limits(self, cells: list[Cell]) -> list[Cell]:
        """The row, refused when it is wider, or further down, than an import may read."""
        if len(cells) > self._max_columns:
            raise UnreadableFile(_("Row %(row)s has %(count)s columns; at most %(limit)s can be "
                                   "imported.") % {"row": limits.number(self._number),
                                                   "count": limits.number(len(cells)),
                                                   "limit": limits.number(self._max_columns)})
        if self._number > self._last_row:
            raise UnreadableFile(_("The file has more than %(limit)s rows; split it and import "
                                   "the parts one after another.")
                                 % {"limit": limits.number(limits.max_rows())})
        return cells

    def _found_header(self, cells: list[Cell]) -> None:
        self.headers = _clean_headers(cells)
        self.header_row = self._number
        self._last_row = self._number + limits.max_rows()

    def close(self) -> None:
        pass

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean_headers(cells: list[Cell]) -> list[str]:
    headers = []
    for i, cell in enumerate(cells, start=1):
        text = (cell.isoformat() if isinstance(cell, dt.date) else cell).strip()
        headers.append(text or _("Column %(number)d") % {"number": i})
    return headers


class CsvTable(Table):
    kind = "csv"

    def __init__(self, path: Path, encoding: str | None = None):
        self._limits()
        self.encoding = encoding or detect_encoding(path)
        self.total = path.stat().st_size or None
        self._raw: IO[bytes] = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        sample = self._text.read(16 * 1024)
        self.delimiter = detect_delimiter(sample)
        self._text.seek(0)
        self._reader = csv.reader(self._lines(), delimiter=self.delimiter)
        self._number = 0
        for cells in self._records():
            if not is_blank(cells):
                self._found_header(cells)
                break
        else:
            self.close()
            raise UnreadableFile(_("The file is empty: it needs a header row naming the "
                                   "columns."))

    def _lines(self) -> Iterator[str]:
        # Bounded reads: the csv module would hold a line of any length, split, in memory.
        readline, limit = self._text.readline, limits.MAX_LINE_CHARS
        while line := readline(limit):
            if len(line) == limit and line[-1] not in "\r\n":
                raise UnreadableFile(_("Row %(row)s is longer than %(limit)s characters; a "
                                       "table has no such rows.")
                                     % {"row": limits.number(self._number + 1),
                                        "limit": limits.number(limit)})
            yield line

    def _records(self) -> Iterator[list[Cell]]:
        try:
            for record in self._reader:
                self._number += 1
                yield self._within_limits(list(record))
        except csv.Error as exc:
            raise UnreadableFile(_("Row %(row)d cannot be read (%(error)s); a quote may be "
                                   "missing.") % {"row": self._number + 1, "error": exc})
        except UnicodeDecodeError:
            raise UnreadableFile(_("Row %(row)d is not valid %(encoding)s text.")
                                 % {"row": self._number + 1, "encoding": self.encoding})

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        for cells in self._records():
            yield self._number, cells

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, path: Path):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self._limits()
        try:
            limits.check_xlsx(path)
        except limits.FileRefused as exc:
            raise UnreadableFile(str(exc.message)) from None
        # A file object, not the path: openpyxl would judge a path by its extension.
        self._file = path.open("rb")
        try:
            self._book = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError,
                ElementTree.ParseError, zlib.error, EOFError) as exc:  # defusedxml: ValueError
            self._file.close()
            raise UnreadableFile(_("This XLSX file cannot be opened (%(error)s).")
                                 % {"error": exc})
        if not self._book.worksheets:
            self.close()
            raise UnreadableFile(_("The workbook has no sheet."))
        sheet = self._book.worksheets[0]
        self.total = sheet.max_row if isinstance(sheet.max_row, int) else None
        self._rows = sheet.iter_rows(values_only=True)
        self._number = 0
        try:
            for cells in self._records():
                if not is_blank(cells):
                    self._found_header(cells)
                    break
            else:
                raise UnreadableFile(_("The first sheet is empty: it needs a header row naming "
                                       "the columns."))
        except UnreadableFile:
            self.close()
            raise

    def _records(self) -> Iterator[list[Cell]]:
        try:
            for values in self._rows:
                self._number += 1
                cells = [_xlsx_cell(v) for v in values]
                while cells and cells[-1] == "":
                    cells.pop()  # sheets often carry formatting far to the right
                yield self._within_limits(cells)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, ElementTree.ParseError,
                zlib.error, EOFError) as exc:  # read lazily: damage shows only here
            raise UnreadableFile(_("The XLSX file cannot be read after row %(row)s (%(error)s).")
                                 % {"row": limits.number(self._number), "error": exc}) from None

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        width = len(self.headers)
        for cells in self._records():
            # A sheet has no "missing" cells: a short row just ends in blanks.
            yield self._number, cells + [""] * (width - len(cells))

    def position(self) -> int:
        return self._number

    def close(self) -> None:
        self._book.close()
        self._file.close()


def open_table(path: Path | str, *, encoding: str | None = None) -> Table:
    """The table in `path`; UnreadableFile when it is not a CSV or XLSX we can read."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise UnreadableFile(_("Cannot open the file: %(error)s") % {"error": exc.strerror})
    if magic == _OLE_MAGIC:
        raise UnreadableFile(_("This is an old Excel file (.xls). Save it as .xlsx or CSV "
                               "and upload it again."))
    if magic == _ZIP_MAGIC:
        return XlsxTable(path)
    return CsvTable(path, encoding)
