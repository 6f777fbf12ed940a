"""Many contacts upserted at once, batch after batch: what an import writes.

A BulkUpsert is one session (an import's run). Each `write()` takes a batch of items, each
one person (the caller has joined the rows that share an identity), and:
1. looks up the owners of every identity of the batch in one query;
2. writes the items nobody owns yet in bulk (contacts, identities, tags, field values and a
   "contact.created" timeline event each), after refusing those that would create a tag the
   actor may not create; TAG_ADDED_HOOKS hear once per tag of the batch, after it commits;
3. upserts the items that touch existing contacts through do_upsert_contact, one call each
   (which also merges when an item links several contacts) — unless it would change
   nothing, which is checked against state loaded in bulk, so writing the same data twice
   costs little and writes nothing the second time.

Within a session the first item that names a contact wins: a later item only fills blanks,
as merging does. (Letting later items win would flip a value back and forth on every
re-import when two rows of a file fall into different batches.) Against a contact that
existed before the session, the first item updates like any upsert.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.roles import can, require
from peyvand.contacts.actions.apply import (
    check_new_tags,
    find_owners,
    search_text_for,
    tags_added,
)
from peyvand.contacts.actions.data import SCALARS, ContactData, ContactInvalid, IdentityConflict
from peyvand.contacts.actions.upsert import do_upsert_contact
from peyvand.contacts.bulk_insert import insert_rows
from peyvand.contacts.models import Contact, ContactTag, CustomField, FieldValue, Identity, Tag
from peyvand.contacts.timeline import append_event_rows

Key = tuple[str, str, str]

# Scalars an earlier item of the session set and a later merge must keep ("source" is where
# a contact came from, not something an item says).
_KEPT_SCALARS = tuple(name for name in SCALARS if name != "source")
# Every column of a new contact / field value, with the model's defaults.
_NEW_CONTACT = {f.attname: str(v) if isinstance(v := f.get_default(), str) else v
                for f in Contact._meta.concrete_fields if not f.primary_key}
_NO_VALUE = dict.fromkeys(set(FieldValue.COLUMN.values()))


@dataclass
class BulkItem:
    """One person to upsert; `position` (from 1, e.g. a row number) orders items across the
    session: the lowest position that named a contact wins."""

    position: int
    data: ContactData


@dataclass
class BulkOutcome:
    """What became of one item: the contact it wrote or found unchanged (None when refused),
    whether the session created that contact now, and why it was refused."""

    contact_id: int | None = None
    created: bool = False
    refused: str = ""


@dataclass
class BulkWrite:
    outcomes: list[BulkOutcome]  # one per item, in the items' order
    owners: dict[Key, int]  # who held the items' identities before the writes
    refused: list[int]  # indexes of the refused items, in the order they were refused


@dataclass
class _State:
    """What an existing contact holds, to tell whether an item would change anything."""

    scalars: dict[str, Any]
    tags: set[int] = field(default_factory=set)
    fields: dict[int, Any] = field(default_factory=dict)


class BulkUpsert:
    """One session of bulk upserts by `actor`. `fields` are the custom fields items may set,
    `tags` whether items carry tags (so state is loaded only for what can change); new
    contacts get `source`."""

    def __init__(self, actor: Actor, *, source: str, fields: Iterable[CustomField] = (),
                 tags: bool = False):
        require(actor, "contacts.edit")
        self.actor = actor
        self.source = source
        self.fields = {cf.key: cf for cf in fields}
        self.tags = tags
        self.tag_ids: dict[str, int] = {}
        self.created = _IdSet()  # contacts this session created
        self.first = _FirstPosition()  # contact -> the first position that named it

    def created_here(self, pk: int) -> bool:
        """Whether this session created the contact."""
        return pk in self.created

    @transaction.atomic
    def write(self, items: list[BulkItem], *, owners: dict[Key, int] | None = None) -> BulkWrite:
        """Upsert `items`; `owners` is find_owners() of their identities when the caller
        has looked them up already (they are looked up again if a collision shows them
        stale)."""
        outcomes = [BulkOutcome() for _item in items]
        refused: list[int] = []
        if owners is None:
            owners = find_owners(k for item in items for k in item.data.identity_keys())
        new: list[int] = []
        old: list[int] = []
        for i, item in enumerate(items):
            known = any(k in owners for k in item.data.identity_keys())
            (old if known else new).append(i)
        if new:
            new = self._refuse_new_tags(items, new, outcomes, refused)
            for i in new:
                for name in items[i].data.tags or []:
                    # Outside the bulk savepoint: a rolled-back tag must not be cached.
                    self._tag_id(name, create=True)
            try:
                with transaction.atomic():
                    created = self._create([items[i].data for i in new])
            except IntegrityError:
                # Someone attached one of these identities since the look-up: take these
                # items the careful way.
                old = new + old
                owners = find_owners(k for item in items for k in item.data.identity_keys())
            else:
                for i, pk in zip(new, created, strict=True):
                    outcomes[i] = BulkOutcome(pk, created=True)
                    self.created.add(pk)
                    self.first.set(pk, items[i].position)
        self._update(items, old, owners, outcomes, refused)
        return BulkWrite(outcomes, owners, refused)

    def _refuse_new_tags(self, items: list[BulkItem], new: list[int],
                         outcomes: list[BulkOutcome], refused: list[int]) -> list[int]:
        """New people are written in bulk, past do_upsert_contact: hold their tags to the
        same rule (creating a tag needs schema.manage)."""
        if can(self.actor, "schema.manage"):
            return new
        kept = []
        for i in new:
            try:
                check_new_tags(self.actor, items[i].data.tags)
            except ContactInvalid as exc:
                outcomes[i] = BulkOutcome(refused="; ".join(exc.errors.values()))
                refused.append(i)
            else:
                kept.append(i)
        return kept

    def _tag_id(self, name: str, *, create: bool) -> int | None:
        if name not in self.tag_ids:
            if create:
                self.tag_ids[name] = Tag.objects.get_or_create_named(name).pk
            else:
                pk = Tag.objects.named(name).values_list("pk", flat=True).first()
                if pk is None:
                    return None
                self.tag_ids[name] = pk
        return self.tag_ids[name]

    # --- new people: in bulk ----------------------------------------------------------------

    def _create(self, items: list[ContactData]) -> list[int]:
        now = timezone.now()
        people = []
        for data in items:
            row = {**_NEW_CONTACT, "source": self.source, "created_at": now,
                   "updated_at": now, **data.scalars}
            row["search_text"] = search_text_for(
                row["first_name"], row["last_name"], row["national_id"],
                [(Identity.Kind.EMAIL, e) for e in data.emails or []]
                + [(Identity.Kind.PHONE, p) for p in data.phones or []])
            people.append(row)
        ids = insert_rows(Contact, people, with_ids=True)
        identities, tags, values, events = [], [], [], []
        created = {"source": self.source}
        for pk, data in zip(ids, items, strict=True):
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
        append_event_rows(events)
        by_tag: dict[int, list[int]] = {}
        for pk, data in zip(ids, items, strict=True):
            for name in data.tags or []:
                by_tag.setdefault(self.tag_ids[name], []).append(pk)
        for tag_id, contact_ids in by_tag.items():  # once per tag, after the batch commits
            tags_added(contact_ids, tag_id)
        return ids

    # --- people we know: one upsert per item, unless nothing would change -------------------

    def _states(self, ids: set[int]) -> dict[int, _State]:
        states = {c["pk"]: _State(scalars=c) for c in
                  Contact.objects.filter(pk__in=ids).values("pk", *SCALARS)}
        if self.tags:
            for cid, tid in ContactTag.objects.filter(contact_id__in=ids).values_list(
                    "contact_id", "tag_id"):
                states[cid].tags.add(tid)
        if self.fields:
            wanted = {cf.pk: cf for cf in self.fields.values()}
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

    def _earlier_items_win(self, data: ContactData, earlier: list[_State]) -> ContactData:
        """What an item writes when earlier items of the session named some of its contacts
        already (`earlier`, in the order those items came): their values stand, the item
        only fills blanks — as a merge would — and they beat the survivor's own older
        values, so writing the same items again finds nothing to change."""
        scalars: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        for state in earlier:
            for name, value in state.scalars.items():
                if name in _KEPT_SCALARS and value not in (None, ""):
                    scalars.setdefault(name, value)
            for cf in self.fields.values():
                if cf.pk in state.fields:
                    fields.setdefault(cf.key, state.fields[cf.pk])
        for name, value in data.scalars.items():
            scalars.setdefault(name, value)
        for key, value in (data.fields or {}).items():
            fields.setdefault(key, value)
        return replace(data, scalars=scalars, fields=fields or None)

    def _update(self, items: list[BulkItem], indexes: list[int], owners: dict[Key, int],
                outcomes: list[BulkOutcome], refused: list[int]) -> None:
        if not indexes:
            return
        states = self._states({owners[k] for i in indexes
                               for k in items[i].data.identity_keys() if k in owners})
        for i in indexes:
            item = items[i]
            holders = {owners.get(k) for k in item.data.identity_keys()}
            owned = sorted(pk for pk in holders if pk is not None)
            missing = {pk for pk in owned if pk not in states}
            if missing:
                states.update(self._states(missing))
            data = item.data
            earlier = sorted((self.first.get(pk), pk) for pk in owned if self.first.get(pk))
            if earlier:
                data = self._earlier_items_win(data, [states[pk] for _pos, pk in earlier
                                                      if pk in states])
            if len(holders) == 1 and owned and self._unchanged(data, states.get(owned[0])):
                outcomes[i] = BulkOutcome(owned[0])
                self.first.set(owned[0], item.position)
                continue
            try:
                result = do_upsert_contact(self.actor, data)
            except (ContactInvalid, IdentityConflict, PermissionDenied) as exc:
                if isinstance(exc, ContactInvalid):
                    reason = "; ".join(exc.errors.values())
                else:
                    reason = str(exc)
                outcomes[i] = BulkOutcome(refused=reason)
                refused.append(i)
                continue
            # What they hold now is no longer what was loaded; reload when met again.
            for pk in owned:
                states.pop(pk, None)
            pk = result.contact.pk
            outcomes[i] = BulkOutcome(pk, created=result.created)
            self.first.set(pk, item.position)
            if result.created:  # its contact was erased or merged away meanwhile
                self.created.add(pk)


class _FirstPosition:
    """contact id -> the first position of this session that named it, in a flat array
    indexed by id (4 bytes each: 4 MB for a million contacts, where a dict would take
    ~100 MB)."""

    LIMIT = 1 << 25

    def __init__(self) -> None:
        self.rows = array("I")
        self.rest: dict[int, int] = {}

    def get(self, pk: int) -> int:
        if 0 <= pk < len(self.rows):
            return self.rows[pk]
        return self.rest.get(pk, 0)

    def set(self, pk: int, position: int) -> None:
        if self.get(pk):
            return
        if pk < 0 or pk >= self.LIMIT:
            self.rest[pk] = position
            return
        if pk >= len(self.rows):
            self.rows.extend(array("I", bytes(4 * (pk + 1 - len(self.rows) + 65536))))
        self.rows[pk] = position


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
