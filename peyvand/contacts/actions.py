"""Every write on contacts: create, upsert, update, identities, tags, notes, merge, erase.

UI views, API handlers, the CLI, the demo loader and (later) imports all call these, so
normalisation, role checks, timeline and audit rows happen the same way on every way in.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.actor import Actor
from peyvand.base.audit import forget_in_audit, record_audit
from peyvand.base.dates import parse_date
from peyvand.base.db import forget_freed_pages
from peyvand.base.errors import Invalid
from peyvand.base.jobs import forget_in_jobs
from peyvand.base.language import join_list
from peyvand.base.models import AuditEntry
from peyvand.base.normalise import (
    InvalidValue,
    normalise_email,
    normalise_national_id,
    normalise_phone,
    normalise_text,
    search_key,
)
from peyvand.base.roles import can, require
from peyvand.base.scrub import Needles
from peyvand.contacts.fields import fields_by_key, parse_field_value, set_field_value
from peyvand.contacts.hooks import (
    ADDRESS_HOOKS,
    BEFORE_ERASE_HOOKS,
    ERASE_COPIES_HOOKS,
    ERASE_HOOKS,
    EXPORT_HOOKS,
    MERGE_HOOKS,
)
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    FieldValue,
    Identity,
    Note,
    Tag,
    TimelineEvent,
)
from peyvand.contacts.timeline import append_event

logger = logging.getLogger(__name__)

SCALARS = ("first_name", "last_name", "language", "timezone", "birthday", "national_id",
           "source")
_TIMEZONES: set[str] = set()


class ContactInvalid(Invalid):
    """Input that cannot be saved; `errors` maps each field to what is wrong with it."""


# The API names an identity by the input field that carries it.
_IDENTITY_FIELD = {"email": "email", "phone": "phone", "external": "external_ids"}


class IdentityConflict(Invalid):
    """An identity being attached already belongs to another contact (409, naming it)."""

    status = 409

    def __init__(self, field_name: str, value: str, owner_id: int):
        message = _("%(value)s already belongs to contact #%(id)s; merge the two contacts "
                    "instead.") % {"value": value, "id": owner_id}
        super().__init__({_IDENTITY_FIELD.get(field_name, field_name): message},
                         owner_id=owner_id)
        self.field = field_name
        self.value = value
        self.owner_id = owner_id
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class ContactData:
    """Validated input; None means "not given" (left as it is)."""

    scalars: dict[str, Any] = field(default_factory=dict)
    emails: list[str] | None = None
    phones: list[str] | None = None
    externals: list[tuple[str, str]] | None = None
    tags: list[str] | None = None
    fields: dict[str, Any] | None = None  # key -> typed value (None clears)

    def identity_keys(self) -> list[tuple[str, str, str]]:
        keys: list[tuple[str, str, str]] = [(Identity.Kind.EMAIL, "", e)
                                            for e in self.emails or []]
        keys += [(Identity.Kind.PHONE, "", p) for p in self.phones or []]
        keys += [(Identity.Kind.EXTERNAL, s, v) for s, v in self.externals or []]
        return keys


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _check_timezone(value: str) -> str:
    if not _TIMEZONES:
        _TIMEZONES.update(zoneinfo.available_timezones())
    if value not in _TIMEZONES:
        raise InvalidValue("timezone", _("“%(value)s” is not a known time zone (e.g. "
                                         "Asia/Tehran).") % {"value": value}, value)
    return value


def check_contact_data(raw: dict[str, Any], *, require_identity: bool = False) -> ContactData:
    """Normalise and validate everything in `raw`; collects every error before raising."""
    errors: dict[str, str] = {}
    data = ContactData()

    def attempt(name: str, fn, value):
        try:
            return fn(value)
        except InvalidValue as exc:
            errors[exc.field or name] = str(exc.message)
            return None

    for name in ("first_name", "last_name"):
        if name in raw and raw[name] is not None:
            text = normalise_text(str(raw[name]))
            if len(text) > 150:
                errors[name] = _("At most 150 characters.")
            data.scalars[name] = text
    if raw.get("language") is not None:
        lang = str(raw["language"]).strip().lower()[:2]
        if lang not in Contact.Language.values:
            errors["language"] = _("Language must be fa or en.")
        data.scalars["language"] = lang
    if raw.get("timezone") is not None:
        data.scalars["timezone"] = attempt("timezone", _check_timezone, str(raw["timezone"]))
    if "birthday" in raw:
        birthday = attempt("birthday", lambda v: parse_date(v, "birthday"), raw["birthday"])
        if birthday and birthday > timezone.localdate():
            errors["birthday"] = _("A birthday cannot be in the future.")
        data.scalars["birthday"] = birthday
    if "national_id" in raw:
        value = raw["national_id"]
        data.scalars["national_id"] = (
            attempt("national_id", normalise_national_id, value) if value else "")
    if raw.get("source") is not None:
        data.scalars["source"] = normalise_text(str(raw["source"]))[:64]

    if "emails" in raw or raw.get("email"):
        values = _as_list(raw.get("emails")) + _as_list(raw.get("email"))
        data.emails = []
        for i, v in enumerate(values):
            e = attempt("email", lambda x, i=i: normalise_email(x, "email"), v)
            if e and e not in data.emails:
                data.emails.append(e)
    if "phones" in raw or raw.get("phone"):
        values = _as_list(raw.get("phones")) + _as_list(raw.get("phone"))
        data.phones = []
        for v in values:
            p = attempt("phone", lambda x: normalise_phone(x, "phone"), v)
            if p and p not in data.phones:
                data.phones.append(p)
    if "external_ids" in raw:
        data.externals = []
        for item in _as_list(raw["external_ids"]):
            if not isinstance(item, dict) or not str(item.get("id") or "").strip() \
                    or not str(item.get("source") or "").strip():
                errors["external_ids"] = _("Each external id needs a source and an id.")
                continue
            pair = (normalise_text(str(item["source"]))[:64], str(item["id"]).strip()[:320])
            if pair not in data.externals:
                data.externals.append(pair)
    if "tags" in raw and raw["tags"] is not None:
        data.tags = []
        for t in _as_list(raw["tags"]):
            name = normalise_text(str(t))
            if len(name) > 64:
                errors["tags"] = _("A tag has at most 64 characters.")
            elif name and name not in data.tags:
                data.tags.append(name)
    if raw.get("fields"):
        if not isinstance(raw["fields"], dict):
            errors["fields"] = _("Fields must be an object of key: value.")
        else:
            known = fields_by_key()
            data.fields = {}
            for key, value in raw["fields"].items():
                cf = known.get(key)
                if cf is None:
                    errors[f"fields.{key}"] = _("There is no custom field “%(key)s”.") \
                        % {"key": key}
                    continue
                data.fields[key] = attempt(f"fields.{key}",
                                           lambda v, cf=cf: parse_field_value(cf, v), value)
    if require_identity and not (data.emails or data.phones or data.externals):
        errors.setdefault("email", _("An e-mail address or a mobile number is required."))
    if errors:
        raise ContactInvalid(errors)
    return data


# --- identities, tags, fields -----------------------------------------------------------------

def find_owners(keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    """Which contact holds each identity key already, in one query whatever the number of
    keys (one OR per key is slow to build and plan at import batch sizes)."""
    by_kind: dict[tuple[str, str], set[str]] = {}
    for kind, source, value in keys:
        by_kind.setdefault((kind, source), set()).add(value)
    if not by_kind:
        return {}
    if connection.vendor == "postgresql":
        # One unique-index probe per value (the LIMIT keeps the planner from turning the
        # lateral join into a hash join): an IN list became a filter over every identity of
        # the kind, or a table scan, so each import batch cost more as the table grew. One
        # array parameter per kind also spares the client thousands of placeholders.
        sql = " UNION ALL ".join([
            "SELECT i.kind, i.source, i.value, i.contact_id FROM unnest(%s::text[]) AS v(value) "
            "CROSS JOIN LATERAL (SELECT kind, source, value, contact_id "
            f"FROM {Identity._meta.db_table} WHERE kind = %s AND source = %s "
            "AND value = v.value LIMIT 1) AS i"] * len(by_kind))
        with connection.cursor() as cursor:
            cursor.execute(sql, [p for (kind, source), values in by_kind.items()
                                 for p in (list(values), kind, source)])
            return {(k, s, v): c for k, s, v, c in cursor.fetchall()}
    cond = Q()
    for (kind, source), values in by_kind.items():
        cond |= Q(kind=kind, source=source, value__in=values)
    rows = Identity.objects.filter(cond).values_list("kind", "source", "value", "contact_id")
    return {(k, s, v): c for k, s, v, c in rows}


def _attach_identities(contact: Contact, keys: list[tuple[str, str, str]]) -> list[str]:
    owners = find_owners(keys)
    added = []
    for kind, source, value in keys:
        owner = owners.get((kind, source, value))
        if owner == contact.pk:
            continue
        if owner is not None:
            raise IdentityConflict(kind, value, owner)
        has_primary = Identity.objects.filter(contact=contact, kind=kind, is_primary=True).exists()
        try:
            with transaction.atomic():
                Identity.objects.create(contact=contact, kind=kind, source=source, value=value,
                                        is_primary=not has_primary and kind != "external")
        except IntegrityError:
            # Someone attached it between our look-up and insert.
            holder = Identity.objects.get(kind=kind, source=source, value=value).contact_id
            raise IdentityConflict(kind, value, holder)
        added.append(value)
    return added


def _replace_identities(contact: Contact, kind: str, values: list[str]) -> bool:
    """Make `values` the contact's identities of `kind`; True when anything changed."""
    removed, _info = Identity.objects.filter(contact=contact, kind=kind).exclude(
        value__in=values).delete()
    added = _attach_identities(contact, [(kind, "", v) for v in values])
    if values and not Identity.objects.filter(contact=contact, kind=kind,
                                              is_primary=True).exists():
        Identity.objects.filter(contact=contact, kind=kind, value=values[0]).update(
            is_primary=True)
    return bool(removed or added)


def check_new_tags(actor: Actor, names: Iterable[str] | None) -> None:
    """Tags are part of the schema: attaching an existing tag is editing a contact, but
    creating one is for a role that manages tags (schema.manage). Anyone else is refused,
    naming the tags that do not exist, before anything is written."""
    wanted = list(dict.fromkeys(names or []))
    if not wanted or can(actor, "schema.manage"):
        return
    known = set(Tag.objects.filter(name__in=wanted).values_list("name", flat=True))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ContactInvalid({"tags": _(
            "Your role may not create tags, and these do not exist: %(tags)s. Use an existing "
            "tag, or ask an owner or a marketer to create it under Tags.")
            % {"tags": join_list(f"«{name}»" for name in unknown)}})


def tag_objects(names: list[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    return tags


def _set_tags(contact: Contact, names: list[str], *, replace: bool) -> tuple[list[str], list[str]]:
    wanted = {t.pk: t for t in tag_objects(names)}
    current = set(ContactTag.objects.filter(contact=contact).values_list("tag_id", flat=True))
    added = [wanted[pk].name for pk in wanted if pk not in current]
    ContactTag.objects.bulk_create(
        [ContactTag(contact=contact, tag_id=pk) for pk in wanted if pk not in current],
        ignore_conflicts=True)
    removed: list[str] = []
    if replace:
        gone = current - set(wanted)
        removed = list(Tag.objects.filter(pk__in=gone).values_list("name", flat=True))
        ContactTag.objects.filter(contact=contact, tag_id__in=gone).delete()
    return added, removed


def _set_fields(contact: Contact, values: dict[str, Any]) -> list[str]:
    known = fields_by_key()
    changed = []
    for key, value in values.items():
        old, new = set_field_value(contact.pk, known[key], value)
        if old != new:
            changed.append(key)
    return changed


def search_text_for(first_name: str, last_name: str, national_id: str,
                    identities: Iterable[tuple[str, str]]) -> str:
    """The search key: names, national ID, identities, and mobiles also in the 09… form
    people type. Pure, so bulk imports compute it without a query."""
    parts = [first_name, last_name, national_id]
    for kind, value in identities:
        parts.append(value)
        if kind == Identity.Kind.PHONE and value.startswith("+98"):
            parts.append("0" + value[3:])
    return " | ".join(search_key(p) for p in parts if p)


def refresh_search_text(contact: Contact) -> None:
    identities = Identity.objects.filter(contact=contact).values_list("kind", "value")
    contact.search_text = search_text_for(contact.first_name, contact.last_name,
                                          contact.national_id, identities)
    Contact.objects.filter(pk=contact.pk).update(search_text=contact.search_text)


def _apply(contact: Contact, data: ContactData, *, replace_lists: bool) -> list[str]:
    """Write `data` onto an existing contact; returns what changed."""
    changed = []
    for name, value in data.scalars.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    if replace_lists:
        touched = False
        if data.emails is not None:
            touched |= _replace_identities(contact, Identity.Kind.EMAIL, data.emails)
        if data.phones is not None:
            touched |= _replace_identities(contact, Identity.Kind.PHONE, data.phones)
        if data.externals is not None:
            touched |= bool(_attach_identities(contact, [(Identity.Kind.EXTERNAL, s, v)
                                                         for s, v in data.externals]))
        if touched:
            changed.append("identities")
    else:
        if _attach_identities(contact, data.identity_keys()):
            changed.append("identities")
    if data.tags is not None:
        added, removed = _set_tags(contact, data.tags, replace=replace_lists)
        if added or removed:
            changed.append("tags")
    if data.fields:
        changed += [f"fields.{k}" for k in _set_fields(contact, data.fields)]
    return changed


# --- create / upsert / update ---------------------------------------------------------------

@transaction.atomic
def do_create_contact(actor: Actor, raw: dict[str, Any] | ContactData) -> Contact:
    """Create a new contact; an identity that already exists raises IdentityConflict."""
    require(actor, "contacts.edit")
    data = raw if isinstance(raw, ContactData) else check_contact_data(raw, require_identity=True)
    check_new_tags(actor, data.tags)
    contact = Contact.objects.create(**{"source": actor.via, **data.scalars})
    _apply(contact, data, replace_lists=False)
    refresh_search_text(contact)
    append_event(contact.pk, "contact.created", {"source": contact.source}, actor=actor)
    return contact


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    merged_ids: list[int]


@transaction.atomic
def do_upsert_contact(actor: Actor, raw: dict[str, Any] | ContactData) -> UpsertResult:
    """Create, or update the contact that already holds one of the identities.

    When the identities belong to several contacts, they are one person: the oldest
    survives and the others are merged into it (audited), so no duplicate remains.
    """
    require(actor, "contacts.edit")
    data = raw if isinstance(raw, ContactData) else check_contact_data(raw, require_identity=True)
    check_new_tags(actor, data.tags)
    owners = sorted(set(find_owners(data.identity_keys()).values()))
    if not owners:
        return UpsertResult(do_create_contact(actor, data), True, [])
    contacts = list(Contact.objects.select_for_update().filter(pk__in=owners).order_by("pk"))
    survivor, others = contacts[0], contacts[1:]
    if others:
        # The merge filled blanks on its own copy; keep working on that one, not a stale row.
        survivor = do_merge_contacts(actor, survivor, others)
    # Upsert fills what is given but never wipes what a person told us elsewhere.
    data.scalars = {k: v for k, v in data.scalars.items() if v not in (None, "")}
    changed = _apply(survivor, data, replace_lists=False)
    refresh_search_text(survivor)
    if changed:
        append_event(survivor.pk, "contact.updated", {"changed": changed}, actor=actor)
    return UpsertResult(survivor, False, [c.pk for c in others])


@transaction.atomic
def do_update_contact(actor: Actor, contact: Contact, raw: dict[str, Any]) -> list[str]:
    """Change the given values; lists given (emails, phones, tags) replace what was there."""
    require(actor, "contacts.edit")
    _refuse_erased(contact)
    data = check_contact_data(raw)
    check_new_tags(actor, data.tags)
    changed = _apply(contact, data, replace_lists=True)
    if not Identity.objects.filter(contact=contact).exclude(kind=Identity.Kind.EXTERNAL).exists():
        raise ContactInvalid({"email": _("Keep at least one e-mail address or mobile number.")})
    refresh_search_text(contact)
    if changed:
        append_event(contact.pk, "contact.updated", {"changed": changed}, actor=actor)
    return changed


def _refuse_erased(contact: Contact) -> None:
    if contact.erased_at:
        raise ContactInvalid({"contact": _("This contact was erased and cannot be changed.")})


@transaction.atomic
def do_add_note(actor: Actor, contact: Contact, body: str) -> Note:
    require(actor, "contacts.edit")
    _refuse_erased(contact)
    # Notes keep their line breaks, so normalise only what is never meant (NUL, controls).
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise ContactInvalid({"body": _("A note cannot be empty.")})
    if len(body) > 10000:
        raise ContactInvalid({"body": _("A note has at most 10,000 characters.")})
    note = Note.objects.create(contact=contact, body=body, author=actor.user,
                               author_label=actor.label)
    append_event(contact.pk, "note.added", {"note_id": note.pk, "excerpt": body[:140]},
                 actor=actor)
    return note


@transaction.atomic
def do_tag_contacts(actor: Actor, contact_ids: list[int], tag_name: str, *,
                    remove: bool = False) -> int:
    """Add (or remove) one tag on many contacts; returns how many changed."""
    require(actor, "contacts.edit")
    name = normalise_text(tag_name)
    if not name:
        raise ContactInvalid({"tag": _("Give a tag name.")})
    try:
        check_new_tags(actor, [name])
    except ContactInvalid as exc:
        raise ContactInvalid({"tag": exc.errors["tags"]})
    tag = tag_objects([name])[0]
    ids = list(Contact.objects.live().filter(pk__in=contact_ids).values_list("pk", flat=True))
    have = set(ContactTag.objects.filter(tag=tag, contact_id__in=ids)
               .values_list("contact_id", flat=True))
    if remove:
        changed = sorted(have)
        ContactTag.objects.filter(tag=tag, contact_id__in=changed).delete()
    else:
        changed = [i for i in ids if i not in have]
        ContactTag.objects.bulk_create([ContactTag(contact_id=i, tag=tag) for i in changed],
                                       ignore_conflicts=True)
    # Only people whose tags changed get a timeline entry.
    kind = "tag.removed" if remove else "tag.added"
    for cid in changed:
        append_event(cid, kind, {"tag": name}, actor=actor)
    return len(changed)


# --- merge ------------------------------------------------------------------------------------

# Lazy: a module constant must follow the language of each request, not the import.
MERGE_RULE = gettext_lazy(
    "The contact you keep wins every conflict; empty values are filled from the other "
    "contact. All e-mails, mobiles, external ids, tags, notes, field values and timeline "
    "entries move to the contact you keep.")


def merge_preview(survivor: Contact, other: Contact) -> list[dict[str, Any]]:
    """What each value becomes: rows of {field, keep, other, result, conflict}."""
    rows = []
    for name in SCALARS:
        a, b = getattr(survivor, name), getattr(other, name)
        rows.append({"field": name, "keep": a, "other": b, "result": a if a not in (None, "")
                     else b, "conflict": a not in (None, "") and b not in (None, "") and a != b})
    mine = {fv.field.key: fv.value for fv in survivor.field_values.select_related("field")}
    theirs = {fv.field.key: fv.value for fv in other.field_values.select_related("field")}
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        rows.append({"field": f"fields.{key}", "keep": a, "other": b,
                     "result": a if a is not None else b,
                     "conflict": a is not None and b is not None and a != b})
    return rows


@transaction.atomic
def do_merge_contacts(actor: Actor, survivor: Contact, others: list[Contact]) -> Contact:
    require(actor, "contacts.merge")
    others = [o for o in others if o.pk != survivor.pk]
    if not others:
        raise ContactInvalid({"other": _("Choose a different contact to merge.")})
    # Lock in primary-key order so two merges of overlapping contacts cannot deadlock.
    locked = {c.pk: c for c in Contact.objects.select_for_update()
              .filter(pk__in=[survivor.pk, *[o.pk for o in others]]).order_by("pk")}
    survivor = locked[survivor.pk]
    for other in others:
        other = locked[other.pk]
        if survivor.erased_at or other.erased_at:
            raise ContactInvalid({"other": _("Erased contacts cannot be merged.")})
        preview = merge_preview(survivor, other)
        snapshot = contact_snapshot(other)
        changed = []
        for name in SCALARS:
            if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
                setattr(survivor, name, getattr(other, name))
                changed.append(name)
        if changed:
            survivor.save(update_fields=[*changed, "updated_at"])
        Identity.objects.filter(contact=other).update(contact=survivor, is_primary=False)
        have_tags = set(ContactTag.objects.filter(contact=survivor).values_list("tag_id",
                                                                                 flat=True))
        ContactTag.objects.filter(contact=other).exclude(tag_id__in=have_tags).update(
            contact=survivor)
        have_fields = set(FieldValue.objects.filter(contact=survivor)
                          .values_list("field_id", flat=True))
        FieldValue.objects.filter(contact=other).exclude(field_id__in=have_fields).update(
            contact=survivor)
        Note.objects.filter(contact=other).update(contact=survivor)
        TimelineEvent.objects.filter(contact=other).update(contact=survivor)
        for hook in MERGE_HOOKS:
            hook(survivor.pk, other.pk)
        other_id = other.pk
        other.delete()
        append_event(survivor.pk, "contact.merged",
                     {"merged_id": other_id, "conflicts": [r["field"] for r in preview
                                                           if r["conflict"]]}, actor=actor)
        record_audit(actor, "contact.merge", target_type="contact", target_id=survivor.pk,
                     summary=f"#{other_id} -> #{survivor.pk}",
                     details={"merged": snapshot, "resolution": _jsonable(preview)})
    for kind in (Identity.Kind.EMAIL, Identity.Kind.PHONE):
        if not Identity.objects.filter(contact=survivor, kind=kind, is_primary=True).exists():
            first = Identity.objects.filter(contact=survivor, kind=kind).order_by("id").first()
            if first:
                Identity.objects.filter(pk=first.pk).update(is_primary=True)
    refresh_search_text(survivor)
    return survivor




def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
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
    return _jsonable(data)


def contact_export(contact: Contact) -> dict[str, Any]:
    """The subject-access export: the contact's own data, then every floor's section
    (orders, consent, messages, tracking, insights ...) through EXPORT_HOOKS."""
    data = contact_snapshot(contact)
    for hook in EXPORT_HOOKS:
        for section, value in hook(contact.pk).items():
            if section in data:  # two floors must never overwrite each other's section
                raise RuntimeError(f"export section {section!r} is given twice")
            data[section] = _jsonable(value)
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
