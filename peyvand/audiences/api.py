"""REST API for segments: saved rules, their live count and members, a preview of a rule being
written, the path catalogue and refreshing the materialised membership.

Thin: parse input, build an API actor, call audiences.queries / actions, render. Role checks
live there; a rule that does not hold is refused by the compiler with the path of its node
(`{"errors": {"rules.all[1].op": reason}}`, 400), rendered by peyvand.api.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.utils import translation
from ninja import Field, Query, Router, Schema

from peyvand.api_common import ERRORS, Body, ErrorOut, Paging, Status, api_actor, page_of
from peyvand.audiences import queries
from peyvand.audiences.actions import (
    do_create_segment,
    do_delete_segment,
    do_refresh_segment,
    do_update_segment,
)
from peyvand.audiences.api_actions import router as actions_router
from peyvand.audiences.api_queries import (
    RULES_EXAMPLE,
    field_catalogue,
    live_members,
    rules_description,
    segment_data,
)
from peyvand.base.roles import require
from peyvand.contacts.api import ContactOut, ContactPage, contact_out, with_fields
from peyvand.contacts.models import Contact

router = Router(tags=["segments"])

# Any JSON reaches the compiler, which names the faulty node (400) rather than the schema
# refusing it with a bare 422; the schema still documents the grammar and its shape.
Rules = Annotated[Any, Field(description=rules_description(), examples=[RULES_EXAMPLE],
                             json_schema_extra={"type": "object"})]


class SegmentIn(Body):
    name: str
    rules: Rules
    description: str = Field("", max_length=300)
    auto_refresh: bool = Field(True, description="refresh the membership on the schedule "
                                                 "(hourly, and soon after the data changes)")


class SegmentPatch(Body):
    name: str | None = None
    rules: Rules = None
    description: str | None = Field(None, max_length=300)
    auto_refresh: bool | None = None


class SegmentPreviewIn(Body):
    rules: Rules


# --- output -------------------------------------------------------------------------------------

class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rules: Any
    count: int | None = Field(description="who the rule matches now (live); null when the "
                                          "saved rule no longer compiles")
    refreshed_at: dt.datetime | None = Field(description="the last refresh of the membership")
    member_count: int = Field(description="members found by the last refresh")
    auto_refresh: bool
    created_at: dt.datetime


class SegmentPage(Schema):
    items: list[SegmentOut]
    count: int
    page: int
    page_size: int


class SegmentPreviewOut(Schema):
    count: int
    items: list[ContactOut] = Field(description="the first page, newest contact first")


class PathChoiceOut(Schema):
    value: str
    label: str


class PathOut(Schema):
    path: str
    type: str
    group: str
    label: str
    ops: list[str]
    choices: list[PathChoiceOut]
    in_last: bool = Field(description="takes \"in_last\": {\"days\": N}")
    help: str


class PathGroupOut(Schema):
    key: str
    label: str


class FieldCatalogueOut(Schema):
    groups: list[PathGroupOut]
    items: list[PathOut]
    count: int


class SegmentRefreshOut(Schema):
    count: int = Field(description="members now")
    entered: int
    left: int
    baseline: bool = Field(description="the first refresh (or the first after the rule "
                                       "changed): members recorded without entered rows")


# --- helpers ------------------------------------------------------------------------------------

def _contacts_out(contacts: list[Contact]) -> list[dict[str, Any]]:
    """Contacts as the contacts API lists them, in the order given."""
    found = {c.pk: c for c in with_fields(Contact.objects.filter(pk__in=[c.pk for c in contacts]))}
    return [contact_out(found[c.pk]) for c in contacts]


# --- segments -----------------------------------------------------------------------------------
# The fixed paths come before /segments/{segment_id}, which would otherwise take them.

@router.get("/segments/fields", response={200: FieldCatalogueOut, ERRORS: ErrorOut})
def segment_fields(request):
    """Every path a rule can name, with its type, ops, label (in the caller's language),
    choices and group; `groups` in the field picker's order."""
    require(api_actor(request), "segments.view")
    return field_catalogue((translation.get_language() or "en")[:2])


@router.post("/segments/preview", response={200: SegmentPreviewOut, ERRORS: ErrorOut})
def preview_segment(request, payload: SegmentPreviewIn):
    """The count of a rule not saved yet, and its first page of contacts."""
    result = queries.preview(api_actor(request), payload.rules)
    return {"count": result["count"], "items": _contacts_out(result["items"])}


@router.get("/segments", response={200: SegmentPage, ERRORS: ErrorOut})
def list_segments(request, paging: Query[Paging]):
    """Segments by name; `count` is live (the rule now), `member_count` the last refresh's."""
    page, count = page_of(queries.segments(api_actor(request)), paging)
    return {"items": [segment_data(s) for s in page], "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/segments", response={201: SegmentOut, ERRORS: ErrorOut})
def create_segment(request, payload: SegmentIn):
    segment = do_create_segment(api_actor(request), payload.name, payload.rules,
                                description=payload.description,
                                auto_refresh=payload.auto_refresh)
    return Status(201, segment_data(segment))


@router.get("/segments/{int:segment_id}", response={200: SegmentOut, ERRORS: ErrorOut})
def get_segment(request, segment_id: int):
    return segment_data(queries.access_segment(api_actor(request), segment_id))


@router.patch("/segments/{int:segment_id}", response={200: SegmentOut, ERRORS: ErrorOut})
def update_segment(request, segment_id: int, payload: SegmentPatch):
    """Change what is given. A new rule starts the membership afresh: the next refresh is a
    baseline."""
    actor = api_actor(request)
    segment = queries.access_segment(actor, segment_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return segment_data(do_update_segment(actor, segment, **changes))


@router.delete("/segments/{int:segment_id}", response={204: None, ERRORS: ErrorOut})
def delete_segment(request, segment_id: int):
    """Delete a segment; 409 while another segment's rule names it."""
    actor = api_actor(request)
    do_delete_segment(actor, queries.access_segment(actor, segment_id))
    return Status(204, None)


@router.get("/segments/{int:segment_id}/contacts", response={200: ContactPage, ERRORS: ErrorOut})
def segment_contacts(request, segment_id: int, paging: Query[Paging]):
    """Who the rule matches now, newest contact first, as the contacts list shows them."""
    actor = api_actor(request)
    page, count = page_of(live_members(actor, queries.access_segment(actor, segment_id)), paging)
    return {"items": [contact_out(c) for c in with_fields(page)], "count": count,
            "page": paging.page, "page_size": paging.page_size}


@router.post("/segments/{int:segment_id}/refresh",
             response={200: SegmentRefreshOut, ERRORS: ErrorOut})
def refresh_segment(request, segment_id: int):
    """Bring the materialised membership up to date now (who entered and left is recorded,
    journeys hear of it)."""
    actor = api_actor(request)
    return do_refresh_segment(actor, queries.access_segment(actor, segment_id))


# Acting on people (tag, untag, export, broadcast) as jobs: its own module, one router.
router.add_router("", actions_router)
