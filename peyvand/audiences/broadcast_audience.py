"""Segments as a broadcast audience: messaging resolves `{"segments": [..],
"exclude_segments": [..]}` through the kind registered here (it may not import audiences).

`register()` is called from AudiencesConfig.ready.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from peyvand.audiences.models import Segment
from peyvand.audiences.queries import matching
from peyvand.base.errors import Invalid


def resolve(ids: list[int]) -> QuerySet:
    """Contacts in any of the segments now (their rules, evaluated live: one query)."""
    missing = set(ids) - set(Segment.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing:
        raise Invalid({"segments": _("There is no segment #%(id)s.") % {"id": min(missing)}})
    return matching({"field": "segment", "op": "in", "value": list(ids)}).values("pk")


def describe(ids: list[int]) -> list[str]:
    names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [names.get(i, f"#{i}") for i in ids]


def register() -> None:
    from peyvand.messaging.audience import register_audience_kind

    register_audience_kind("segment", resolve, describe, choices)


def choices() -> list[tuple[int, str]]:
    return list(Segment.objects.order_by("name").values_list("pk", "name"))
