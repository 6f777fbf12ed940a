"""Writing one contact's identities, tags, custom fields and search key; owners of identities."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.db import find_by_unique_key
from peyvand.base.language import join_list
from peyvand.base.normalise import search_key
from peyvand.base.roles import can
from peyvand.contacts.actions.data import ContactData, ContactInvalid, IdentityConflict
from peyvand.contacts.fields import fields_by_key, set_field_value
from peyvand.contacts.hooks import TAG_ADDED_HOOKS
from peyvand.contacts.models import Contact, ContactTag, Identity, Tag, tag_key

# --- identities, tags, fields -----------------------------------------------------------------

def find_owners(keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    """Which contact holds each identity key already, in one query whatever the number of
    keys (one OR per key is slow to build and plan at import batch sizes)."""
    by_kind: dict[tuple[str, str], set[str]] = {}
    for kind, source, value in keys:
        by_kind.setdefault((kind, source), set()).add(value)
    rows = find_by_unique_key(Identity, ("kind", "source"), "value", by_kind,
                              ("kind", "source", "value", "contact_id"))
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
    known = set(Tag.objects.filter(key__in=[tag_key(n) for n in wanted])
                .values_list("key", flat=True))
    unknown = [name for name in wanted if tag_key(name) not in known]
    if unknown:
        raise ContactInvalid({"tags": _(
            "Your role may not create tags, and these do not exist: %(tags)s. Use an existing "
            "tag, or ask an owner or a marketer to create it under Tags.")
            % {"tags": join_list(f"«{name}»" for name in unknown)}})


def tag_objects(names: list[str]) -> list[Tag]:
    tags = []
    for name in names:
        tags.append(Tag.objects.get_or_create_named(name))
    return tags


def tags_added(contact_ids: list[int], tag_id: int) -> None:
    """Tell TAG_ADDED_HOOKS, once the tagging commits, that these contacts got the tag."""
    if contact_ids:
        for hook in TAG_ADDED_HOOKS:
            transaction.on_commit(functools.partial(hook, list(contact_ids), tag_id),
                                  robust=True)


def _set_tags(contact: Contact, names: list[str], *, replace: bool) -> tuple[list[str], list[str]]:
    wanted = {t.pk: t for t in tag_objects(names)}
    current = set(ContactTag.objects.filter(contact=contact).values_list("tag_id", flat=True))
    added = [wanted[pk].name for pk in wanted if pk not in current]
    ContactTag.objects.bulk_create(
        [ContactTag(contact=contact, tag_id=pk) for pk in wanted if pk not in current],
        ignore_conflicts=True)
    for pk in wanted:
        if pk not in current:
            tags_added([contact.pk], pk)
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


def apply_data(contact: Contact, data: ContactData, *, replace_lists: bool) -> list[str]:
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
