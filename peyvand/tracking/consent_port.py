"""The one place tracking reaches into the consent ledger (imported lazily): if consent's
names change, this is the file to fix."""

from __future__ import annotations

from typing import Any


def record_bounce(contact_id: int, channel: str, hard: bool, details: dict[str, Any]) -> Any:
    from peyvand.consent.actions import record_bounce as record

    return record(contact_id, channel, hard, details)


def record_complaint(contact_id: int, channel: str, details: dict[str, Any]) -> Any:
    from peyvand.consent.actions import record_complaint as record

    return record(contact_id, channel, details)
