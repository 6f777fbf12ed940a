"""Bulk export of all live contacts (or of a given set of them: a segment's snapshot) to CSV,
XLSX or JSON, shared by the CLI and the background jobs.

Contacts are read in primary-key chunks (keyset pagination), so memory stays flat however
many there are. No transaction is held open while writing: on SQLite one would lock out
every writer for the length of the export.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.jobs import create_job, fail_job, finish_job, job_actor, set_progress, take_job
from peyvand.base.models import Job
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.base.scrub import Needles, rewrite_rows, scrub_folder
from peyvand.contacts.actions import contact_snapshot
from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity, TimelineEvent

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "json")
JOB_KIND = "contacts.export"
CHUNK = 500
CSV_COLUMNS = ["id", "first_name", "last_name", "emails", "phones", "language", "timezone",
               "birthday", "national_id", "source", "tags"]
LIST_SEPARATOR = "; "
# Spreadsheets run cells starting with these as formulas; E.164 numbers (+98…) are let through.
_FORMULA_START = ("=", "@", "\t", "\r", "+", "-")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Longest an erasure's transaction is assumed to take: contacts erased since this long before
# an export began may have been read by it while their erasure was running.
ERASURE_WINDOW = dt.timedelta(hours=1)

Progress = Callable[[int, int], None]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(_("Unknown export format “%(format)s”; use csv, xlsx or json.")
                         % {"format": fmt})
    return fmt


def _chunks(prefetch: list[Any], ids: list[int] | None = None) -> Iterator[list[Contact]]:
    qs = Contact.objects.live().order_by("pk").prefetch_related(*prefetch)
    if ids is not None:  # a chosen set: read in the same order, a chunk of ids at a time
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), CHUNK):
            batch = list(qs.filter(pk__in=ordered[start:start + CHUNK]))
            if batch:
                yield batch
        return
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:CHUNK])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def csv_cell(value: Any) -> str:
    """A value as spreadsheet-safe text: formulas neutralised, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _field_header(key: str) -> str:
    # A custom field may be called like a fixed column ("source"); keep both apart.
    return f"field_{key}" if key in CSV_COLUMNS or key == "created_at" else key


def xlsx_cell(value: Any) -> Any:
    """A value for an XLSX cell: numbers and dates typed, text formula-safe."""
    if isinstance(value, dt.datetime):
        # Excel has no time zones: local wall-clock time, as the shop reads it.
        return timezone.localtime(value).replace(tzinfo=None)
    if value is None or isinstance(value, (bool, int, dt.date, decimal.Decimal)):
        return value
    return csv_cell(value)


def _write_csv(fileobj: IO[str], progress: Progress | None, total: int,
               ids: list[int] | None = None) -> int:
    writer = csv.writer(fileobj)
    count = -1
    for row in _table_rows(progress, total, ids):
        writer.writerow([csv_cell(v) for v in row])
        count += 1
    return count


def _write_xlsx(fileobj: IO[bytes], progress: Progress | None, total: int,
                ids: list[int] | None = None) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("contacts")
    count = -1
    for row in _table_rows(progress, total, ids):
        sheet.append([xlsx_cell(v) for v in row])
        count += 1
    book.save(fileobj)
    return count


def _table_rows(progress: Progress | None, total: int,
                ids: list[int] | None = None) -> Iterator[list[Any]]:
    """The header, then one row of typed values per live contact (of `ids` when given)."""
    fields = list(CustomField.objects.order_by("position", "id"))
    yield CSV_COLUMNS + [_field_header(f.key) for f in fields] + ["created_at"]
    prefetch = [
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "-is_primary", "id")),
        "tags",
        Prefetch("field_values", queryset=FieldValue.objects.select_related("field")),
    ]
    count = 0
    for batch in _chunks(prefetch, ids):
        for c in batch:
            idents = list(c.identities.all())
            values = {fv.field_id: fv.value for fv in c.field_values.all()}
            row = [c.pk, c.first_name, c.last_name,
                   LIST_SEPARATOR.join(i.value for i in idents if i.kind == Identity.Kind.EMAIL),
                   LIST_SEPARATOR.join(i.value for i in idents if i.kind == Identity.Kind.PHONE),
                   c.language, c.timezone, c.birthday, c.national_id, c.source,
                   LIST_SEPARATOR.join(sorted(t.name for t in c.tags.all()))]
            row += [values.get(f.pk) for f in fields]
            row.append(c.created_at)
            yield row
        count += len(batch)
        if progress:
            progress(count, total)


def _write_json(fileobj: IO[str], progress: Progress | None, total: int,
                ids: list[int] | None = None) -> int:
    # contact_snapshot is the one definition of "what we hold about a person"; an empty
    # timeline prefetch keeps the (possibly long) timeline out of a bulk export.
    prefetch = ["identities", "tags", "notes",
                Prefetch("timeline", queryset=TimelineEvent.objects.none())]
    fileobj.write("[")
    count = 0
    for batch in _chunks(prefetch, ids):
        for c in batch:
            snapshot = contact_snapshot(c)
            snapshot.pop("timeline", None)
            fileobj.write(",\n" if count else "\n")
            fileobj.write(json.dumps(snapshot, ensure_ascii=False))
            count += 1
        if progress:
            progress(count, total)
    fileobj.write("\n]\n")
    return count


def write_contacts_export(actor: Actor, fmt: str, fileobj: IO,
                          progress: Progress | None = None, *,
                          ids: list[int] | None = None) -> int:
    """Write every live contact (those of `ids` only, when given) to `fileobj` (text for
    csv/json, binary for xlsx); audited; returns how many were written."""
    require(actor, "contacts.export")
    check_format(fmt)
    total = Contact.objects.live().count() if ids is None else len(set(ids))
    if progress:
        progress(0, total)
    writers: dict[str, Callable[..., int]] = {"csv": _write_csv, "xlsx": _write_xlsx,
                                              "json": _write_json}
    write = writers[fmt]
    count = write(fileobj, progress, total, ids)
    details: dict[str, Any] = {"count": count, "format": fmt}
    if ids is not None:
        details["chosen"] = True  # a set (a segment, a search), not the whole book
    record_audit(actor, "contacts.export", target_type="contact",
                 summary=f"{count} contacts as {fmt}", details=details)
    return count


def write_export_file(actor: Actor, fmt: str, path: Path | str,
                      progress: Progress | None = None, *,
                      ids: list[int] | None = None) -> int:
    """Export to `path`, which appears only once complete and is readable by its owner only;
    every live contact, or those of `ids`."""
    require(actor, "contacts.export")
    check_format(fmt)
    path = Path(path)
    started = timezone.now()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # utf-8-sig: Excel, which most shops open CSVs in, needs the BOM to read Persian.
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        with (open(fd, "wb") if fmt == "xlsx"
              else open(fd, "w", encoding=encoding, newline="")) as fh:
            count = write_contacts_export(actor, fmt, fh, progress, ids=ids)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count - _drop_erased_since(path, started - ERASURE_WINDOW)


def _exported_id(cells: list[Any]) -> int | None:
    """The contact id of an export row: the first column, or a JSON line's "id"."""
    value = cells[0].get("id") if cells and isinstance(cells[0], dict) else \
        cells[0] if cells else None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _drop_erased_since(path: Path, since: dt.datetime) -> int:
    """Rows of contacts whose erasure ran while the export read them: their erasure looked
    for copies before this file existed. Returns how many rows went."""
    erased = set(Contact.objects.filter(erased_at__gte=since).values_list("pk", flat=True))
    if not erased:
        return 0
    return rewrite_rows(path, lambda cells: _exported_id(cells) in erased) or 0


def erase_from_exports(needles: Needles, since: dt.datetime | None = None) -> dict[str, Any]:
    """contacts erase-copies hook: export files already written lose the person's rows
    (a file that cannot be rewritten is deleted); each job says what happened to its file."""
    root = Path(settings.EXPORT_DIR)
    outcomes = scrub_folder(root, needles, since=since, rewrite=lambda path: (
        path.suffix.lower() in (".csv", ".xlsx", ".json")))
    for outcome in outcomes:
        # Any job that wrote this file: the whole-book export, or one of a segment's.
        for job in Job.objects.filter(result__path=str(outcome.path)):
            result = dict(job.result)
            if outcome.action == "deleted":
                result.pop("path", None)  # nothing left to download
                result["erasure"] = "deleted"
            else:
                result["count"] = max(0, int(result.get("count") or 0) - outcome.rows)
                result["erased_rows"] = int(result.get("erased_rows") or 0) + outcome.rows
            Job.objects.filter(pk=job.pk).update(result=result)
    return {"export_files": [o.as_dict(root) for o in outcomes]} if outcomes else {}


# --- background job for the UI ---------------------------------------------------------------

@transaction.atomic
def do_start_export_job(actor: Actor, fmt: str) -> Job:
    """Queue an export of all contacts; the worker picks it up once this transaction commits."""
    require(actor, "contacts.export")
    check_format(fmt)
    job = create_job(actor, JOB_KIND, {"format": fmt})
    from peyvand.contacts.tasks import export_contacts_task

    enqueue_on_commit(export_contacts_task, job.pk)
    return job


def run_export_job(job_id: int) -> dict[str, Any] | None:
    """Body of the export task: write the file under EXPORT_DIR and record it on the job."""
    job, done = take_job(job_id, JOB_KIND)
    if job is None:
        return done
    fmt = job.params.get("format", "")
    try:
        actor = job_actor(job)
        export_dir = Path(settings.EXPORT_DIR)
        export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"contacts-{job.pk}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"
        count = write_export_file(actor, fmt, export_dir / name,
                                  progress=lambda done, total: set_progress(job, done, total))
    except (PermissionDenied, ValueError) as exc:
        fail_job(job, str(exc))
        return None
    except Exception as exc:
        logger.exception("export job %s failed", job.pk)
        fail_job(job, _("The export failed: %(error)s") % {"error": exc})
        return None
    finish_job(job, {"path": str(export_dir / name), "filename": name, "count": count,
                     "format": fmt})
    return job.result
