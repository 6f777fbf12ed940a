"""Reads on segments: who matches a rule now, counted and paged, for every face."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404

from peyvand.audiences.models import Segment, SegmentChange, SegmentMember
from peyvand.audiences.rules import compile_rules
from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.contacts.models import Contact

PAGE_SIZE = 50
# Sort and hash memory for segment queries on PostgreSQL: "spent in the last year" sums the
# sales of every buyer, ~760,000 groups at 1M contacts; with the default 4 MB the hash spilled
# to disk in 81 batches (docs/benchmarks.md, Segments). Only for these statements, not for
# every connection: work_mem is per sort or hash node and per process.
SEGMENT_WORK_MEM = "64MB"


@contextmanager
def segment_work_memory() -> Iterator[None]:
    """Run the statements inside with SEGMENT_WORK_MEM, in a transaction (SET LOCAL ends
    with it; inside a caller's transaction it lasts until that one ends). Nothing on SQLite,
    which has no such setting and where a transaction would take the write lock."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{SEGMENT_WORK_MEM}'")
        yield


def count_of(qs: QuerySet) -> int:
    """How many a segment query matches, with the memory such a count needs."""
    with segment_work_memory():
        return qs.count()


def matching(rules: Any, *, now: dt.datetime | None = None,
             segment_id: int | None = None) -> QuerySet:
    """Live (not erased) contacts the rule matches now: one query, however deep the rule."""
    q = compile_rules(rules, now=now, expanding=(segment_id,) if segment_id else ())
    return Contact.objects.live().filter(q)


def preview(actor: Actor, rules: Any, *, page: int = 1,
            page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """The count and one page of members, newest first: what the rule builder shows while a
    rule is being written."""
    require(actor, "segments.view")
    require(actor, "contacts.view")
    qs = matching(rules)
    page = max(1, page)
    with segment_work_memory():
        items = list(qs.order_by("-created_at", "-id")[(page - 1) * page_size:page * page_size])
        count = qs.count()
    return {"count": count, "items": items, "page": page, "page_size": page_size}


def access_segment(actor: Actor, segment_id: Any) -> Segment:
    require(actor, "segments.view")
    try:
        pk = int(segment_id)
    except (TypeError, ValueError):
        raise Http404
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        raise Http404
    return segment


def segments(actor: Actor) -> QuerySet:
    require(actor, "segments.view")
    return Segment.objects.all()


def members_now(segment: Segment) -> QuerySet:
    return matching(segment.rules, segment_id=segment.pk)


def materialised_members(segment: Segment) -> QuerySet:
    """Who the last refresh found (journeys and snapshots read this; counting reads the rule)."""
    return Contact.objects.filter(pk__in=SegmentMember.objects.filter(segment=segment)
                                  .values("contact_id"))


def changes(segment: Segment) -> QuerySet:
    return SegmentChange.objects.filter(segment=segment).select_related("contact")


def segments_of(contact_id: int) -> QuerySet:
    """Segments a contact was in at their last refresh."""
    return Segment.objects.filter(members__contact_id=contact_id)
