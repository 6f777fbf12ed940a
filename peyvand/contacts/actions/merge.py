"""Merging contacts into one: the survivor keeps everything, the others are gone."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.contacts.actions.apply import refresh_search_text
from peyvand.contacts.actions.data import SCALARS, ContactInvalid
from peyvand.contacts.actions.erase import contact_snapshot, jsonable
from peyvand.contacts.hooks import MERGE_HOOKS
from peyvand.contacts.models import Contact, ContactTag, FieldValue, Identity, Note, TimelineEvent
from peyvand.contacts.timeline import append_event

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
                     details={"merged": snapshot, "resolution": jsonable(preview)})
    for kind in (Identity.Kind.EMAIL, Identity.Kind.PHONE):
        if not Identity.objects.filter(contact=survivor, kind=kind, is_primary=True).exists():
            first = Identity.objects.filter(contact=survivor, kind=kind).order_by("id").first()
            if first:
                Identity.objects.filter(pk=first.pk).update(is_primary=True)
    refresh_search_text(survivor)
    return survivor
