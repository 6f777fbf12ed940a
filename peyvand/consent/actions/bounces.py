"""The system's changes: bounces and complaints, which messaging reports."""

from __future__ import annotations

from django.db import transaction

from peyvand.consent import ledger
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, ConsentChange, Source

# --- the system: bounces and complaints (messaging calls these) --------------------------------

@transaction.atomic
def record_bounce(contact_id: int, channel: str, hard: bool, details: dict | None = None) \
        -> ConsentChange | None:
    """A message could not be delivered. A hard bounce suppresses the channel; a soft one
    changes no consent (messaging retries) and returns None."""
    if not hard:
        return None
    rows = ledger.append(contact_id, [Change(Action.OPT_OUT, channel, None,
                                             {"reason": "hard_bounce", **(details or {})})],
                         source=Source.BOUNCE, actor_label="system:bounce")
    return rows[0]


@transaction.atomic
def record_complaint(contact_id: int, channel: str, details: dict | None = None) \
        -> ConsentChange:
    """The person marked a message as spam: suppress the channel."""
    rows = ledger.append(contact_id, [Change(Action.OPT_OUT, channel, None,
                                             {"reason": "complaint", **(details or {})})],
                         source=Source.COMPLAINT, actor_label="system:complaint")
    return rows[0]
