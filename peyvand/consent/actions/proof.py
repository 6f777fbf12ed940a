"""Proof of consent: what a person agreed to, when and how, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.consent.actions.common import ConsentInvalid
from peyvand.consent.models import ConsentChange, ConsentState
from peyvand.contacts.models import Contact

# --- proof of consent (E1) ----------------------------------------------------------------------

PROOF_COLUMNS = ["at", "channel", "topic", "action", "source", "form", "text_version",
                 "text_language", "text", "ip", "user_agent", "actor", "details", "attestation"]


def proof_of_consent(contact: Contact) -> dict[str, Any]:
    rows = (ConsentChange.objects.filter(contact=contact)
            .select_related("topic", "form", "text", "attestation").order_by("at", "id"))
    history = []
    for r in rows:
        attested = r.attestation
        history.append({
            "at": r.at.isoformat(), "channel": r.channel,
            "topic": r.topic.key if r.topic else None, "action": r.action, "source": r.source,
            "form": r.form.slug if r.form else None,
            "text_version": r.text.version if r.text else None,
            "text_language": r.text.language if r.text else None,
            "text": r.text.text if r.text else None,
            "ip": r.ip, "user_agent": r.user_agent, "actor": r.actor_label,
            "details": r.details,
            # An import: who vouched that the person consented elsewhere, and in what words.
            "attestation": {"text": attested.text, "evidence": attested.evidence,
                            "file": attested.filename, "by": attested.actor_label,
                            "at": attested.created_at.isoformat()} if attested else None})
    current = []
    for s in ConsentState.objects.filter(contact=contact).select_related("topic") \
            .order_by("channel", "topic__key"):
        current.append({
            "channel": s.channel, "topic": s.topic.key if s.topic else None,
            "status": s.status, "frequency": s.frequency, "format": s.format,
            "paused_until": s.paused_until.isoformat() if s.paused_until else None,
            "suppression": s.suppression,
            "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None})
    return {"contact_id": contact.pk, "generated_at": timezone.now().isoformat(),
            "current": current, "history": history}


@transaction.atomic
def do_export_proof(actor: Actor, contact: Contact, fmt: str = "json") -> dict[str, Any]:
    """Everything the ledger proves about one person's consent; audited."""
    require(actor, "consent.export")
    if fmt not in ("json", "csv"):
        raise ConsentInvalid({"format": _("Choose json or csv.")})
    data = proof_of_consent(contact)
    record_audit(actor, "consent.export", target_type="contact", target_id=contact.pk,
                 summary=_("Proof of consent export"), details={"format": fmt,
                                                               "rows": len(data["history"])})
    return data


def proof_csv(data: dict[str, Any]) -> str:
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PROOF_COLUMNS)
    for row in data["history"]:
        values = []
        for name in PROOF_COLUMNS:
            value = row.get(name)
            if name in ("details", "attestation") and value is not None:
                value = json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
            value = "" if value is None else str(value)
            # A cell starting with = + - @ is a formula to spreadsheets: keep it text.
            if value[:1] in ("=", "+", "-", "@"):
                value = "'" + value
            values.append(value)
        writer.writerow(values)
    return out.getvalue()
