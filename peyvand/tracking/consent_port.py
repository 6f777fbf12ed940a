"""The one place tracking reaches into the consent ledger (imported lazily): if consent's
names change, this is the file to fix."""

from __future__ import annotations

import datetime as dt
from typing import Any


def record_bounce(contact_id: int, channel: str, hard: bool, details: dict[str, Any]) -> Any:
    from peyvand.consent.actions import record_bounce as record

    return record(contact_id, channel, hard, details)


def record_complaint(contact_id: int, channel: str, details: dict[str, Any]) -> Any:
    from peyvand.consent.actions import record_complaint as record

    return record(contact_id, channel, details)


def unsubscribes(sources: list[str], since: dt.datetime | None) -> list[tuple[int, str]]:
    """(contact id, reason) of every opt-out made through a link of one of `sources` (the
    consent links carry the sending as details["campaign"]); reasons as consent's churn
    report words them. Read through the ledger's (action, at) index from `since`."""
    from peyvand.consent.models import Action, ConsentChange, Source

    rows = ConsentChange.objects.filter(action=Action.OPT_OUT,
                                        details__campaign__in=list(sources))
    if since is not None:
        rows = rows.filter(at__gte=since)
    found = set()
    for contact_id, source, reason in rows.values_list("contact_id", "source",
                                                        "details__reason").order_by():
        found.add((contact_id, str(reason) if reason else
                   "one_click" if source == Source.ONE_CLICK else "unspecified"))
    return sorted(found)
