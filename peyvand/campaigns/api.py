"""REST API for campaigns: plan (POST/PATCH), read, test-send, schedule, approve, cancel, and
the report. Thin: role checks first, then campaigns.actions / queries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (
    ERRORS,
    WHOLE,
    Body,
    ErrorOut,
    Paging,
    Status,
    api_actor,
    page_of,
)
from peyvand.base.roles import require
from peyvand.campaigns import actions, queries, sending
from peyvand.campaigns.api_data import campaign_data
from peyvand.campaigns.words import words_digest

router = Router(tags=["campaigns"])


class CampaignVariantIn(Schema):
    template: str = Field(description="the template's name (or number)")
    subject: str = Field("", description="another subject for this variant (\"\": the "
                                         "template's)")
    from_name: str = Field("", description="another sender name for this variant (\"\": "
                                           "the sending settings')")
    send_hour: int | None = Field(None, description="a local hour this variant is sent at "
                                                    "(testing the send hour)")


class CampaignIn(Body):
    name: str
    channel: str = "email"
    audience: dict[str, Any] = Field(description="{\"segments\": [ids], \"tags\": [ids], "
                                                 "\"contacts\": [ids], and exclude_ of each}")
    template: str | None = Field(None, description="one variant: the template's name")
    variants: list[CampaignVariantIn] | None = Field(
        None, description="2-4 variants for an A/B test (A is the control)")
    goal: str = "clicks"
    attribution_days: int = 5
    occasion: str = ""
    test_percent: int = 0
    ab_metric: str = "click_rate"
    test_hours: int = 4


class CampaignPatch(Body):
    name: str | None = None
    audience: dict[str, Any] | None = None
    template: str | None = None
    variants: list[CampaignVariantIn] | None = None
    goal: str | None = None
    attribution_days: int | None = None
    occasion: str | None = None
    test_percent: int | None = None
    ab_metric: str | None = None
    test_hours: int | None = None


class CampaignScheduleIn(Body):
    schedule: str = Field("now", description="now | at | local_hour")
    send_at: str | None = Field(None, description="ISO 8601, e.g. 2026-12-24T09:30+03:30 "
                                                  "(without a zone: the shop's)")
    local_date: str | None = Field(None, description="2026-12-24, or Jalali 1405/10/03")
    local_hour: Annotated[int, Field(ge=0, le=23), WHOLE] | None = None
    quiet_override: bool = Field(False, description="the owner sends on a quiet date")


class CampaignApproveIn(Body):
    digest: str = Field(description="the digest from GET /campaigns/{id} (`digest`): the "
                                    "words the reviewer saw")
    quiet_override: bool = False


class CampaignTestIn(Body):
    contacts: list[int] = Field(default_factory=list, description="seed contacts (empty: "
                                                                  "yourself, by your e-mail)")


class CampaignVariantOut(Schema):
    label: str
    template: str
    subject: str
    from_name: str
    send_hour: int | None
    broadcast: int | None
    rest_broadcast: int | None


class CampaignOut(Schema):
    id: int
    name: str
    channel: str
    status: str
    audience: dict[str, Any]
    audience_count: int | None
    goal: str
    attribution_days: int
    occasion: str
    schedule: str
    send_at: dt.datetime | None
    local_date: dt.date | None
    local_hour: int | None
    test_percent: int
    ab_metric: str
    test_hours: int
    decide_at: dt.datetime | None
    decision: dict[str, Any]
    variants: list[CampaignVariantOut]
    created_at: dt.datetime
    created_by: str
    approved_by: str
    approved_at: dt.datetime | None
    started_at: dt.datetime | None
    digest: str = Field("", description="what an approval names: the variants' words now")


class CampaignPage(Schema):
    items: list[CampaignOut]
    count: int
    page: int
    page_size: int


class CampaignTestOut(Schema):
    recipients: int


class CampaignCancelOut(Schema):
    stopped: int = Field(description="messages that had not left and never will")


class ReportLinkOut(Schema):
    url: str
    clicks: int
    unique: int


class CampaignNumbers(Schema):
    sent: int
    delivered: int
    opened: int
    machine_opened: int
    clicked: int
    ordered: int
    revenue: dict[str, int] = Field(description="minor units by currency (never added up "
                                                "across currencies)")
    bounced: dict[str, int]
    complained: int
    unsubscribed: int
    links: list[ReportLinkOut]


class CampaignVariantReport(CampaignNumbers):
    label: str
    template: str
    subject: str


class CampaignReportOut(CampaignNumbers):
    variants: list[CampaignVariantReport]
    decision: dict[str, Any]


def _out(campaign) -> dict[str, Any]:
    return {**campaign_data(campaign), "digest": words_digest(campaign)}


@router.get("/campaigns", response={200: CampaignPage, ERRORS: ErrorOut})
def list_campaigns(request, paging: Query[Paging]):
    page, count = page_of(queries.campaigns(api_actor(request)), paging)
    return {"items": [_out(c) for c in page], "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/campaigns", response={201: CampaignOut, ERRORS: ErrorOut})
def create_campaign(request, payload: CampaignIn):
    """A draft: it goes once scheduled (POST …/schedule) and approved (POST …/approve)."""
    actor = api_actor(request)
    require(actor, "campaigns.edit")
    raw = payload.model_dump(exclude_none=True)
    if payload.variants is not None:
        raw["variants"] = [v.model_dump() for v in payload.variants]
    return Status(201, _out(actions.do_save_campaign(actor, raw)))


@router.get("/campaigns/{int:campaign_id}", response={200: CampaignOut, ERRORS: ErrorOut})
def get_campaign(request, campaign_id: int):
    return _out(queries.campaign_of(api_actor(request), campaign_id))


@router.patch("/campaigns/{int:campaign_id}", response={200: CampaignOut, ERRORS: ErrorOut})
def update_campaign(request, campaign_id: int, payload: CampaignPatch):
    """Change what is given (until approved; a change sends it back to draft)."""
    actor = api_actor(request)
    require(actor, "campaigns.edit")
    raw = payload.model_dump(exclude_unset=True, exclude_none=True)
    if payload.variants is not None:
        raw["variants"] = [v.model_dump() for v in payload.variants]
    campaign = queries.campaign_of(actor, campaign_id)
    return _out(actions.do_save_campaign(actor, raw, campaign))


@router.post("/campaigns/{int:campaign_id}/test", response={200: CampaignTestOut, ERRORS: ErrorOut})
def test_campaign(request, campaign_id: int, payload: CampaignTestIn):
    """Each variant now, to seed contacts or yourself, marked as a test; never reported."""
    actor = api_actor(request)
    require(actor, "campaigns.edit")
    row = sending.do_test_send(actor, queries.campaign_of(actor, campaign_id), payload.contacts)
    return {"recipients": row.recipients}


@router.post("/campaigns/{int:campaign_id}/schedule",
             response={200: CampaignOut, ERRORS: ErrorOut})
def schedule_campaign(request, campaign_id: int, payload: CampaignScheduleIn):
    """Set when it goes; a draft is sent for approval at the same time."""
    actor = api_actor(request)
    require(actor, "campaigns.edit")
    campaign = queries.campaign_of(actor, campaign_id)
    return _out(actions.do_schedule(actor, campaign, payload.model_dump()))


@router.post("/campaigns/{int:campaign_id}/approve",
             response={200: CampaignOut, ERRORS: ErrorOut})
def approve_campaign(request, campaign_id: int, payload: CampaignApproveIn):
    """Approve the words shown (by digest); it goes when its schedule says."""
    actor = api_actor(request)
    require(actor, "campaigns.approve")
    campaign = queries.campaign_of(actor, campaign_id)
    return _out(actions.do_approve(actor, campaign, payload.digest,
                                   quiet_override=payload.quiet_override))


@router.post("/campaigns/{int:campaign_id}/cancel",
             response={200: CampaignCancelOut, ERRORS: ErrorOut})
def cancel_campaign(request, campaign_id: int):
    actor = api_actor(request)
    require(actor, "campaigns.edit")
    return {"stopped": actions.do_cancel(actor, queries.campaign_of(actor, campaign_id))}


@router.get("/campaigns/{int:campaign_id}/report",
            response={200: CampaignReportOut, ERRORS: ErrorOut})
def campaign_report(request, campaign_id: int, format: str = "json"):
    """The funnel (sent → delivered → opened by people → clicked → ordered within the
    window → revenue), bounces, complaints, unsubscribes and links, all and per variant;
    `format=csv` for a file."""
    actor = api_actor(request)
    data = queries.report(actor, queries.campaign_of(actor, campaign_id))
    if format == "csv":
        response = HttpResponse(queries.report_csv(data), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign_id}.csv"'
        return response
    return data
