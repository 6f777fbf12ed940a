"""What the permission floor holds about a person, for their subject-access export.

Registered in contacts' hooks from ConsentConfig.ready. Erasure is ledger.forget_devices: the
ledger is append-only, and only the ledger module may rewrite it.
"""

from __future__ import annotations

from typing import Any

from peyvand.consent.actions import proof_of_consent
from peyvand.consent.models import Signup
from peyvand.contacts.models import Contact


def export_sections(contact_id: int) -> dict[str, Any]:
    """The consent ledger (with IP address and browser of each change) and current state,
    and every sign-up form submission."""
    proof = proof_of_consent(Contact.objects.get(pk=contact_id))
    signups = Signup.objects.filter(contact_id=contact_id).select_related("form") \
        .order_by("created_at", "id")
    return {
        "consent": {"current": proof["current"], "history": proof["history"]},
        "signups": [{"form": s.form.slug, "created_at": s.created_at, "via": s.via,
                     "ip": s.ip, "language": s.language, "channels": s.channels,
                     "topics": s.topics, "incentive": s.incentive_kind,
                     "incentive_text": s.incentive_text, "confirmed_at": s.confirmed_at}
                    for s in signups],
    }
