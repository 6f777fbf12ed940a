"""Opt-outs outlive erasure. An erased person's addresses are gone, so an import could bring
one back as a stranger and subscribe it. Before the addresses go, each one that left a channel
here is kept as a digest (ErasedOptOut): an attested import never subscribes it again; the
person's own sign-up still can, since nothing else consults it.

A digest of an address is pseudonymous, not anonymous (anyone holding the address can test
it); keeping it is the one purpose it serves, as a suppression list (docs/security.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from peyvand.consent.models import Action, ConsentChange, ErasedOptOut
from peyvand.consent.queries import CHANNEL_IDENTITY
from peyvand.contacts.models import Identity

_SALT = b"peyvand:erased-opt-out:"


def address_digest(value: str) -> str:
    """The digest of an identity value as stored (normalised e-mail or E.164 mobile)."""
    return hashlib.sha256(_SALT + value.strip().encode()).hexdigest()


def first_left(contact_ids: Iterable[int]) -> dict[tuple[int, str], dt.datetime]:
    """(contact, channel) -> when the channel was first left here (opt-out, bounce,
    complaint)."""
    out: dict[tuple[int, str], dt.datetime] = {}
    for contact_id, channel, at in ConsentChange.objects.filter(
            contact_id__in=list(contact_ids), topic__isnull=True, action=Action.OPT_OUT) \
            .order_by("at", "id").values_list("contact_id", "channel", "at"):
        out.setdefault((contact_id, channel), at)
    return out


def remember_opt_outs(contact_id: int) -> dict[str, int]:
    """contacts' BEFORE_ERASE hook: keep a digest of each address of a channel left."""
    left = {channel: at for (_c, channel), at in first_left([contact_id]).items()}
    rows = [ErasedOptOut(digest=address_digest(value), channel=channel, left_at=at)
            for kind, value in Identity.objects.filter(contact_id=contact_id)
            .values_list("kind", "value")
            for channel, at in left.items() if CHANNEL_IDENTITY.get(channel) == kind]
    ErasedOptOut.objects.bulk_create(rows, ignore_conflicts=True)
    return {"opt_outs_remembered": len(rows)} if rows else {}


def erased_opt_outs(contact_ids: Iterable[int]) -> dict[tuple[int, str], dt.datetime]:
    """(contact, channel) -> when an erased person with one of this contact's addresses
    first left the channel."""
    digests: dict[str, list[int]] = {}
    for contact_id, value in Identity.objects.filter(contact_id__in=list(contact_ids)) \
            .values_list("contact_id", "value"):
        digests.setdefault(address_digest(value), []).append(contact_id)
    out: dict[tuple[int, str], dt.datetime] = {}
    for digest, channel, at in ErasedOptOut.objects.filter(digest__in=list(digests)) \
            .values_list("digest", "channel", "left_at"):
        for contact_id in digests[digest]:
            key = (contact_id, channel)
            out[key] = min(at, out.get(key, at))
    return out
