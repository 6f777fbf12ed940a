"""Reads on contacts: access checks, search and filters, used by UI, API and CLI alike."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_phone, search_key
from peyvand.base.roles import require
from peyvand.contacts.fields import filter_by_field
from peyvand.contacts.models import Contact, CustomField, Identity, tag_key

_PHONEISH = re.compile(r"^[+\d\s\-()]{4,}$")


def access_contact(actor: Actor, contact_id: Any, *, for_update: bool = False) -> Contact:
    """The contact, if it exists and the actor may see contacts; 404 otherwise."""
    require(actor, "contacts.view")
    try:
        pk = int(contact_id)
    except (TypeError, ValueError):
        raise Http404
    qs = Contact.objects.select_for_update() if for_update else Contact.objects
    contact = qs.filter(pk=pk).first()
    if contact is None:
        raise Http404
    return contact


def search_contacts(actor: Actor, *, q: str = "", tag: str = "", field: str = "",
                    op: str = "eq", value: Any = "", include_erased: bool = False) -> QuerySet:
    """Contacts matching a free-text query, a tag and one custom-field condition.

    «علي» finds «علی», «۰۹۱۲…» finds +98912…: the query gets the same normalisation as
    the stored search key.
    """
    require(actor, "contacts.view")
    qs = Contact.objects.all() if include_erased else Contact.objects.live()
    q = (q or "").strip()
    if q:
        cond = Q()
        for term in search_key(q).split():
            cond &= Q(search_text__contains=term)
        digits = ascii_digits(q)
        if _PHONEISH.match(digits):
            compact = re.sub(r"[\s\-()]", "", digits)
            cond |= Q(search_text__contains=compact)
            try:
                phone = normalise_phone(digits)
            except InvalidValue:
                pass
            else:
                cond |= Q(identities__kind=Identity.Kind.PHONE, identities__value=phone)
        qs = qs.filter(cond).distinct()
    if tag:
        qs = qs.filter(tags__key=tag_key(tag))
    if field:
        cf = CustomField.objects.filter(key=field).first()
        if cf is None:
            raise InvalidValue("field", _("There is no custom field “%(key)s”.") % {"key": field},
                               field)
        qs = filter_by_field(qs, cf, op, value)
    return qs


def with_identities(qs: QuerySet) -> QuerySet:
    """Prefetch what list pages and API lists show, so they stay at a fixed query count."""
    return qs.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "-is_primary", "id")),
        "tags",
    )
