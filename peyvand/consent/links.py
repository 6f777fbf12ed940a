"""Signed public links of a contact: preference centre, unsubscribe, one-click (RFC 8058).

Links carry the contact's random `ContactKey`, never its id, signed by base.signing. Messaging
(issue 5) puts `list_unsubscribe_headers` on every marketing mail and `links_for` in footers.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.urls import reverse

from peyvand.base.signing import LinkInvalid, make_token, read_token
from peyvand.base.site import public_url
from peyvand.consent.models import Channel, ContactKey
from peyvand.contacts.models import Contact

# Links in old messages must keep working for about a year; then the page says so (410).
LINK_MAX_AGE = dt.timedelta(days=getattr(settings, "CONSENT_LINK_MAX_AGE_DAYS", 400))


def contact_key(contact_id: int) -> str:
    """The contact's link key, made on first use."""
    key = (ContactKey.objects.filter(contact_id=contact_id).order_by("-created_at", "-id")
           .values_list("key", flat=True).first())
    if key is None:
        key = secrets.token_urlsafe(16)
        ContactKey.objects.create(contact_id=contact_id, key=key)
    return key


def preferences_token(contact_id: int) -> str:
    return make_token("preferences", {"k": contact_key(contact_id)})


def unsubscribe_token(contact_id: int, channel: str = Channel.EMAIL, campaign: str = "") -> str:
    data = {"k": contact_key(contact_id), "ch": channel}
    if campaign:
        data["cmp"] = campaign  # churn by campaign, once campaigns exist
    return make_token("unsubscribe", data)


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
    (e.g. "https://shop.example"), else site-relative paths."""
    if not base_url:
        base_url = public_url()
    prefs = preferences_token(contact_id)
    unsub = unsubscribe_token(contact_id, channel, campaign)
    return {
        "preferences": _absolute(base_url, reverse("consent:preferences", args=[prefs])),
        "unsubscribe": _absolute(base_url, reverse("consent:unsubscribe", args=[unsub])),
        "one_click": _absolute(base_url, reverse("consent:one_click", args=[unsub])),
    }


def list_unsubscribe_headers(contact_id: int, base_url: str = "", campaign: str = "",
                             mailto: str = "") -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers for one marketing e-mail to this contact."""
    links = links_for(contact_id, base_url, Channel.EMAIL, campaign)
    value = f"<{links['one_click']}>"
    if mailto:
        value += f", <mailto:{mailto}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
