"""The contact import engine: rows in, contacts created, updated or merged, the rest reported.

A file is read as a stream and handled in batches (BATCH_SIZE rows, one transaction each), so
memory stays flat and an interrupted import can simply be run again: identities are unique,
so rows already imported find their contact and change nothing.

Per batch:
1. each row is normalised by contacts.actions.check_contact_data (rejected rows go to the
   report with row number, column, value and reason);
2. rows sharing an e-mail or mobile are joined (union-find): they are one person;
3. contacts writes the people (contacts.actions.BulkUpsert: new people in bulk, people it
   knows through do_upsert_contact unless nothing would change) and says per person what it
   did; this module counts the rows and reports the refused ones;
4. the subscriptions the rows bring go to consent (consent.actions.do_import_consent).

Rows about one person are merged as contacts are: the first row of the file that gives a
value wins, later rows only fill blanks (see contacts.actions.bulk).

Each row is counted once: read = created + updated + merged + rejected. A row whose
identities lead to exactly one contact that existed before the import is "updated" (changed
or not); one that joins several contacts, or a contact an earlier row of the same file
created, is "merged".

Longer than ~400 lines because a file import is one pipeline (mapping, rows, batches, report,
background job) that reads best in one place; the writing lives in contacts.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.jobs import create_job, set_progress
from peyvand.base.models import Job
from peyvand.base.normalise import InvalidValue
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.consent.actions import (
    ConsentInvalid,
    ImportedConsent,
    check_attestation,
    do_attest_import,
    do_import_consent,
)
from peyvand.consent.models import Attestation
from peyvand.contacts.actions import (
    BulkItem,
    BulkUpsert,
    ContactData,
    ContactInvalid,
    check_contact_data,
    check_new_tags,
    find_owners,
    search_text_for,  # noqa: F401  (tests import it from here)
)
from peyvand.contacts.export import csv_cell
from peyvand.contacts.fields import parse_field_value
from peyvand.contacts.models import CustomField
from peyvand.imports.mapping import (
    CONSENT_PREFIX,
    FIELD_PREFIX,
    IDENTITY_TARGETS,
    MappingError,
    auto_mapping,
    check_mapping,
    resolve_mapping,
)
from peyvand.imports.reader import Cell, Table, UnreadableFile, open_table
from peyvand.imports.subscriptions import (
    Plan,
    RowConsent,
    Subscriptions,
    SubscriptionsInvalid,
    check_subscriptions,
    read_row,
)

logger = logging.getLogger(__name__)

JOB_KIND = "contacts.import"
BATCH_SIZE = 2000
SOURCE = "import"
SAMPLE_REJECTIONS = 20
# One cell may hold several e-mails, mobiles or tags: exports join them with "; ".
_LIST_SPLIT = re.compile(r"[;,،؛|\n]")

Key = tuple[str, str, str]
Progress = Callable[["Totals", int, "int | None"], None]


class ImportFailed(ValueError):
    """The import cannot run (unreadable file, unusable mapping); nothing was imported."""


@dataclass
class Totals:
    read: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "created": self.created, "updated": self.updated,
                "merged": self.merged, "rejected": self.rejected}

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_dict().items())

    def add(self, other: Totals) -> None:
        for name, value in other.as_dict().items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Rejection:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportResult:
    totals: Totals
    kind: str
    encoding: str
    delimiter: str
    headers: list[str]
    targets: list[str]
    rejections: list[Rejection] = field(default_factory=list)  # the first few, for display
    consent: ConsentTotals | None = None  # when the file brought subscriptions

    def as_dict(self) -> dict[str, Any]:
        out = {"totals": self.totals.as_dict(), "kind": self.kind, "encoding": self.encoding,
               "delimiter": self.delimiter, "headers": self.headers, "targets": self.targets}
        if self.consent is not None:
            out["consent"] = self.consent.as_dict()
        return out


@dataclass
class ConsentTotals:
    """What became of the subscriptions of the rows imported (rejected rows aside)."""

    subscribed: int = 0
    opted_out: int = 0
    unchanged: int = 0  # already so here
    not_subscribed: int = 0  # each with its reason in the report

    def as_dict(self) -> dict[str, int]:
        return {"subscribed": self.subscribed, "opted_out": self.opted_out,
                "unchanged": self.unchanged, "not_subscribed": self.not_subscribed}

    def line(self) -> str:
        return "consent: " + " ".join(f"{k}={v}" for k, v in self.as_dict().items())


@dataclass
class _Row:
    number: int
    cells: list[Cell]
    data: ContactData
    keys: list[Key]
    consent: RowConsent | None = None


def _text(cell: Cell) -> str:
    return cell.isoformat() if isinstance(cell, dt.date) else cell


class _Report:
    """The rejected-rows CSV: one line per problem, then the row as it was, so it can be
    fixed and imported again."""

    def __init__(self, fileobj: IO[str] | None, headers: list[str]):
        self.sample: list[Rejection] = []
        self._writer = csv.writer(fileobj) if fileobj else None
        if self._writer:
            write_report_row(self._writer, [_("row"), _("column"), _("value"), _("reason"),
                                            *headers])

    def add(self, rejection: Rejection, cells: list[Cell]) -> None:
        if len(self.sample) < SAMPLE_REJECTIONS:
            self.sample.append(rejection)
        if self._writer:
            write_report_row(self._writer, [rejection.row, rejection.column, rejection.value,
                                            rejection.reason, *cells])


def write_report_row(writer: Any, values: list[Any]) -> None:
    """A row of a rejected-rows report: the file's own values may be formulas, and the
    report is opened in a spreadsheet, so every cell is made safe as the exports make it."""
    writer.writerow([csv_cell(v) for v in values])


class _UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The earlier row stays the root, so a group is ordered by its first row.
            self.parent[max(ra, rb)] = min(ra, rb)


class ContactImport:
    """One run over one table; `run()` returns the totals."""

    def __init__(self, actor: Actor, table: Table, targets: list[str], *, tag: str = "",
                 report: IO[str] | None = None, progress: Progress | None = None,
                 batch_size: int = BATCH_SIZE, plan: Plan | None = None,
                 attestation: Attestation | None = None):
        self.actor = actor
        self.plan = plan  # subscriptions the file brings (imports.subscriptions)
        self.attestation = attestation
        self.consent = ConsentTotals() if plan is not None else None
        self.table = table
        self.targets = targets
        self.tag = tag
        self.progress = progress
        self.batch_size = batch_size
        self.totals = Totals()
        self.report = _Report(report, table.headers)
        self.fields = {f.key: f for f in CustomField.objects.all()}
        self.field_columns = [(i, self.fields[t[len(FIELD_PREFIX):]])
                              for i, t in enumerate(targets) if t.startswith(FIELD_PREFIX)]
        self.identity_columns = [i for i, t in enumerate(targets) if t in IDENTITY_TARGETS]
        # Columns that go to check_contact_data (custom fields are parsed on their own).
        self.data_columns = [(i, t) for i, t in enumerate(targets)
                             if t and not t.startswith((FIELD_PREFIX, CONSENT_PREFIX))]
        self.writer = BulkUpsert(actor, source=SOURCE,
                                 fields=[cf for _i, cf in self.field_columns],
                                 tags="tags" in targets or bool(tag))

    # --- rows -------------------------------------------------------------------------------

    def run(self) -> Totals:
        with _older_objects_frozen():
            return self._run()

    def _run(self) -> Totals:
        batch: list[_Row] = []
        pending = 0
        for number, cells in self.table.rows():
            if all(isinstance(c, str) and not c.strip() for c in cells):
                continue  # blank lines are not rows
            self.totals.read += 1
            pending += 1
            row = self._parse(number, cells)
            if row is not None:
                batch.append(row)
            if pending >= self.batch_size:
                self._flush(batch)
                batch, pending = [], 0
        self._flush(batch)
        return self.totals

    def _reject(self, number: int, cells: list[Cell], column: str, value: Any,
                reason: str) -> None:
        self.report.add(Rejection(number, column, _text(value) if value is not None else "",
                                  str(reason)), cells)

    def _parse(self, number: int, cells: list[Cell]) -> _Row | None:
        headers = self.table.headers
        if len(cells) != len(headers):
            extra = cells[len(headers):]
            if len(cells) < len(headers) or not all(isinstance(c, str) and not c.strip()
                                                    for c in extra):
                self.totals.rejected += 1
                self._reject(number, cells, "", "",
                             _("This row has %(cells)d cells but the header has %(columns)d "
                               "columns.") % {"cells": len(cells), "columns": len(headers)})
                return None
            cells = cells[:len(headers)]
        raw: dict[str, Any] = {}
        for i, target in self.data_columns:
            value = cells[i]
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            if target in ("email", "phone"):
                raw.setdefault(target, []).extend(
                    v.strip() for v in _LIST_SPLIT.split(_text(value)) if v.strip())
            elif target == "tags":
                raw.setdefault("tags", []).extend(
                    v for v in _LIST_SPLIT.split(_text(value)) if v.strip())
            elif target == "birthday":
                raw[target] = value
            else:
                raw[target] = _text(value)
        if self.tag:
            raw.setdefault("tags", []).append(self.tag)
        errors: dict[str, str] = {}
        try:
            data = check_contact_data(raw, require_identity=True)
        except ContactInvalid as exc:
            errors.update(exc.errors)
        values = {}
        for i, cf in self.field_columns:
            try:
                value = parse_field_value(cf, cells[i])
            except InvalidValue as exc:
                errors[exc.field] = str(exc.message)
                continue
            if value is not None:  # an empty cell leaves the stored value alone
                values[cf.key] = value
        consent = None
        if self.plan is not None:
            consent, consent_errors = read_row(self.plan, cells)
            errors.update(consent_errors)
        if errors:
            self.totals.rejected += 1
            for name, reason in errors.items():
                self._reject_field(number, cells, name, reason)
            return None
        # Upserts fill what is given and never wipe: an empty cell means "not given".
        data.scalars = {k: v for k, v in data.scalars.items() if v not in (None, "")}
        data.fields = values or None
        return _Row(number, cells, data, data.identity_keys(), consent)

    def _reject_field(self, number: int, cells: list[Cell], name: str, reason: str) -> None:
        """Name the column (and its value) behind an error of check_contact_data."""
        headers = self.table.headers
        columns = [i for i, t in enumerate(self.targets) if t == name]
        if name in IDENTITY_TARGETS:
            given = [i for i in self.identity_columns if _text(cells[i]).strip()]
            if not given:  # neither an e-mail nor a mobile
                self._reject(number, cells, ", ".join(headers[i] for i in self.identity_columns),
                             "", reason)
                return
            if not any(_text(cells[i]).strip() for i in columns):
                # "An e-mail or a mobile is required" beside a bad mobile: that one says it.
                return
            # check_contact_data keeps one message per field: find each bad cell again.
            found = False
            for i in columns:
                value = _text(cells[i]).strip()
                for part in (p.strip() for p in _LIST_SPLIT.split(value) if p.strip()):
                    try:
                        check_contact_data({name: part})
                    except ContactInvalid as exc:
                        found = True
                        self._reject(number, cells, headers[i], part,
                                     exc.errors.get(name, reason))
            if found:
                return
        if not columns:
            self._reject(number, cells, "", "", reason)
            return
        for i in columns:
            self._reject(number, cells, headers[i], cells[i], reason)

    # --- batches ----------------------------------------------------------------------------

    def _flush(self, batch: list[_Row]) -> None:
        if batch:
            counts = Totals()
            groups = [_Group(rows, _combine(rows)) for rows in self._groups(batch)]
            with transaction.atomic():
                # contacts writes them; this counts and reports.
                done = self.writer.write(
                    [BulkItem(g.rows[0].number, g.data) for g in groups],
                    owners=find_owners(k for row in batch for k in row.keys))
                for i in done.refused:
                    counts.rejected += len(groups[i].rows)
                    for row in groups[i].rows:
                        self._reject(row.number, row.cells, "", "", done.outcomes[i].refused)
                for group, outcome in zip(groups, done.outcomes, strict=True):
                    group.contact_id = outcome.contact_id
                    if outcome.contact_id is None:
                        continue
                    if outcome.created:
                        counts.created += 1
                        counts.merged += len(group.rows) - 1
                    else:
                        self._count(group, done.owners, counts)
                if self.plan is not None:
                    self._subscriptions(groups)
            self.totals.add(counts)
        if self.progress:
            self.progress(self.totals, self.table.position(), self.table.total)

    @staticmethod
    def _groups(batch: list[_Row]) -> list[list[_Row]]:
        """Rows of the batch that share an identity, in file order."""
        uf = _UnionFind(len(batch))
        first: dict[Key, int] = {}
        for i, row in enumerate(batch):
            for key in row.keys:
                j = first.setdefault(key, i)
                if j != i:
                    uf.union(i, j)
        groups: dict[int, list[_Row]] = {}
        for i, row in enumerate(batch):
            groups.setdefault(uf.find(i), []).append(row)
        return list(groups.values())

    def _subscriptions(self, groups: list[_Group]) -> None:
        """Hand what the batch's rows say about consent to consent, and report each row
        whose subscription was not recorded as given, with the reason."""
        assert self.plan is not None and self.attestation is not None and self.consent
        entries, rows = [], {}
        for group in groups:
            if group.contact_id is None:
                continue
            for row in group.rows:
                if row.consent is None:
                    continue
                c = row.consent
                rows[row.number] = row
                entries.append(ImportedConsent(
                    row=row.number, contact_id=group.contact_id, channel=c.channel,
                    status=c.status, topic_ids=c.topic_ids, opted_in_at=c.opted_in_at,
                    evidence=c.evidence, source_status=c.source_status))
        if not entries:
            return
        column = self.plan.columns.get("status")
        header = self.table.headers[column] if column is not None else ""
        for outcome in do_import_consent(self.actor, self.attestation, entries):
            setattr(self.consent, outcome.outcome, getattr(self.consent, outcome.outcome) + 1)
            if outcome.outcome == "not_subscribed":
                row = rows[outcome.row]
                said = row.consent.source_status if row.consent else ""
                self._reject(row.number, row.cells, header, said,
                             _("Imported, but not subscribed: %(reason)s")
                             % {"reason": outcome.reason})

    def _count(self, group: _Group, owners: dict[Key, int], counts: Totals) -> None:
        """Each row of a group that met known contacts: "updated" when its own identities
        lead to exactly one contact that existed before this import, else "merged"."""
        for row in group.rows:
            holders = {owners.get(k) for k in row.keys}
            holder = holders.pop() if len(holders) == 1 else None
            if holder is not None and not self.writer.created_here(holder):
                counts.updated += 1
            else:
                counts.merged += 1


@contextlib.contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Each batch's rows live long enough to reach the collector's oldest generation, so
    every few batches a full collection scans all the objects the process holds (Django's
    alone are ~120k): about a seventh of a large import's time. Frozen, the objects that
    existed before the import are left out of those scans; they are handed back after."""
    if gc.get_freeze_count():  # frozen on purpose already (a pre-fork server): leave it
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class _Group:
    """Rows of one person, and what they say together."""

    rows: list[_Row]
    data: ContactData
    contact_id: int | None = None  # once written (None: rejected)


def _combine(rows: list[_Row]) -> ContactData:
    """One person's rows together, as merging them would: the first row that gives a value
    wins, later rows fill what is still blank; lists add up."""
    if len(rows) == 1:
        return rows[0].data
    scalars: dict[str, Any] = {}
    emails: list[str] = []
    phones: list[str] = []
    tags: list[str] = []
    fields: dict[str, Any] = {}
    for row in rows:
        for name, value in row.data.scalars.items():
            scalars.setdefault(name, value)
        for mine, theirs in ((emails, row.data.emails), (phones, row.data.phones),
                             (tags, row.data.tags)):
            mine.extend(v for v in theirs or [] if v not in mine)
        for key, value in (row.data.fields or {}).items():
            fields.setdefault(key, value)
    return ContactData(scalars=scalars, emails=emails, phones=phones, tags=tags or None,
                       fields=fields or None)


# --- entry points -------------------------------------------------------------------------------

def check_import_tag(actor: Actor, tag: str | None) -> str:
    """The tag every imported contact gets, normalised; "" for none. A tag that does not
    exist yet is created only for a role that manages tags (refused before any row)."""
    if not (tag or "").strip():
        return ""
    try:
        data = check_contact_data({"tags": [tag]})
        check_new_tags(actor, data.tags)
    except ContactInvalid as exc:
        raise ImportFailed("; ".join(exc.errors.values()))
    return (data.tags or [""])[0]


@dataclass
class Preview:
    """The head of a file, as the mapping page shows it."""

    kind: str
    encoding: str
    delimiter: str
    headers: list[str]
    rows: list[list[str]]
    targets: list[str]  # guessed from the headers, not yet checked


def preview_file(path: Path | str, *, rows: int = 5) -> Preview:
    try:
        with open_table(path) as table:
            sample = []
            for _number, cells in table.rows():
                if any(_text(c).strip() for c in cells):
                    sample.append([_text(c) for c in cells])
                if len(sample) >= rows:
                    break
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    targets = auto_mapping(table.headers, list(CustomField.objects.all()))
    return Preview(table.kind, table.encoding, table.delimiter, table.headers, sample, targets)


def mapping_for_file(path: Path | str, *, mapping: dict[str, str] | None = None,
                     targets: list[str] | None = None) -> list[str]:
    """The checked mapping for this file: `targets` as given, or the headers' guesses with
    `mapping` on top. ImportFailed says what is wrong."""
    fields = list(CustomField.objects.all())
    try:
        with open_table(path) as table:
            if targets is not None:
                return check_mapping(table.headers, targets, fields)
            return resolve_mapping(table.headers, mapping, fields)
    except (UnreadableFile, MappingError) as exc:
        raise ImportFailed(str(exc))


def _open_report(path: Path | str | None) -> IO[str] | None:
    if path is None:
        return None
    # Rejected rows are personal data: readable by the importing account only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # utf-8-sig: Excel needs the BOM to show Persian.
    return open(fd, "w", encoding="utf-8-sig", newline="")


def plan_subscriptions(actor: Actor, targets: list[str],
                       subscriptions: Subscriptions | None) -> Plan | None:
    """The checked subscriptions of an import (None without any); ImportFailed says what is
    missing, PermissionDenied that only an owner may import consent."""
    try:
        plan = check_subscriptions(actor, targets, subscriptions)
        if plan is not None:
            check_attestation(plan.subscriptions.attestation)
    except SubscriptionsInvalid as exc:
        raise ImportFailed(str(exc))
    except ConsentInvalid as exc:
        raise ImportFailed(str(exc))
    return plan


def import_contacts(actor: Actor, path: Path | str, *, mapping: dict[str, str] | None = None,
                    targets: list[str] | None = None, tag: str | None = None,
                    report_path: Path | str | None = None, progress: Progress | None = None,
                    batch_size: int = BATCH_SIZE,
                    subscriptions: Subscriptions | None = None) -> ImportResult:
    """Import the contacts in `path` (CSV or XLSX).

    `targets` is a complete mapping (one field per column, as the mapping page posts it);
    otherwise columns are mapped from their headers with `mapping` ({column: field}) on top.
    `subscriptions` (and consent columns in the mapping): consent the people gave in another
    tool, attested by an owner; see imports.subscriptions.
    Raises ImportFailed when the file cannot be read or the mapping cannot be used.
    """
    require(actor, "contacts.edit")
    tag = check_import_tag(actor, tag)
    try:
        table = open_table(path)
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    with table, contextlib.ExitStack() as stack:
        fields = list(CustomField.objects.all())
        try:
            if targets is not None:
                targets = check_mapping(table.headers, targets, fields)
            else:
                targets = resolve_mapping(table.headers, mapping, fields)
        except MappingError as exc:
            raise ImportFailed(str(exc))
        plan = plan_subscriptions(actor, targets, subscriptions)
        attestation = None
        if plan is not None:
            attestation = do_attest_import(actor, plan.subscriptions.attestation,
                                           evidence=plan.subscriptions.evidence,
                                           filename=Path(path).name)
        report = _open_report(report_path)
        if report is not None:
            stack.enter_context(report)
        run = ContactImport(actor, table, targets, tag=tag, report=report, progress=progress,
                            batch_size=batch_size, plan=plan, attestation=attestation)
        try:
            totals = run.run()
        except UnreadableFile as exc:
            raise ImportFailed(str(exc))
    details: dict[str, Any] = {"file": Path(path).name, **totals.as_dict()}
    if run.consent is not None:
        details["consent"] = run.consent.as_dict()
        details["attestation"] = attestation.pk if attestation else None
    record_audit(actor, "contacts.import", target_type="contact",
                 summary=totals.line(), details=details)
    return ImportResult(totals, table.kind, table.encoding, table.delimiter, table.headers,
                        targets, run.report.sample, run.consent)


# --- background jobs ------------------------------------------------------------------------

def report_path_for(job: Job) -> Path | None:
    from peyvand.imports.uploads import job_dir

    folder = job_dir(job)
    return folder / "rejected.csv" if folder else None


@transaction.atomic
def do_start_import_job(actor: Actor, upload_path: Path, filename: str, targets: list[str],
                        tag: str = "", subscriptions: Subscriptions | None = None) -> Job:
    """Queue the import of an uploaded file; the worker starts once this transaction commits."""
    require(actor, "contacts.edit")
    from peyvand.imports.uploads import mark_started, relative

    params: dict[str, Any] = {"path": relative(upload_path), "filename": filename,
                              "targets": targets, "tag": check_import_tag(actor, tag)}
    if plan_subscriptions(actor, targets, subscriptions) is not None:
        assert subscriptions is not None
        params["subscriptions"] = subscriptions.as_params()
    job = create_job(actor, JOB_KIND, params)
    mark_started(upload_path, job)
    from peyvand.imports.tasks import import_contacts_task

    enqueue_on_commit(import_contacts_task, job.pk)
    return job


def job_progress(job: Job) -> Progress:
    """Record progress (and the running totals) on the job, once per batch."""
    def report(totals: Totals, done: int, total: int | None) -> None:
        if total and total > 2**31 - 1:  # bytes of a file over 2 GB: keep within the column
            done, total = done >> 10, total >> 10
        set_progress(job, done, total)
        Job.objects.filter(pk=job.pk).update(result={"totals": totals.as_dict()})

    return report


def _import_contacts(actor: Actor, source: Path, job: Job) -> ImportResult:
    return import_contacts(actor, source, targets=job.params.get("targets"),
                           tag=job.params.get("tag"), report_path=report_path_for(job),
                           progress=job_progress(job),
                           subscriptions=Subscriptions.from_params(
                               job.params.get("subscriptions")))


def run_import_job(job_id: int) -> dict[str, Any] | None:
    """Body of the import task: run the import as the job's creator and record the totals."""
    from peyvand.imports.jobs import run_job

    return run_job(job_id, JOB_KIND, _import_contacts)
