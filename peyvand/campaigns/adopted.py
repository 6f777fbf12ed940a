"""Broadcasts made the older way (the broadcast page, `peyvand send`, POST /api/v1/broadcasts)
are campaigns too: one variant (A) whose broadcast it is. The same function made campaigns
of the broadcasts that existed before campaigns (migration 0002 holds its own frozen copy).
Their approval stays the broadcast's; their status follows it (`follow_broadcasts`, in the
minute's tick)."""

from __future__ import annotations

from peyvand.campaigns.models import Campaign, Variant
from peyvand.messaging.models import Broadcast
from peyvand.messaging.outbox import WAITING_STATES

STATUS: dict[str, str] = {Broadcast.Status.AWAITING: Campaign.Status.AWAITING,
          Broadcast.Status.QUEUED: Campaign.Status.SENDING,
          Broadcast.Status.REJECTED: Campaign.Status.REJECTED,
          Broadcast.Status.CANCELLED: Campaign.Status.CANCELLED}


def adopt(broadcast: Broadcast) -> Campaign | None:
    """The campaign of a broadcast made outside campaigns (once)."""
    if broadcast.is_test or Variant.objects.filter(broadcast=broadcast).exists():
        return None
    spec = broadcast.audience_spec or ({"tags": [broadcast.tag_id]} if broadcast.tag_id
                                       else {})
    label = broadcast.tag_name or broadcast.audience_label or "…"
    campaign = Campaign.objects.create(
        name=f"{broadcast.template.name} → {label}"[:120], channel=broadcast.template.channel,
        audience_spec=spec, audience=broadcast.audience, status=_status(broadcast),
        created_by=broadcast.created_by, approved_by=broadcast.approved_by,
        approved_at=broadcast.approved_at, started_at=broadcast.approved_at,
        decision={"adopted_from": broadcast.source})
    Variant.objects.create(campaign=campaign, label="A", template_id=broadcast.template_id,
                           snapshot_id=broadcast.snapshot_id, broadcast=broadcast)
    return campaign


def _status(broadcast: Broadcast) -> str:
    status: str = STATUS.get(broadcast.status, Campaign.Status.SENDING)
    if status == Campaign.Status.SENDING and not broadcast.messages.filter(
            state__in=WAITING_STATES).exists():
        return Campaign.Status.SENT
    return status


def follow_broadcasts() -> int:
    """Adopted campaigns awaiting their broadcast's approval take its decision (approved:
    sending, with who approved; rejected). Returns how many changed."""
    changed = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.AWAITING,
                                            decision__has_key="adopted_from"):
        variant = campaign.variants.select_related("broadcast").first()
        broadcast = variant.broadcast if variant else None
        if variant is None or broadcast is None or \
                broadcast.status == Broadcast.Status.AWAITING:
            continue
        Variant.objects.filter(pk=variant.pk).update(snapshot_id=broadcast.snapshot_id)
        Campaign.objects.filter(pk=campaign.pk).update(
            status=_status(broadcast), approved_by=broadcast.approved_by,
            approved_at=broadcast.approved_at, started_at=broadcast.approved_at,
            audience=broadcast.audience)
        changed += 1
    return changed
