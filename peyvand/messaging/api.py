"""REST API: /templates (CRUD), /broadcasts (always marketing; preview, then approval of the
words previewed), /messages (one transactional or alert message; what a person received).
Thin: parse, act, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import transaction
from django.utils.translation import gettext as _
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
from peyvand.base.roles import require
from peyvand.messaging.actions import (
    MessagingInvalid,
    do_approve_broadcast,
    do_create_broadcast,
    do_delete_template,
    do_save_template,
    do_send_message,
)
from peyvand.messaging.audience import audience_from_input
from peyvand.messaging.content import lacks_unsubscribe_link
from peyvand.messaging.models import Channel, MessageClass, MessageTemplate
from peyvand.messaging.queries import (
    audience_preview,
    broadcast_of,
    broadcast_preview,
    broadcasts,
    message_of,
    progress,
    received,
    spec_preview,
    template_of,
    templates,
)

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
    blocks: list[dict[str, Any]] | None = Field(
        None, description="an e-mail designed from blocks (heading, text, image, button, "
                          "divider, columns, products, cross_sell, coupon, footer): its html "
                          "and, unless written, its text are made from them; [] for HTML")

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
    blocks: list[dict[str, Any]] = []
    updated_at: dt.datetime
    unsubscribe_footer: bool = Field(
        ..., description="a marketing e-mail without {{ unsubscribe_url }}: every message "
                         "gets a footer with the link in the contact's language")

    @staticmethod
    def resolve_unsubscribe_footer(obj) -> bool:
        return lacks_unsubscribe_link(obj)


class TemplatePage(Schema):
    items: list[TemplateOut]
    count: int
    page: int
    page_size: int


class BroadcastIn(Body):
    template: str
    tag: str | None = Field(None, description="a tag's name: its contacts receive it")
    segments: list[int] = Field([], description="segment ids whose people receive it "
                                               "(with or instead of the tag)")
    exclude_segments: list[int] = Field([], description="segment ids whose people do not")
    exclude_tags: list[str] = Field([], description="tag names whose contacts do not")
    message_class: str | None = Field(
        None, alias="class", description="marketing, the only class a broadcast may have; "
                                         "any other is refused (400)")

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
    digest: str = Field(..., description="the approved words' digest ('' until approved)")
    audience: dict[str, Any]
    audience_spec: dict[str, Any] = Field(..., description="what was asked for: segments, "
                                          "tags, exclusions ({} for a broadcast to one tag)")
    audience_label: str


class AudienceReason(Schema):
    reason: str
    count: int
    text: str


class AudienceOut(Schema):
    count: int = Field(..., description="people in the audience now (or when it was queued)")
    frozen: bool = Field(..., description="queued: the people were taken then")
    reachable: int | None = None
    refused: int | None = Field(None, description="how many the gate would refuse now")
    will_send: int | None = None
    estimate: bool = False
    evaluated: int | None = None
    reasons: list[AudienceReason] = []
    queued: int | None = None
    no_address: int | None = None
    error: str | None = Field(None, description="why nobody can be counted (a deleted segment)")


class AudiencePreviewIn(Body):
    template: str
    tag: str | None = None
    segments: list[int] = []
    exclude_segments: list[int] = []
    exclude_tags: list[str] = []


class BroadcastPage(Schema):
    items: list[BroadcastOut]
    count: int
    page: int
    page_size: int


class ApproveIn(Body):
    digest: str = Field(..., description="the digest from GET /broadcasts/{id}/preview: what "
                                         "is approved is what was looked at")


class RenderOut(Schema):
    language: str
    subject: str
    html: str
    text: str


class PreviewOut(Schema):
    digest: str
    frozen: bool
    sample_contact: int | None
    footer: bool
    renders: list[RenderOut]


class MessageIn(Body):
    template: str = Field(..., description="a template the owner marked transactional or alert")
    contact: int = Field(..., description="the contact's id")
    key: str = Field(..., description="names this message (an order number, say): 1 to 40 "
                                      "of A-Z a-z 0-9 . _ : -; a key is sent once")


class MessageOut(Schema):
    id: int
    source: str
    contact: int
    template: str
    message_class: str = Field(..., alias="class")
    channel: str
    state: str
    created: bool


class ReceivedOut(Schema):
    id: int
    contact: int
    state: str
    sent_at: dt.datetime | None
    how: str = Field(..., description="rendered, written, not_rendered or unknown")
    subject: str
    html: str
    text: str
    verified: bool | None
    snapshot_digest: str
    content_digest: str


def _template_body(payload: TemplateIn, current=None) -> dict:
    raw = payload.model_dump(exclude_unset=True)
    if current is not None:  # PATCH-like PUT: keys not given keep their value
        base = {k: getattr(current, k) for k in ("name", "subject", "html", "text", "language",
                                                  "channel", "topic", "message_class",
                                                  "content_type", "blocks")}
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
    return Status(201, do_save_template(api_actor(request), _template_body(payload)))


@router.get("/templates/{template_id}", response={200: TemplateOut, ERRORS: ErrorOut})
def get_template(request, template_id: int):
    return template_of(api_actor(request), template_id)


@router.put("/templates/{template_id}", response={200: TemplateOut, ERRORS: ErrorOut})
def update_template(request, template_id: int, payload: TemplateIn):
    actor = api_actor(request)
    current = template_of(actor, template_id)
    return do_save_template(actor, _template_body(payload, current), current)


@router.delete("/templates/{template_id}", response={204: None, ERRORS: ErrorOut})
def delete_template(request, template_id: int):
    actor = api_actor(request)
    try:
        do_delete_template(actor, template_of(actor, template_id))
    except MessagingInvalid as exc:  # every refusal here is the template's state: 409
        raise MessagingInvalid(exc.errors, status=409) from exc
    return Status(204, None)


def _broadcast_out(item) -> dict:
    return {"id": item.pk, "template": item.template.name, "tag": item.tag_name,
            "class": item.message_class, "status": item.status, "created_by": item.created_by,
            "approved_by": item.approved_by, "queued": item.queued_count,
            "no_address": item.no_address_count, "counts": progress(item)["counts"],
            "digest": item.snapshot.digest if item.snapshot else "",
            "audience": item.audience, "audience_spec": item.audience_spec,
            "audience_label": item.audience_label}


def _audience_in(payload) -> dict | None:
    if not (payload.segments or payload.exclude_segments or payload.exclude_tags):
        return None
    return audience_from_input(segments=payload.segments,
                               exclude_segments=payload.exclude_segments,
                               exclude_tags=payload.exclude_tags,
                               tags=[payload.tag] if payload.tag else [])


@router.get("/broadcasts", response={200: BroadcastPage, ERRORS: ErrorOut}, by_alias=True)
def list_broadcasts(request, paging: Query[Paging]):
    page, count = page_of(broadcasts(api_actor(request)), paging)
    return {"items": [_broadcast_out(b) for b in page], "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/broadcasts", response={201: BroadcastOut, ERRORS: ErrorOut}, by_alias=True)
def create_broadcast(request, payload: BroadcastIn):
    """Send a marketing template to a tag, or to segments (and tags), minus excluded segments
    and tags. A broadcast is always marketing (consent, unsubscribe link, approval): `class`,
    when given, must be "marketing". One by anyone but the owner waits for approval
    (GET …/audience and …/preview, then POST …/approve with its digest)."""
    with transaction.atomic():
        item = do_create_broadcast(api_actor(request), payload.template, payload.tag,
                                   payload.message_class, audience=_audience_in(payload))
    return Status(201, _broadcast_out(item))


@router.post("/broadcasts/audience", response={200: AudienceOut, ERRORS: ErrorOut})
def preview_audience(request, payload: AudiencePreviewIn):
    """Whom an audience would reach, before any broadcast is made of it: the count and
    how many the gate would refuse, by reason. (Declared before /broadcasts/{id}.)"""
    actor = api_actor(request)
    require(actor, "messages.view")  # before the lookup: a refused role learns no names
    template = MessageTemplate.objects.filter(name=payload.template).first()
    if template is None:
        raise MessagingInvalid({"template": _("There is no template named “%(name)s”.")
                                % {"name": payload.template}})
    spec = _audience_in(payload) or audience_from_input(tags=[payload.tag or ""])
    return spec_preview(actor, spec, template)


@router.get("/broadcasts/{broadcast_id}", response={200: BroadcastOut, ERRORS: ErrorOut},
            by_alias=True)
def get_broadcast(request, broadcast_id: int):
    return _broadcast_out(broadcast_of(api_actor(request), broadcast_id))


@router.get("/broadcasts/{broadcast_id}/audience", response={200: AudienceOut, ERRORS: ErrorOut})
def broadcast_audience(request, broadcast_id: int):
    """Whom it reaches: before approval, the audience now and how many the gate would refuse,
    by reason; once queued, the count taken then."""
    actor = api_actor(request)
    return audience_preview(actor, broadcast_of(actor, broadcast_id))


@router.get("/broadcasts/{broadcast_id}/preview", response={200: PreviewOut, ERRORS: ErrorOut})
def preview_broadcast(request, broadcast_id: int):
    """What the broadcast sends, rendered for a sample contact of its audience in Persian and
    in English, and the digest an approval must name. After approval: the frozen words."""
    actor = api_actor(request)
    # A template failing for this contact is the author's to fix: 400, naming the part.
    return broadcast_preview(actor, broadcast_of(actor, broadcast_id))


@router.post("/broadcasts/{broadcast_id}/approve",
             response={200: BroadcastOut, ERRORS: ErrorOut}, by_alias=True)
def approve_broadcast(request, broadcast_id: int, payload: ApproveIn):
    """Approve the words previewed: `digest` from GET …/preview. 409 when the template has
    changed since (look again) or the broadcast is not awaiting approval."""
    actor = api_actor(request)
    try:
        item = do_approve_broadcast(actor, broadcast_of(actor, broadcast_id), payload.digest)
    except MessagingInvalid as exc:  # every refusal here is the broadcast's state: 409
        raise MessagingInvalid(exc.errors, status=409) from exc
    return _broadcast_out(item)


def _message_out(row, created: bool) -> dict:
    return {"id": row.pk, "source": row.source, "contact": row.contact_id,
            "template": row.snapshot.template_name if row.snapshot else "",
            "class": row.message_class, "channel": row.channel, "state": row.state,
            "created": created}


@router.post("/messages/transactional", response={200: MessageOut, 201: MessageOut,
                                                  ERRORS: ErrorOut}, by_alias=True)
def send_message(request, payload: MessageIn):
    """One transactional or alert message to one contact (an order confirmation, a delivery
    notice), from a template the owner marked so; owner tokens only (messages.transactional).
    It passes the OutboundGate: transactional messages never go to an address that bounced
    or a person who complained; alerts need consent. 201 queued; 200 when this key was sent
    already (the same message, not a second one); 400 what is wrong."""
    with transaction.atomic():
        row, created = do_send_message(api_actor(request), payload.template,
                                       payload.contact, payload.key)
    return Status(201 if created else 200, _message_out(row, created))


@router.get("/messages/{message_id}", response={200: ReceivedOut, ERRORS: ErrorOut})
def get_message(request, message_id: int):
    """What the person received in this message: its words rendered again from the approved
    snapshot and the merge data kept when it was sent, and whether the digest matches."""
    actor = api_actor(request)
    row = message_of(actor, message_id)
    return {"id": row.pk, "contact": row.contact_id, "state": row.state,
            "sent_at": row.sent_at, **received(actor, row)}
