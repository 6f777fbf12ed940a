"""What audiences holds about one person, for their subject-access export."""

from __future__ import annotations

from typing import Any

from peyvand.audiences.models import Segment


def export_sections(contact_id: int) -> dict[str, Any]:
    """The segments the person was in at their last refresh."""
    names = list(Segment.objects.filter(members__contact_id=contact_id)
                 .values_list("name", flat=True))
    return {"segments": names} if names else {}
