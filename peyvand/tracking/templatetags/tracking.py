"""`{% load tracking %}{% engagement contact.pk %}`: opens, clicks, interests of a contact."""

from __future__ import annotations

from typing import Any

from django import template

from peyvand.tracking.interests import profile
from peyvand.tracking.models import BounceReport, TrackingEvent
from peyvand.tracking.queries import event_totals

register = template.Library()


@register.inclusion_tag("tracking/_engagement.html")
def engagement(contact_id: int) -> dict[str, Any]:
    totals = event_totals(TrackingEvent.objects.filter(contact_id=contact_id))
    return {"totals": totals, "interests": profile(contact_id)[:8],
            "bounces": BounceReport.objects.filter(contact_id=contact_id).count()}
