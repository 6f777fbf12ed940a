"""What an import file may be: size, rows, columns, and for XLSX (a ZIP of XML parts) how much
it unpacks to, how much each part grows, how many shared strings it holds, and no DTD.

An XLSX is looked at before openpyxl opens it, from the ZIP's directory and the first bytes of
each XML part, so a hostile file is refused in milliseconds: a 500 KB file that unpacks to
100 MB of shared strings is refused by its ratio before anything is unpacked. The limits are
settings (IMPORT_*); their defaults let a million-row contact file through.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import IO
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _

from peyvand.base.normalise import InvalidValue
from peyvand.base.templatetags.peyvand_ui import fadigits

MB = 1024 * 1024
# Parts smaller than this may be packed any amount (small XML compresses very well).
RATIO_GRACE_BYTES = 1 * MB
# Workbook, styles, relationships, theme: small in any real file, parsed whole by openpyxl.
MAX_OTHER_PART_BYTES = 32 * MB
# The ZIP's directory (openpyxl reads all of it first): about 40,000 parts.
MAX_DIRECTORY_BYTES = 4 * MB
# A CSV line longer than this is not a row (the csv module builds a row in memory whole).
MAX_LINE_CHARS = 4 * MB
_PREFIXED_SI = re.compile(rb"<[A-Za-z_][\w.-]*:si[\s/>]")


class FileRefused(InvalidValue):
    """The file is past a limit, or built in a way no spreadsheet program writes (an invalid
    "file" to the API)."""

    def __init__(self, message: str):
        super().__init__("file", message)


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_BYTES


def max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


def max_columns() -> int:
    return settings.IMPORT_MAX_COLUMNS


def number(value: int) -> str:
    return fadigits(f"{value:,}")


def size(value: int) -> str:
    if value < MB:
        return _("%(kb)s KB") % {"kb": fadigits(f"{value / 1024:,.0f}")}
    return _("%(mb)s MB") % {"mb": fadigits(f"{value / MB:,.0f}")}


def too_large_upload() -> FileRefused:
    return FileRefused(_("The file is larger than %(limit)s.") % {"limit": size(
        max_upload_bytes())})


# --- XLSX ----------------------------------------------------------------------------------

def _directory_bytes(fh: IO[bytes], length: int) -> int | None:
    """The size of the ZIP's central directory, from its end record (ZIP64 too)."""
    fh.seek(max(0, length - 65_557))
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None  # zipfile will say the file is not a ZIP
    directory = int.from_bytes(tail[at + 12:at + 16], "little")
    locator = tail[at - 20:at] if at >= 20 else b""
    if directory == 0xFFFFFFFF and locator[:4] == b"PK\x06\x07":
        fh.seek(int.from_bytes(locator[8:16], "little"))
        record = fh.read(56)
        if record[:4] == b"PK\x06\x06":
            directory = int.from_bytes(record[40:48], "little")
    return directory


class _Prolog(Exception):
    pass


def _prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bool, str, dict]:
    """(has a DTD, root element's local name, its attributes), reading only up to the root."""
    found: dict = {"dtd": False, "root": "", "attrs": {}}

    def doctype(*_args):
        found["dtd"] = True
        raise _Prolog

    def start(name, attrs):
        found["root"], found["attrs"] = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1], attrs
        raise _Prolog

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    with archive.open(info) as member:
        try:
            while chunk := member.read(64 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Prolog:
            pass
        except expat.ExpatError:
            pass  # malformed: openpyxl says so when it reads the part
    return found["dtd"], found["root"], found["attrs"]


def _count_si(data: bytes, end: int) -> int:
    """<si> start tags that begin before `end` (bytes.count, at memory speed, for the usual
    unprefixed ones)."""
    count = data.count(b"<si", 0, end + 2)
    if b":si" in data:
        count += sum(1 for m in _PREFIXED_SI.finditer(data) if m.start() < end)
    return count


def _count_shared_strings(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> int:
    """<si> elements in the part, counted on the bytes as they unpack; stops past `limit`.
    Text can only add matches (a "<si" inside a comment), never hide one."""
    count, carry = 0, b""
    with archive.open(info) as member:
        while chunk := member.read(MB):
            data = carry + chunk
            end = max(0, len(data) - 64)  # a tag across the chunks is counted next time
            count += _count_si(data, end)
            carry = data[end:]
            if count > limit:
                return count
    return count + _count_si(carry, len(carry))


def check_xlsx(path: Path) -> None:
    """Refuse an XLSX past the limits, or with a DTD; FileRefused says which, for the person
    importing. Whether it is a good XLSX otherwise is openpyxl's to say."""
    length = path.stat().st_size
    with path.open("rb") as fh:
        directory = _directory_bytes(fh, length)
    if directory is not None and directory > MAX_DIRECTORY_BYTES:
        raise FileRefused(_("The XLSX file holds too many parts to be a spreadsheet."))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileRefused(_("This XLSX file cannot be opened (%(error)s).") % {"error": exc})
    with archive:
        infos = archive.infolist()
        total = sum(info.file_size for info in infos)
        limit = settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES
        if total > limit:
            raise FileRefused(_("The XLSX file unpacks to more than %(limit)s.")
                              % {"limit": size(limit)})
        ratio = settings.IMPORT_XLSX_MAX_RATIO
        for info in infos:
            if info.file_size > RATIO_GRACE_BYTES \
                    and info.file_size > ratio * max(1, info.compress_size):
                raise FileRefused(_(
                    "The XLSX file is packed more than %(ratio)s to 1 (%(part)s), as files "
                    "built to exhaust a server are; spreadsheets are not.")
                    % {"ratio": number(ratio), "part": info.filename[:80]})
        strings_limit = settings.IMPORT_XLSX_MAX_SHARED_STRINGS
        try:
            for info in infos:
                if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                dtd, root, attrs = _prolog(archive, info)
                if dtd:
                    raise FileRefused(_(
                        "The XLSX file contains a document type declaration (DTD), which "
                        "spreadsheet programs do not write; it is refused for safety. Open it "
                        "in Excel or LibreOffice and save it again."))
                if root == "sst":
                    declared = max((int(v) for k, v in attrs.items()
                                    if k in ("count", "uniqueCount") and v.isdigit()), default=0)
                    if declared > strings_limit or \
                            _count_shared_strings(archive, info, strings_limit) > strings_limit:
                        raise FileRefused(_("The XLSX file holds more than %(limit)s different "
                                            "texts.") % {"limit": number(strings_limit)})
                elif root != "worksheet" and info.file_size > MAX_OTHER_PART_BYTES:
                    raise FileRefused(_("A part of the XLSX file (%(part)s) is larger than "
                                        "%(limit)s.") % {"part": info.filename[:80],
                                                         "limit": size(MAX_OTHER_PART_BYTES)})
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise FileRefused(_("This XLSX file is damaged (%(error)s).") % {"error": exc})
