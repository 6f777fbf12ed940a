"""Opens and clicks counted per message, per link, per sending and per contact.

"Human" counts leave out hits flagged as machines' (privacy proxies, scanners, too fast);
"unique" counts people (or, for a single message, whether it was opened at all): `opens` is
every pixel hit, `unique_opens` counts each message once per person however often its pixel
loads.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.contacts.models import Contact
from peyvand.tracking import outbox
from peyvand.tracking.interests import profile
from peyvand.tracking.models import BounceReport, TrackingEvent

OPEN, CLICK = TrackingEvent.Kind.OPEN, TrackingEvent.Kind.CLICK


def event_totals(qs) -> dict[str, Any]:
    human = Q(machine=False)
    totals = qs.aggregate(
        opens=Count("pk", filter=Q(kind=OPEN)),
        unique_opens=Count("pk", filter=Q(kind=OPEN, unique_open=True)),
        human_opens=Count("pk", filter=Q(kind=OPEN) & human),
        machine_opens=Count("pk", filter=Q(kind=OPEN, machine=True)),
        clicks=Count("pk", filter=Q(kind=CLICK)),
        human_clicks=Count("pk", filter=Q(kind=CLICK) & human),
        machine_clicks=Count("pk", filter=Q(kind=CLICK, machine=True)),
        opened_messages=Count("message_id", filter=Q(kind=OPEN), distinct=True),
        human_opened_messages=Count("message_id", filter=Q(kind=OPEN) & human, distinct=True),
        clicked_messages=Count("message_id", filter=Q(kind=CLICK) & human, distinct=True),
        last_open=Max("at", filter=Q(kind=OPEN)),
        last_click=Max("at", filter=Q(kind=CLICK) & human),
    )
    return totals


def human_responses(message_ids: list[int]) -> dict[int, str]:
    """{message id: "clicked" or "opened"} for those a person (not a machine) clicked, or
    else opened; messages with neither are absent. One query."""
    out: dict[int, str] = {}
    for message_id, kind in (TrackingEvent.objects.filter(message_id__in=message_ids,
                                                          machine=False)
                             .values_list("message_id", "kind").distinct()):
        if kind == CLICK or message_id not in out:
            out[message_id] = "clicked" if kind == CLICK else "opened"
    return out


def _links(qs) -> list[dict[str, Any]]:
    rows = (qs.filter(kind=CLICK).values("url", "topic")
            .annotate(clicks=Count("pk"), human_clicks=Count("pk", filter=Q(machine=False)),
                      people=Count("contact", filter=Q(machine=False), distinct=True))
            .order_by("-human_clicks", "-clicks", "url"))
    return list(rows)


def _readers(qs) -> dict[str, int]:
    return dict(qs.filter(kind=OPEN).values_list("ua_class").annotate(n=Count("pk"))
                .values_list("ua_class", "n"))


def stats_for_messages(message_ids: list[int]) -> dict[str, Any]:
    qs = TrackingEvent.objects.filter(message_id__in=message_ids)
    stats = event_totals(qs)
    stats.pop("last_open")
    stats.pop("last_click")
    stats["messages"] = len(message_ids)
    stats["links"] = _links(qs)
    stats["readers"] = _readers(qs)
    stats["bounces"] = dict(BounceReport.objects.filter(message_id__in=message_ids)
                            .values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    return stats


def message_stats(actor: Actor, message_id: int) -> dict[str, Any]:
    require(actor, "messages.view")
    qs = TrackingEvent.objects.filter(message_id=message_id)
    stats = event_totals(qs)
    stats["message_id"] = message_id
    stats["opened"] = stats.pop("opened_messages") > 0
    stats["opened_by_person"] = stats.pop("human_opened_messages") > 0
    stats["clicked"] = stats.pop("clicked_messages") > 0
    stats["links"] = _links(qs)
    stats["readers"] = _readers(qs)
    stats["bounces"] = list(BounceReport.objects.filter(message_id=message_id)
                            .values("kind", "status", "received_at"))
    return stats


def source_stats(actor: Actor, source: str) -> dict[str, Any]:
    """One sending's totals (all outbox rows of `source`, e.g. "broadcast:12")."""
    require(actor, "messages.view")
    stats = stats_for_messages(outbox.ids_for_source(source))
    stats["source"] = source
    sent = stats["messages"] or 1
    stats["human_open_rate"] = round(stats["human_opened_messages"] / sent, 4)
    stats["click_rate"] = round(stats["clicked_messages"] / sent, 4)
    return stats


def contact_engagement(actor: Actor, contact: Contact) -> dict[str, Any]:
    """A contact's opens, clicks, interests and bounces (the caller has access_contact'ed)."""
    require(actor, "contacts.view")
    qs = TrackingEvent.objects.filter(contact=contact)
    stats = event_totals(qs)
    stats["contact_id"] = contact.pk
    stats["interests"] = [{"topic": t, "score": s} for t, s in profile(contact.pk)]
    stats["links"] = _links(qs)[:20]
    stats["bounces"] = dict(BounceReport.objects.filter(contact=contact).values_list("kind")
                            .annotate(n=Count("pk")).values_list("kind", "n"))
    return stats
