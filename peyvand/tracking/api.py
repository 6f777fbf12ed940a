"""Engagement numbers over the API: per message, per sending (source) and per contact."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema

from peyvand.api_common import ERRORS, ErrorOut, api_actor
from peyvand.contacts.queries import access_contact
from peyvand.tracking.queries import contact_engagement, message_stats, source_stats

router = Router(tags=["tracking"])


class LinkOut(Schema):
    url: str
    topic: str
    clicks: int
    human_clicks: int
    people: int


class InterestOut(Schema):
    topic: str
    score: float


class BounceOut(Schema):
    kind: str
    status: str
    received_at: dt.datetime


class Counts(Schema):
    opens: int = Field(description="every load of the open pixel")
    unique_opens: int = Field(description="each message once per person, however often "
                                          "its pixel loads")
    human_opens: int
    machine_opens: int
    clicks: int
    human_clicks: int
    machine_clicks: int
    links: list[LinkOut]


class MessageStatsOut(Counts):
    message_id: int
    opened: bool
    opened_by_person: bool
    clicked: bool
    last_open: dt.datetime | None
    last_click: dt.datetime | None
    readers: dict[str, int]
    bounces: list[BounceOut]


class SourceStatsOut(Counts):
    source: str
    messages: int
    opened_messages: int
    human_opened_messages: int
    clicked_messages: int
    human_open_rate: float
    click_rate: float
    readers: dict[str, int]
    bounces: dict[str, int]


class EngagementOut(Counts):
    contact_id: int
    opened_messages: int
    human_opened_messages: int
    clicked_messages: int
    last_open: dt.datetime | None
    last_click: dt.datetime | None
    interests: list[InterestOut]
    bounces: dict[str, int]


@router.get("/messages/{message_id}/stats", response={200: MessageStatsOut, ERRORS: ErrorOut})
def get_message_stats(request, message_id: int):
    """Opens (all, by people, by machines), clicks per link and bounces of one message."""
    return message_stats(api_actor(request), message_id)


@router.get("/sources/{source}/stats", response={200: SourceStatsOut, ERRORS: ErrorOut})
def get_source_stats(request, source: str):
    """Totals over every message of one sending, e.g. `broadcast:12`."""
    return source_stats(api_actor(request), source)


@router.get("/contacts/{contact_id}/engagement", response={200: EngagementOut, ERRORS: ErrorOut})
def get_engagement(request, contact_id: int):
    """A contact's opens, clicks, interest profile (decayed to now) and bounces."""
    actor = api_actor(request)
    return contact_engagement(actor, access_contact(actor, contact_id))
