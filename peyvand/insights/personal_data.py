"""What insights computed about a person, for their subject-access export: RFM scores and
segment, value tier (and its monthly history), loyalty ladder stage, lifetime value and the
probability they are still a customer, purchase cycle. Registered from InsightsConfig.ready.

An erasure leaves these figures on the anonymous row: like the orders they come from, they
are the shop's statistics and name nobody once the contact is erased.
"""

from __future__ import annotations

from typing import Any

from peyvand.insights.models import CustomerMetrics, TierSnapshot


def export_sections(contact_id: int) -> dict[str, Any]:
    metrics = CustomerMetrics.objects.filter(contact_id=contact_id).first()
    figures = None
    if metrics is not None:
        figures = {f.name: getattr(metrics, f.name) for f in CustomerMetrics._meta.concrete_fields
                   if f.name != "contact"}
    tiers = TierSnapshot.objects.filter(contact_id=contact_id).order_by("month")
    return {"insights": {"figures": figures,
                         "tier_history": [{"month": t.month, "tier": t.tier} for t in tiers]}}
