"""The contact import engine: rows in, contacts created, updated or merged, the rest reported.

A file is read as a stream and handled in batches (BATCH_SIZE rows, one transaction each), so
memory stays flat and an interrupted import can simply be run again: identities are unique,
so rows already imported find their contact and change nothing.

Per batch:
1. each row is normalised by contacts.actions.check_contact_data (rejected rows go to the
   report with row number, column, value and reason);
2. rows sharing an e-mail or mobile are joined (union-find): they are one person;
3. the owners of every identity in the batch are looked up in one query;
4. groups nobody owns yet are written in bulk (contacts, identities, tags, field values and a
   "contact.created" timeline event each);
5. groups that touch existing contacts go through contacts.actions.do_upsert_contact, one
   call per group (which also merges when a row links several contacts) — unless it would
   change nothing, which is checked against state loaded in bulk, so importing a file twice
   costs little and writes nothing the second time.

Rows about one person are merged as contacts are: the first row of the file that gives a
value wins, later rows only fill blanks. (Letting later rows win would flip a value back and
forth on every re-import when the two rows fall into different batches.) Against a contact
that existed before the import, the first row updates like any upsert.

Each row is counted once: read = created + updated + merged + rejected. A row whose
identities lead to exactly one contact that existed before the import is "updated" (changed
or not); one that joins several contacts, or a contact an earlier row of the same file
created, is "merged".
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import logging
import os
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.jobs import create_job, fail_job, finish_job, job_actor, set_progress, start_job
from peyvand.base.models import Job
from peyvand.base.normalise import InvalidValue
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import can, require
from peyvand.consent.actions import (
    ConsentInvalid,
    ImportedConsent,
    check_attestation,
    do_attest_import,
    do_import_consent,
)
from peyvand.consent.models import Attestation
from peyvand.contacts.actions import (
    SCALARS,
    ContactData,
    ContactInvalid,
    IdentityConflict,
    check_contact_data,
    check_new_tags,
    do_upsert_contact,
    find_owners,
    search_text_for,
)
from peyvand.contacts.export import csv_cell
from peyvand.contacts.fields import parse_field_value
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    CustomField,
    FieldValue,
    Identity,
    Tag,
    TimelineEvent,
)
from peyvand.imports.bulk import insert_rows
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
# Scalars an earlier row of the file set and a later merge must keep ("source" is where a
# contact came from, not something a row says).
_KEPT_SCALARS = tuple(name for name in SCALARS if name != "source")
# Every column of a new contact / field value, with the model's defaults.
_NEW_CONTACT = {f.attname: str(v) if isinstance(v := f.get_default(), str) else v
                for f in Contact._meta.concrete_fields if not f.primary_key} | {"source": SOURCE}
_NO_VALUE = dict.fromkeys(set(FieldValue.COLUMN.values()))
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


@dataclass
class _State:
    """What an existing contact holds, to tell whether a row would change anything."""

    scalars: dict[str, Any]
    tags: set[int] = field(default_factory=set)
    fields: dict[int, Any] = field(default_factory=dict)


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
        self.tag_ids: dict[str, int] = {}
        self.created = _IdSet()  # contacts this run created
        self.first_row = _FirstRow()  # contact -> the first row of this run that named it

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
            owners = find_owners(k for row in batch for k in row.keys)
            new: list[_Group] = []
            old: list[_Group] = []
            for group in groups:
                known = any(k in owners for row in group.rows for k in row.keys)
                (old if known else new).append(group)
            with transaction.atomic():
                if new:
                    new = self._refuse_new_tags(new, counts)
                    for group in new:
                        for name in group.data.tags or []:
                            # Outside the bulk savepoint: a rolled-back tag must not be cached.
                            self._tag_id(name, create=True)
                    try:
                        with transaction.atomic():
                            created = self._create(new)
                    except IntegrityError:
                        # Someone attached one of these identities since the look-up:
                        # take these rows the careful way.
                        old = new + old
                        owners = find_owners(k for row in batch for k in row.keys)
                    else:
                        for group, pk in zip(new, created, strict=True):
                            group.contact_id = pk
                            self.created.add(pk)
                            self.first_row.set(pk, group.rows[0].number)
                            counts.created += 1
                            counts.merged += len(group.rows) - 1
                self._update(old, owners, counts)
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

    def _refuse_new_tags(self, groups: list[_Group], counts: Totals) -> list[_Group]:
        """New people are written in bulk, past do_upsert_contact: hold their tags to the
        same rule (creating a tag needs schema.manage). Rows naming a tag that does not exist
        are rejected with the reason, as they are for people already known."""
        if can(self.actor, "schema.manage"):
            return groups
        kept = []
        for group in groups:
            try:
                check_new_tags(self.actor, group.data.tags)
            except ContactInvalid as exc:
                counts.rejected += len(group.rows)
                for row in group.rows:
                    self._reject(row.number, row.cells, "", "", "; ".join(exc.errors.values()))
            else:
                kept.append(group)
        return kept

    def _tag_id(self, name: str, *, create: bool) -> int | None:
        if name not in self.tag_ids:
            if create:
                self.tag_ids[name] = Tag.objects.get_or_create(name=name)[0].pk
            else:
                pk = Tag.objects.filter(name=name).values_list("pk", flat=True).first()
                if pk is None:
                    return None
                self.tag_ids[name] = pk
        return self.tag_ids[name]

    # --- new people: in bulk ----------------------------------------------------------------

    def _create(self, groups: list[_Group]) -> list[int]:
        now = timezone.now()
        people = []
        for group in groups:
            data = group.data
            row = {**_NEW_CONTACT, "created_at": now, "updated_at": now, **data.scalars}
            row["search_text"] = search_text_for(
                row["first_name"], row["last_name"], row["national_id"],
                [(Identity.Kind.EMAIL, e) for e in data.emails or []]
                + [(Identity.Kind.PHONE, p) for p in data.phones or []])
            people.append(row)
        ids = insert_rows(Contact, people, with_ids=True)
        identities, tags, values, events = [], [], [], []
        created = {"source": SOURCE}
        for pk, group in zip(ids, groups, strict=True):
            data = group.data
            for kind, found in ((Identity.Kind.EMAIL, data.emails),
                                (Identity.Kind.PHONE, data.phones)):
                identities += [{"contact_id": pk, "kind": kind, "source": "", "value": v,
                                "is_primary": n == 0, "created_at": now}
                               for n, v in enumerate(found or [])]
            tags += [{"contact_id": pk, "tag_id": self.tag_ids[t], "added_at": now}
                     for t in data.tags or []]
            for key, value in (data.fields or {}).items():
                cf = self.fields[key]
                values.append({**_NO_VALUE, "contact_id": pk, "field_id": cf.pk,
                               FieldValue.COLUMN[cf.type]: value})
            events.append({"contact_id": pk, "kind": "contact.created", "at": now,
                           "actor_label": self.actor.label, "data": created})
        insert_rows(Identity, identities)
        insert_rows(ContactTag, tags)
        insert_rows(FieldValue, values)
        insert_rows(TimelineEvent, events)
        return ids

    # --- people we know: one upsert per group, unless nothing would change ------------------

    def _states(self, ids: set[int]) -> dict[int, _State]:
        states = {c["pk"]: _State(scalars=c) for c in
                  Contact.objects.filter(pk__in=ids).values("pk", *SCALARS)}
        if any(t == "tags" for t in self.targets) or self.tag:
            for cid, tid in ContactTag.objects.filter(contact_id__in=ids).values_list(
                    "contact_id", "tag_id"):
                states[cid].tags.add(tid)
        if self.field_columns:
            wanted = {cf.pk: cf for _i, cf in self.field_columns}
            for fv in FieldValue.objects.filter(contact_id__in=ids, field_id__in=wanted):
                fv.field = wanted[fv.field_id]
                states[fv.contact_id].fields[fv.field_id] = fv.value
        return states

    def _unchanged(self, data: ContactData, state: _State | None) -> bool:
        if state is None:
            return False
        for name, value in data.scalars.items():
            if state.scalars.get(name) != value:
                return False
        for name in data.tags or []:
            if self._tag_id(name, create=False) not in state.tags:
                return False
        for key, value in (data.fields or {}).items():
            if state.fields.get(self.fields[key].pk) != value:
                return False
        return True

    def _earlier_rows_win(self, data: ContactData, earlier: list[_State]) -> ContactData:
        """What a group writes when earlier rows of this file named some of its contacts
        already (`earlier`, in the order those rows came): their values stand, the group only
        fills blanks — as a merge would — and they beat the survivor's own older values,
        so a second run of the file finds nothing to change."""
        scalars: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        for state in earlier:
            for name, value in state.scalars.items():
                if name in _KEPT_SCALARS and value not in (None, ""):
                    scalars.setdefault(name, value)
            for _i, cf in self.field_columns:
                if cf.pk in state.fields:
                    fields.setdefault(cf.key, state.fields[cf.pk])
        for name, value in data.scalars.items():
            scalars.setdefault(name, value)
        for key, value in (data.fields or {}).items():
            fields.setdefault(key, value)
        return replace(data, scalars=scalars, fields=fields or None)

    def _update(self, groups: list[_Group], owners: dict[Key, int], counts: Totals) -> None:
        if not groups:
            return
        states = self._states({owners[k] for g in groups for k in g.data.identity_keys()
                               if k in owners})
        for group in groups:
            holders = {owners.get(k) for k in group.data.identity_keys()}
            owned = sorted(pk for pk in holders if pk is not None)
            missing = {pk for pk in owned if pk not in states}
            if missing:
                states.update(self._states(missing))
            data = group.data
            earlier = sorted((self.first_row.get(pk), pk) for pk in owned
                             if self.first_row.get(pk))
            if earlier:
                data = self._earlier_rows_win(data, [states[pk] for _row, pk in earlier
                                                     if pk in states])
            if len(holders) == 1 and owned and self._unchanged(data, states.get(owned[0])):
                group.contact_id = owned[0]
                self.first_row.set(owned[0], group.rows[0].number)
                self._count(group, owners, counts)
                continue
            try:
                result = do_upsert_contact(self.actor, data)
            except (ContactInvalid, IdentityConflict, PermissionDenied) as exc:
                counts.rejected += len(group.rows)
                if isinstance(exc, ContactInvalid):
                    reason = "; ".join(exc.errors.values())
                else:
                    reason = str(exc)
                for row in group.rows:
                    self._reject(row.number, row.cells, "", "", reason)
                continue
            # What they hold now is no longer what was loaded; reload when met again.
            for pk in owned:
                states.pop(pk, None)
            group.contact_id = result.contact.pk
            self.first_row.set(result.contact.pk, group.rows[0].number)
            if result.created:  # its contact was erased or merged away meanwhile
                self.created.add(result.contact.pk)
                counts.created += 1
                counts.merged += len(group.rows) - 1
            else:
                self._count(group, owners, counts)

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
            if len(holders) == 1 and None not in holders \
                    and holders.pop() not in self.created:
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


class _FirstRow:
    """contact id -> the first row number of this run that named it, in a flat array indexed
    by id (4 bytes each: 4 MB for a million contacts, where a dict would take ~100 MB)."""

    LIMIT = 1 << 25

    def __init__(self) -> None:
        self.rows = array("I")
        self.rest: dict[int, int] = {}

    def get(self, pk: int) -> int:
        if 0 <= pk < len(self.rows):
            return self.rows[pk]
        return self.rest.get(pk, 0)

    def set(self, pk: int, row: int) -> None:
        if self.get(pk):
            return
        if pk < 0 or pk >= self.LIMIT:
            self.rest[pk] = row
            return
        if pk >= len(self.rows):
            self.rows.extend(array("I", bytes(4 * (pk + 1 - len(self.rows) + 65536))))
        self.rows[pk] = row


class _IdSet:
    """Contact ids as bits: a million contacts take 125 kB, not the ~60 MB of a set.
    (Ids beyond the bitmap's reach, which sequences do not hand out, go to a plain set.)"""

    LIMIT = 1 << 27  # at most a 16 MB bitmap

    def __init__(self) -> None:
        self.bits = bytearray()
        self.rest: set[int] = set()

    def add(self, pk: int) -> None:
        if pk >= self.LIMIT or pk < 0:
            self.rest.add(pk)
            return
        index = pk >> 3
        if index >= len(self.bits):
            self.bits.extend(bytes(index + 1 - len(self.bits) + 4096))
        self.bits[index] |= 1 << (pk & 7)

    def __contains__(self, pk: object) -> bool:
        if not isinstance(pk, int):
            return False
        if pk >= self.LIMIT or pk < 0:
            return pk in self.rest
        index = pk >> 3
        return index < len(self.bits) and bool(self.bits[index] & (1 << (pk & 7)))


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


def run_import_job(job_id: int) -> dict[str, Any] | None:
    """Body of the import task: run the import as the job's creator and record the totals."""
    from peyvand.imports.uploads import resolve

    job = Job.objects.filter(pk=job_id, kind=JOB_KIND).first()
    if job is None:
        logger.warning("import job %s does not exist", job_id)
        return None
    if job.status != Job.Status.QUEUED:  # delivered twice: do not import twice
        return job.result
    start_job(job)
    language = "fa"
    try:
        actor = job_actor(job)
        if actor.user is not None and hasattr(actor.user, "profile"):
            language = actor.user.profile.language
        source = resolve(job.params.get("path", ""))
        with translation.override(language):
            result = import_contacts(actor, source, targets=job.params.get("targets"),
                                     tag=job.params.get("tag"),
                                     report_path=report_path_for(job),
                                     progress=job_progress(job),
                                     subscriptions=Subscriptions.from_params(
                                         job.params.get("subscriptions")))
    except (ImportFailed, PermissionDenied) as exc:
        fail_job(job, str(exc))
        return None
    except Exception as exc:
        logger.exception("import job %s failed", job.pk)
        with translation.override(language):
            fail_job(job, _("The import failed: %(error)s") % {"error": exc})
        return None
    finally:
        # The uploaded file is personal data nobody needs once read; the report stays.
        with contextlib.suppress(Exception):
            resolve(job.params.get("path", "")).unlink()
    finish_job(job, {**result.as_dict(), "filename": job.params.get("filename", "")})
    return job.result
