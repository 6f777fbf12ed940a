"""A contact's data out (export) and gone (erasure), with every app's hooks."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import forget_in_audit, record_audit
from peyvand.base.db import forget_freed_pages
from peyvand.base.jobs import forget_in_jobs
from peyvand.base.models import AuditEntry
from peyvand.base.roles import require
from peyvand.base.scrub import Needles
from peyvand.contacts.actions.data import SCALARS
from peyvand.contacts.hooks import (
    ADDRESS_HOOKS,
    BEFORE_ERASE_HOOKS,
    ERASE_COPIES_HOOKS,
    ERASE_HOOKS,
    EXPORT_HOOKS,
)
from peyvand.contacts.models import Contact, ContactTag, Identity
from peyvand.contacts.timeline import append_event

logger = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --- export / erase (E6) ----------------------------------------------------------------------

def contact_snapshot(contact: Contact) -> dict[str, Any]:
    """Everything Peyvand holds about one person, as JSON-ready data."""
    data: dict[str, Any] = {"id": contact.pk}
    for name in SCALARS:
        data[name] = getattr(contact, name)
    data["created_at"] = contact.created_at
    data["updated_at"] = contact.updated_at
    data["erased_at"] = contact.erased_at
    idents = list(contact.identities.all())
    data["emails"] = [i.value for i in idents if i.kind == Identity.Kind.EMAIL]
    data["phones"] = [i.value for i in idents if i.kind == Identity.Kind.PHONE]
    data["external_ids"] = [{"source": i.source, "id": i.value} for i in idents
                            if i.kind == Identity.Kind.EXTERNAL]
    data["tags"] = sorted(t.name for t in contact.tags.all())
    data["fields"] = {fv.field.key: fv.value for fv in
                      contact.field_values.select_related("field")}
    data["notes"] = [{"body": n.body, "author": n.author_label, "created_at": n.created_at}
                     for n in contact.notes.all()]
    data["timeline"] = [{"kind": e.kind, "at": e.at, "actor": e.actor_label, "data": e.data}
                        for e in contact.timeline.all()]
    return jsonable(data)


def contact_export(contact: Contact) -> dict[str, Any]:
    """The subject-access export: the contact's own data, then every floor's section
    (orders, consent, messages, tracking, insights ...) through EXPORT_HOOKS."""
    data = contact_snapshot(contact)
    for hook in EXPORT_HOOKS:
        for section, value in hook(contact.pk).items():
            if section in data:  # two floors must never overwrite each other's section
                raise RuntimeError(f"export section {section!r} is given twice")
            data[section] = jsonable(value)
    return data


@transaction.atomic
def do_export_contact(actor: Actor, contact: Contact) -> dict[str, Any]:
    require(actor, "contacts.export")
    record_audit(actor, "contact.export", target_type="contact", target_id=contact.pk,
                 summary=_("Personal data export"))
    return contact_export(contact)


def _merge_entries(contact_id: int) -> list[AuditEntry]:
    """The audit entries of every merge into this contact, and into those merged into it."""
    entries: list[AuditEntry] = []
    todo, seen = [str(contact_id)], set()
    while todo:
        target = todo.pop()
        if target in seen:
            continue
        seen.add(target)
        for entry in AuditEntry.objects.filter(action="contact.merge", target_type="contact",
                                               target_id=target):
            entries.append(entry)
            merged = (entry.details or {}).get("merged") or {}
            if merged.get("id"):
                todo.append(str(merged["id"]))
    return entries


def _needles(contact: Contact, merges: list[AuditEntry]) -> Needles:
    """Every address, number and ID the person was known by: identities, the snapshots of
    contacts merged into them, and what the floors above still hold (ADDRESS_HOOKS)."""
    values = [i.value for i in contact.identities.all() if i.kind != Identity.Kind.EXTERNAL]
    values.append(contact.national_id)
    for entry in merges:
        merged = (entry.details or {}).get("merged") or {}
        values += [*merged.get("emails", []), *merged.get("phones", []),
                   merged.get("national_id") or ""]
    for hook in ADDRESS_HOOKS:
        values += [str(v) for v in hook(contact.pk) if v]
    return Needles.of(values)


def _tally(done: dict[str, Any], result: dict[str, Any] | None) -> None:
    for name, value in (result or {}).items():
        if isinstance(value, list):
            done.setdefault(name, []).extend(value)
        elif value:
            done[name] = done.get(name, 0) + value


@transaction.atomic
def do_erase_contact(actor: Actor, contact: Contact) -> None:
    """Remove every copy of the person's data; the anonymous row stays for aggregates.

    Rows linked to the contact are emptied here and by the floors' ERASE_HOOKS; copies kept
    by address (merge snapshots, audit and job rows, caught mail, export and report files)
    are found by the person's addresses (ERASE_COPIES_HOOKS). The audit entry counts what
    was done and names nobody. Once committed, copies are looked for again (an export that
    was being written meanwhile) and SQLite's write-ahead log is emptied into the database
    file, whose freed space is zeroed (secure_delete; docs/security.md for PostgreSQL).
    """
    require(actor, "contacts.erase")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased_at:
        return
    started = timezone.now()
    merges = _merge_entries(contact.pk)
    needles = _needles(contact, merges)
    done: dict[str, Any] = {"timeline_entries": contact.timeline.count()}
    for hook in BEFORE_ERASE_HOOKS:
        _tally(done, hook(contact.pk))
    contact.identities.all().delete()
    contact.field_values.all().delete()
    contact.notes.all().delete()
    ContactTag.objects.filter(contact=contact).delete()
    # Keep each event's kind and time (anonymous counts), drop what it said.
    contact.timeline.update(data={}, actor_label="")
    for name in ("first_name", "last_name", "national_id", "source"):
        setattr(contact, name, "")
    contact.birthday = None
    contact.search_text = ""
    contact.erased_at = timezone.now()
    contact.save()
    for hook in ERASE_HOOKS:
        _tally(done, hook(contact.pk))
    # A merge's audit entry kept the merged contact's snapshot: keep only which fields
    # conflicted.
    for entry in merges:
        details = entry.details or {}
        AuditEntry.objects.filter(pk=entry.pk).update(details={
            "merged": {"id": (details.get("merged") or {}).get("id"), "erased": True},
            "resolution": [{"field": r.get("field"), "conflict": r.get("conflict")}
                           for r in details.get("resolution") or []]})
    _tally(done, {"merge_snapshots": len(merges), "audit_entries": forget_in_audit(needles),
                  "jobs": forget_in_jobs(needles)})
    for hook in ERASE_COPIES_HOOKS:
        _tally(done, hook(needles))
    append_event(contact.pk, "contact.erased", {}, actor=None)
    record_audit(actor, "contact.erase", target_type="contact", target_id=contact.pk,
                 summary=_("Personal data erased"), details=done)
    contact_id = contact.pk
    transaction.on_commit(lambda: _after_erasure(actor, contact_id, needles, started))


def _after_erasure(actor: Actor, contact_id: int, needles: Needles,
                   started: dt.datetime) -> None:
    """Copies made while the erasure ran (an export being written) go too; then the freed
    database pages are written over. The erasure has committed: a failure here is logged
    for the operator, not raised at the person who asked for it."""
    try:
        with transaction.atomic():
            late: dict[str, Any] = {}
            for hook in ERASE_COPIES_HOOKS:
                _tally(late, hook(needles, since=started))
            if late:
                record_audit(actor, "contact.erase", target_type="contact",
                             target_id=contact_id, summary=_("Late copies erased"),
                             details=late)
        forget_freed_pages()
    except Exception:
        logger.exception("erasure of contact #%s: copies made meanwhile not looked for",
                         contact_id)
