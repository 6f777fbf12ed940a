"""The ladder of loyalty, read from behaviour, and the relational/transactional flag.

Signals that live in other apps are read through tags, a custom field and identities named in
InsightSettings; an app that knows who opted in (consent) may add a provider to
OPT_IN_PROVIDERS from its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from django.utils.translation import gettext as _

from peyvand.base.normalise import ascii_digits
from peyvand.contacts.models import ContactTag, CustomField, FieldValue, Identity
from peyvand.insights.models import InsightSettings, Relationship, Stage

# callable(contact_ids or None for everyone) -> ids of contacts who opted in to hear from us.
OPT_IN_PROVIDERS: list[Callable[[Sequence[int] | None], Iterable[int]]] = []


def _tagged(names: list[str], contact_ids: Sequence[int] | None) -> set[int]:
    if not names:
        return set()
    qs = ContactTag.objects.filter(tag__name__in=names)
    if contact_ids is not None:
        qs = qs.filter(contact_id__in=contact_ids)
    return set(qs.values_list("contact_id", flat=True))


def referrers(s: InsightSettings) -> set[int]:
    """Contacts someone says referred them: the referred-by field holds a contact number or
    a referral code (an external id from `referral_source`)."""
    field = CustomField.objects.filter(key=s.referral_field).first() if s.referral_field \
        else None
    if field is None:
        return set()
    ids: set[int] = set()
    codes: set[str] = set()
    for text, number in FieldValue.objects.filter(field=field).values_list("text_value",
                                                                           "number_value"):
        if text not in (None, ""):
            value = ascii_digits(str(text)).strip().lstrip("#")
        else:
            value = str(int(number)) if number is not None else ""
        if not value:
            continue
        if value.isdigit():
            ids.add(int(value))
        codes.add(value)
    if codes and s.referral_source:
        ids |= set(Identity.objects.filter(kind=Identity.Kind.EXTERNAL,
                                           source=s.referral_source, value__in=codes)
                   .values_list("contact_id", flat=True))
    return ids


def signals(s: InsightSettings, contact_ids: Sequence[int] | None = None) -> dict[str, set]:
    optin = _tagged(InsightSettings.names(s.optin_tags), contact_ids)
    for provider in OPT_IN_PROVIDERS:
        optin |= set(provider(contact_ids))
    advocates = _tagged(InsightSettings.names(s.advocate_tags), contact_ids) | referrers(s)
    return {"optin": optin,
            "supporter": _tagged(InsightSettings.names(s.supporter_tags), contact_ids),
            "advocate": advocates}


def stages(frame: dict, sig: dict[str, set]) -> np.ndarray:
    """Each contact's rung, the highest whose definition they meet."""
    ids = frame["id"]
    orders = frame["order_count"]

    def member(key: str) -> np.ndarray:
        return np.isin(ids, np.fromiter(sig[key], dtype=np.int64, count=len(sig[key])))

    out = np.full(len(ids), Stage.SUSPECT, dtype=object)
    out[(frame["engagement"] > 0) | member("optin")] = Stage.PROSPECT
    out[orders >= 1] = Stage.CUSTOMER
    out[orders >= 2] = Stage.CLIENT
    out[(orders >= 2) & member("supporter")] = Stage.SUPPORTER
    out[member("advocate")] = Stage.ADVOCATE
    return out


def relationships(frame: dict, stage: np.ndarray, s: InsightSettings) -> np.ndarray:
    """Relational: buys again and engages beyond buying (or buys often, or speaks for us);
    transactional: the other customers."""
    orders = frame["order_count"]
    out = np.full(len(orders), "", dtype=object)
    buyer = orders >= 1
    out[buyer] = Relationship.TRANSACTIONAL
    relational = buyer & (
        ((orders >= 2) & (frame["engagement"] >= s.relational_engagement))
        | (orders >= max(2, s.relational_orders))
        | np.isin(stage, [Stage.SUPPORTER, Stage.ADVOCATE]))
    out[relational] = Relationship.RELATIONAL
    return out


def definitions(s: InsightSettings) -> list[dict]:
    """Each rung and the flag, worded for the dashboard and the contact page."""
    def tags(value: str) -> str:
        return ", ".join(InsightSettings.names(value)) or "—"

    return [
        {"stage": Stage.SUSPECT, "label": str(Stage.SUSPECT.label),
         "rule": _("On our contact list, but nothing more is known: no opt-in, no "
                   "engagement, no order.")},
        {"stage": Stage.PROSPECT, "label": str(Stage.PROSPECT.label),
         "rule": _("Opted in (tags: %(tags)s) or engaged (opened, clicked, visited); "
                   "no order yet.") % {"tags": tags(s.optin_tags)}},
        {"stage": Stage.CUSTOMER, "label": str(Stage.CUSTOMER.label),
         "rule": _("One order.")},
        {"stage": Stage.CLIENT, "label": str(Stage.CLIENT.label),
         "rule": _("Two or more orders.")},
        {"stage": Stage.SUPPORTER, "label": str(Stage.SUPPORTER.label),
         "rule": _("A client with a positive signal (tags: %(tags)s).")
         % {"tags": tags(s.supporter_tags)}},
        {"stage": Stage.ADVOCATE, "label": str(Stage.ADVOCATE.label),
         "rule": _("Referred others: named in someone’s “%(field)s” field (by number or "
                   "%(source)s code), or tagged %(tags)s.")
         % {"field": s.referral_field or "—", "source": s.referral_source or "—",
            "tags": tags(s.advocate_tags)}},
    ]


def relationship_rule(s: InsightSettings) -> str:
    return _("Relational: two or more orders and engagement of at least %(engagement)s, or "
             "%(orders)s or more orders, or a supporter or advocate. Other customers are "
             "transactional.") % {"engagement": f"{s.relational_engagement:g}",
                                  "orders": max(2, s.relational_orders)}
