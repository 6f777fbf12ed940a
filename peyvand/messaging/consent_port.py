"""The one place messaging reaches into the consent floor (imported lazily)."""

from __future__ import annotations

from typing import Any


def consent_decision(contact_id: int, channel: str, topic: Any = None, fmt: str | None = None,
                     message_class: str = "marketing"):
    from peyvand.consent.queries import consent_decision as decide

    return decide(contact_id, channel, topic, fmt, message_class=message_class)


def links_for(contact_id: int, campaign: str = "") -> dict[str, str]:
    """{"preferences", "unsubscribe", "one_click"} absolute URLs for one contact's e-mail."""
    from peyvand.consent.links import links_for as links

    return links(contact_id, campaign=campaign)


def consent_decisions(contact_ids, channel: str, topic: Any = None, fmt: str | None = None,
                      message_class: str = "marketing") -> dict:
    """consent_decision for a whole batch, in a fixed number of queries."""
    from peyvand.consent.queries import consent_decisions as decide

    return decide(contact_ids, channel, topic, fmt, message_class=message_class)


def links_for_many(contact_ids, campaign: str = "") -> dict[int, dict[str, str]]:
    from peyvand.consent.links import links_for_many as links

    return links(contact_ids, campaign=campaign)


def ensure_link_keys(contact_ids) -> None:
    """Make the link keys these contacts lack, so that sending only reads them."""
    from peyvand.consent.links import contact_keys

    contact_keys(contact_ids)
