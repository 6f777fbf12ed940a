"""Signed public links of a contact: preference centre, unsubscribe, one-click (RFC 8058).

Links carry the contact's random `ContactKey`, never its id, signed by base.signing. Messaging
(issue 5) puts `list_unsubscribe_headers` on every marketing mail and `links_for` in footers.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from functools import cache, lru_cache

from django.conf import settings
from django.db.models import QuerySet
from django.urls import get_script_prefix, get_urlconf, reverse

from peyvand.base.signing import LinkInvalid, make_token, read_token
from peyvand.base.site import public_url
from peyvand.consent.models import Channel, ContactKey
from peyvand.contacts.models import Contact

# Links in old messages must keep working for about a year; then the page says so (410).
LINK_MAX_AGE = dt.timedelta(days=settings.CONSENT_LINK_MAX_AGE_DAYS)


def contact_key(contact_id: int) -> str:
    """The contact's link key, made on first use."""
    return contact_keys([contact_id])[contact_id]


def contact_keys(contact_ids: Iterable[int]) -> dict[int, str]:
    """Link keys of many contacts (the newest where there are several), made where missing."""
    ids = list(dict.fromkeys(contact_ids))
    keys: dict[int, str] = {}
    for contact_id, key in _key_rows().filter(contact_id__in=ids):
        keys[contact_id] = key  # ascending: the newest wins
    missing = [ContactKey(contact_id=c, key=secrets.token_urlsafe(16)) for c in ids
               if c not in keys]
    if missing:
        ContactKey.objects.bulk_create(missing)
        keys.update((k.contact_id, k.key) for k in missing)
    return keys


@cache
def _key_rows() -> QuerySet:
    """Built once: the sender asks for every chunk of messages, and building a query costs
    more than running it (.filter() copies it)."""
    return ContactKey.objects.order_by("created_at", "id").values_list("contact_id", "key")


def preferences_token(contact_id: int, sent: str = "") -> str:
    """`sent`: the nonce of a `LinkSent` row, for a link mailed outside a message."""
    data = {"k": contact_key(contact_id)}
    if sent:
        data["s"] = sent
    return make_token("preferences", data)


def sent_preferences_url(contact_id: int, sent: str) -> str:
    """The absolute preference link mailed outside a message (see LinkSent)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    path = reverse("consent:preferences", args=[preferences_token(contact_id, sent)],
                   urlconf=_PUBLIC_URLCONF.get(urlconf, urlconf))
    return _absolute(public_url(), path)


def link_provenance(purpose: str, data: dict) -> dict[str, str]:
    """What the ledger records about the link a change came through: which kind, and for
    one mailed outside a message, why and by whom it was sent."""
    from peyvand.consent.models import LinkSent

    out = {"link": purpose}
    nonce = str(data.get("s") or "")
    if nonce:
        sent = LinkSent.objects.filter(nonce=nonce).first()
        if sent is not None:
            out["link_sent"] = sent.reason
            out["link_sent_at"] = sent.created_at.isoformat()
            if sent.sent_by:
                out["link_sent_by"] = sent.sent_by
    return out


def unsubscribe_token(contact_id: int, channel: str = Channel.EMAIL, campaign: str = "") -> str:
    return make_token("unsubscribe", _unsubscribe_data(contact_key(contact_id), channel,
                                                       campaign))


def _unsubscribe_data(key: str, channel: str, campaign: str) -> dict[str, str]:
    data = {"k": key, "ch": channel}
    if campaign:
        data["cmp"] = campaign  # churn by campaign, once campaigns exist
    return data


def read_contact_token(purpose: str, token: str) -> tuple[Contact, dict]:
    """The live contact a preferences/unsubscribe token stands for, and the token's data.

    Raises LinkInvalid (LinkTampered, LinkExpired) for a bad token or a key that no longer
    exists (erased contact)."""
    data = read_token(purpose, token, LINK_MAX_AGE)
    key = data.get("k")
    row = ContactKey.objects.select_related("contact").filter(key=str(key or "")).first() \
        if key else None
    if row is None or row.contact.erased_at is not None:
        raise LinkInvalid
    if purpose == "unsubscribe" and data.get("ch") not in Channel.values:
        raise LinkInvalid
    return row.contact, data


def _absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path if base_url else path


def links_for(contact_id: int, base_url: str = "", channel: str = Channel.EMAIL,
              campaign: str = "") -> dict[str, str]:
    """{"preferences", "unsubscribe", "one_click"} URLs; absolute when `base_url` is given
    (e.g. "https://shop.example"), else the site's public address (base.site.public_url)."""
    return links_for_many([contact_id], base_url, channel, campaign)[contact_id]


_SLOT = "PVTOKENSLOT"  # stands in for a token while reversing once (tokens need no quoting)


# The site's URLs include these public routes as they are, so they reverse to the same paths
# without loading the whole site (see peyvand/public_urls.py).
_PUBLIC_URLCONF = {"peyvand.urls": "peyvand.public_urls"}


@lru_cache(maxsize=16)
def _link_patterns(base_url: str, urlconf: str, _prefix: str) -> dict[str, str]:
    urlconf = _PUBLIC_URLCONF.get(urlconf, urlconf)
    return {name: _absolute(base_url, reverse(f"consent:{name}", args=[_SLOT], urlconf=urlconf))
            for name in ("preferences", "unsubscribe", "one_click")}


def links_for_many(contact_ids: Iterable[int], base_url: str = "",
                   channel: str = Channel.EMAIL, campaign: str = "") -> dict[int, dict[str, str]]:
    """links_for for many contacts: one query for their keys, URL patterns reversed once."""
    paths = _link_patterns(base_url or public_url(), get_urlconf() or settings.ROOT_URLCONF,
                           get_script_prefix())
    out: dict[int, dict[str, str]] = {}
    for contact_id, key in contact_keys(contact_ids).items():
        prefs = make_token("preferences", {"k": key})
        unsub = make_token("unsubscribe", _unsubscribe_data(key, channel, campaign))
        out[contact_id] = {
            "preferences": paths["preferences"].replace(_SLOT, prefs),
            "unsubscribe": paths["unsubscribe"].replace(_SLOT, unsub),
            "one_click": paths["one_click"].replace(_SLOT, unsub),
        }
    return out


def list_unsubscribe_headers(contact_id: int, base_url: str = "", campaign: str = "",
                             mailto: str = "") -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers for one marketing e-mail to this contact."""
    links = links_for(contact_id, base_url, Channel.EMAIL, campaign)
    value = f"<{links['one_click']}>"
    if mailto:
        value += f", <mailto:{mailto}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
