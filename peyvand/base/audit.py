"""The one way to write the audit log."""

from __future__ import annotations

from typing import Any

from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry


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
