"""Managing the tag vocabulary itself (tagging contacts is contacts.actions.do_tag_contacts)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require
from peyvand.contacts.actions import ContactInvalid
from peyvand.contacts.models import Tag


def tags_with_counts() -> QuerySet:
    return Tag.objects.annotate(contact_count=Count("contacttag")).order_by("name")


def check_tag_name(name: str) -> str:
    clean = normalise_text(name)
    if not clean:
        raise ContactInvalid({"name": _("Give the tag a name.")})
    if len(clean) > 64:
        raise ContactInvalid({"name": _("A tag has at most 64 characters.")})
    return clean


@transaction.atomic
def do_create_tag(actor: Actor, name: str) -> Tag:
    require(actor, "schema.manage")
    clean = check_tag_name(name)
    same = Tag.objects.named(clean).first()
    if same is not None:
        raise ContactInvalid({"name": _("The tag “%(name)s” exists already.")
                              % {"name": same.name}})
    return Tag.objects.create(name=clean)


@transaction.atomic
def do_rename_tag(actor: Actor, tag: Tag, name: str) -> Tag:
    require(actor, "schema.manage")
    clean = check_tag_name(name)
    same = Tag.objects.named(clean).exclude(pk=tag.pk).first()
    if same is not None:
        raise ContactInvalid({"name": _("The tag “%(name)s” exists already.")
                              % {"name": same.name}})
    tag.name = clean
    tag.save(update_fields=["name"])
    return tag


@transaction.atomic
def do_delete_tag(actor: Actor, tag: Tag) -> int:
    """Delete the tag; returns how many contacts lose it."""
    require(actor, "schema.manage")
    count = tag.contacttag_set.count()
    tag.delete()
    return count
