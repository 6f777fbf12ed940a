"""The one way to write the audit log."""

from __future__ import annotations

from typing import Any

from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.base.scrub import Needles, stored_text_filter


def record_audit(actor: Actor, action: str, *, target_type: str = "", target_id: Any = "",
                 summary: str = "", details: dict | None = None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        summary=summary[:300],
        details=details or {},
        via=actor.via,
    )


def forget_in_audit(needles: Needles) -> int:
    """Erasure: entries that name the person by address keep everything else; returns how
    many changed. The log is append-only but for this."""
    if not needles:
        return 0
    query = stored_text_filter(needles, "summary") | stored_text_filter(needles, "details")
    changed = 0
    for pk, summary, details in AuditEntry.objects.filter(query).values_list(
            "pk", "summary", "details"):
        new_summary, new_details = needles.scrub(summary), needles.scrub(details)
        if (new_summary, new_details) != (summary, details):
            AuditEntry.objects.filter(pk=pk).update(summary=new_summary, details=new_details)
            changed += 1
    return changed
