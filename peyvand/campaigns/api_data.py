"""A campaign as the API and CLI give it (one shape for both)."""

from __future__ import annotations

from typing import Any

from peyvand.campaigns.models import Campaign


def campaign_data(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk, "name": campaign.name, "channel": campaign.channel,
        "status": campaign.status, "audience": campaign.audience_spec,
        "audience_count": (campaign.audience or {}).get("count"),
        "goal": campaign.goal, "attribution_days": campaign.attribution_days,
        "occasion": campaign.occasion, "schedule": campaign.schedule,
        "send_at": campaign.send_at, "local_date": campaign.local_date,
        "local_hour": campaign.local_hour, "test_percent": campaign.test_percent,
        "ab_metric": campaign.ab_metric, "test_hours": campaign.test_hours,
        "decide_at": campaign.decide_at, "decision": campaign.decision,
        "variants": [{"label": v.label, "template": v.template.name, "subject": v.subject,
                      "from_name": v.from_name, "send_hour": v.send_hour,
                      "broadcast": v.broadcast_id, "rest_broadcast": v.rest_broadcast_id}
                     for v in campaign.variants.all()],
        "created_at": campaign.created_at, "created_by": campaign.created_by,
        "approved_by": campaign.approved_by, "approved_at": campaign.approved_at,
        "started_at": campaign.started_at,
    }
