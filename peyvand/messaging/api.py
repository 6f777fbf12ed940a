"""REST API: /templates (CRUD) and /broadcasts. Thin: parse, act, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db import transaction
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (  # noqa: I001
    ERRORS,
    Body,
    ErrorOut,
    Paging,
    Status,
    api_actor,
    one_of,
    page_of,
)
from peyvand.messaging.actions import (
    MessagingInvalid,
    do_approve_broadcast,
    do_create_broadcast,
    do_delete_template,
    do_save_template,
)
from peyvand.messaging.models import Channel, MessageClass, MessageTemplate
from peyvand.messaging.queries import broadcast_of, broadcasts, progress, template_of, templates

router = Router(tags=["messaging"])
ClassName = Annotated[str, one_of(*MessageClass.values)]


class TemplateIn(Body):
    name: str | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    language: Annotated[str, one_of(*MessageTemplate.Language.values)] | None = None
    channel: Annotated[str, one_of(*Channel.values)] | None = None
    topic: str | None = None
    message_class: ClassName | None = Field(None, alias="class")
    content_type: str | None = None

    model_config = {"populate_by_name": True}


class TemplateOut(Schema):
    id: int
    name: str
    language: str
    channel: str
    topic: str
    message_class: str
    content_type: str
    subject: str
    html: str
    text: str
    updated_at: dt.datetime


class TemplatePage(Schema):
    items: list[TemplateOut]
    count: int
    page: int
    page_size: int


class BroadcastIn(Body):
    template: str
    tag: str
    message_class: ClassName | None = Field(None, alias="class")

    model_config = {"populate_by_name": True}


class BroadcastOut(Schema):
    id: int
    template: str
    tag: str
    message_class: str = Field(..., alias="class")
    status: str
    created_by: str
    approved_by: str
    queued: int
    no_address: int
    counts: dict[str, int]


class BroadcastPage(Schema):
    items: list[BroadcastOut]
    count: int
    page: int
    page_size: int


def _invalid(exc: MessagingInvalid):
    return Status(400, {"detail": str(exc), "errors": exc.errors})


def _template_body(payload: TemplateIn, current=None) -> dict:
    raw = payload.model_dump(exclude_unset=True)
    if current is not None:  # PATCH-like PUT: keys not given keep their value
        base = {k: getattr(current, k) for k in ("name", "subject", "html", "text", "language",
                                                  "channel", "topic", "message_class",
                                                  "content_type")}
        base.update(raw)
        raw = base
    return raw


@router.get("/templates", response={200: TemplatePage, ERRORS: ErrorOut})
def list_templates(request, paging: Query[Paging]):
    page, count = page_of(templates(api_actor(request)), paging)
    return {"items": list(page), "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/templates", response={201: TemplateOut, ERRORS: ErrorOut})
def create_template(request, payload: TemplateIn):
    """Jinja2 (sandboxed). Syntax errors and sandbox violations answer 400 with
    {"errors": {"html": "line 3: ..."}}."""
    try:
        return Status(201, do_save_template(api_actor(request), _template_body(payload)))
    except MessagingInvalid as exc:
        return _invalid(exc)


@router.get("/templates/{template_id}", response={200: TemplateOut, ERRORS: ErrorOut})
def get_template(request, template_id: int):
    return template_of(api_actor(request), template_id)


@router.put("/templates/{template_id}", response={200: TemplateOut, ERRORS: ErrorOut})
def update_template(request, template_id: int, payload: TemplateIn):
    actor = api_actor(request)
    current = template_of(actor, template_id)
    try:
        return do_save_template(actor, _template_body(payload, current), current)
    except MessagingInvalid as exc:
        return _invalid(exc)


@router.delete("/templates/{template_id}", response={204: None, ERRORS: ErrorOut})
def delete_template(request, template_id: int):
    actor = api_actor(request)
    try:
        do_delete_template(actor, template_of(actor, template_id))
    except MessagingInvalid as exc:
        return Status(409, {"detail": str(exc), "errors": exc.errors})
    return Status(204, None)


def _broadcast_out(item) -> dict:
    return {"id": item.pk, "template": item.template.name, "tag": item.tag_name,
            "class": item.message_class, "status": item.status, "created_by": item.created_by,
            "approved_by": item.approved_by, "queued": item.queued_count,
            "no_address": item.no_address_count, "counts": progress(item)["counts"]}


@router.get("/broadcasts", response={200: BroadcastPage, ERRORS: ErrorOut}, by_alias=True)
def list_broadcasts(request, paging: Query[Paging]):
    page, count = page_of(broadcasts(api_actor(request)), paging)
    return {"items": [_broadcast_out(b) for b in page], "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/broadcasts", response={201: BroadcastOut, ERRORS: ErrorOut}, by_alias=True)
def create_broadcast(request, payload: BroadcastIn):
    """Send a template to a tag. `class`: marketing (default: the template's), alert or
    transactional. A marketing broadcast by anyone but the owner waits for approval."""
    try:
        with transaction.atomic():
            item = do_create_broadcast(api_actor(request), payload.template, payload.tag,
                                       payload.message_class)
    except MessagingInvalid as exc:
        return _invalid(exc)
    return Status(201, _broadcast_out(item))


@router.get("/broadcasts/{broadcast_id}", response={200: BroadcastOut, ERRORS: ErrorOut},
            by_alias=True)
def get_broadcast(request, broadcast_id: int):
    return _broadcast_out(broadcast_of(api_actor(request), broadcast_id))


@router.post("/broadcasts/{broadcast_id}/approve",
             response={200: BroadcastOut, ERRORS: ErrorOut}, by_alias=True)
def approve_broadcast(request, broadcast_id: int):
    actor = api_actor(request)
    try:
        item = do_approve_broadcast(actor, broadcast_of(actor, broadcast_id))
    except MessagingInvalid as exc:
        return Status(409, {"detail": str(exc), "errors": exc.errors})
    return _broadcast_out(item)
