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
