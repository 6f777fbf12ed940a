"""Create, upsert and update one contact; notes; tagging many contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require
from peyvand.contacts.actions.apply import (
    apply_data,
    check_new_tags,
    find_owners,
    refresh_search_text,
    tag_objects,
    tags_added,
)
from peyvand.contacts.actions.data import ContactData, ContactInvalid, check_contact_data
from peyvand.contacts.actions.merge import do_merge_contacts
from peyvand.contacts.models import Contact, ContactTag, Identity, Note
from peyvand.contacts.timeline import append_event

# --- create / upsert / update ---------------------------------------------------------------

@transaction.atomic
def do_create_contact(actor: Actor, raw: dict[str, Any] | ContactData) -> Contact:
    """Create a new contact; an identity that already exists raises IdentityConflict."""
    require(actor, "contacts.edit")
    data = raw if isinstance(raw, ContactData) else check_contact_data(raw, require_identity=True)
    check_new_tags(actor, data.tags)
    contact = Contact.objects.create(**{"source": actor.via, **data.scalars})
    apply_data(contact, data, replace_lists=False)
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
    changed = apply_data(survivor, data, replace_lists=False)
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
    changed = apply_data(contact, data, replace_lists=True)
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
        tags_added(changed, tag.pk)
    # Only people whose tags changed get a timeline entry.
    kind = "tag.removed" if remove else "tag.added"
    for cid in changed:
        append_event(cid, kind, {"tag": name}, actor=actor)
    return len(changed)
