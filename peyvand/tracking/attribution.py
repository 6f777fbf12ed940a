"""Orders attributed to sendings: the last human click before the order wins.

The rule (docs/subsystems/tracking.md, "Attribution"): an order counts for the sending
(outbox `source`) of its contact's last human click — a `TrackingEvent` of kind click not
flagged as a machine's — before the order's `placed_at`, when that click is at most the
sending's attribution window old (days; `register_window`, 5 by default). So an order counts
for one sending at most, and for none when the person's last click was on another sending's
link or too long ago. Orders cancelled, failed, drafts, refunded in full (status `refunded`)
or deleted at the shop do not count. Revenue is the order's `total` in minor units of its own
currency, summed per currency and never across currencies.

Computed in SQL when asked: the sendings' clicked messages (from the counters' message
tallies, one index range) give the people who clicked; each of their orders since the
sendings began gets its last human click by a correlated subquery on the events' (contact,
kind, at) index; the click's message gives its sending.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils.module_loading import import_string

from peyvand.commerce.models import NOT_REVENUE, Order
from peyvand.tracking import outbox
from peyvand.tracking.models import MessageTally, TrackingEvent

DEFAULT_WINDOW_DAYS = 5
NOT_COUNTED = (*NOT_REVENUE, Order.Status.REFUNDED)
CLICK = TrackingEvent.Kind.CLICK

Lookup = Callable[[list[str]], dict[str, int]]
_lookups: list[str | Lookup] = []


def register_window(lookup: str | Lookup) -> None:
    """A floor above (campaigns) says how long its sendings' clicks earn orders: `lookup`
    (a function, or its dotted path) takes sources and returns {source: days} for those it
    knows. Later registrations win for the sources they answer."""
    if lookup not in _lookups:
        _lookups.append(lookup)


def windows(sources: list[str]) -> dict[str, int]:
    days = dict.fromkeys(sources, DEFAULT_WINDOW_DAYS)
    for lookup in _lookups:
        found = (import_string(lookup) if isinstance(lookup, str) else lookup)(list(sources))
        days.update({s: int(d) for s, d in found.items() if s in days and d is not None})
    return days


def attributed_rows(sources: list[str]) -> list[tuple[str, int, str, int, int]]:
    """(source, contact id, currency, orders, revenue) for each contact with orders
    attributed to one of `sources`."""
    sources = list(dict.fromkeys(sources))
    since = outbox.first_created(sources)
    if not sources or since is None:
        return []
    clicked = MessageTally.objects.filter(source__in=sources, human_clicks__gt=0)
    clickers = TrackingEvent.objects.filter(
        kind=CLICK, machine=False, contact__isnull=False,
        message_id__in=clicked.values("message_id")).values("contact_id")
    last = (TrackingEvent.objects.filter(contact_id=OuterRef("contact_id"), kind=CLICK,
                                         machine=False, at__lt=OuterRef("placed_at"))
            .order_by("-at", "-id"))
    by_days: dict[int, list[str]] = defaultdict(list)
    for source, days in windows(sources).items():
        by_days[days].append(source)
    in_window = Q(pk__in=[])
    for days, group in by_days.items():
        in_window |= Q(click_source__in=group,
                       click_at__gte=F("placed_at") - dt.timedelta(days=days))
    orders = (Order.objects.filter(contact_id__in=clickers, deleted_at__isnull=True,
                                   placed_at__gt=since)
              .exclude(status__in=NOT_COUNTED)
              .annotate(click_message=Subquery(last.values("message_id")[:1]),
                        click_at=Subquery(last.values("at")[:1]))
              .annotate(click_source=Subquery(outbox.source_of(OuterRef("click_message"))))
              .filter(in_window))
    rows = (orders.values("click_source", "contact_id", "currency")
            .order_by("click_source", "contact_id", "currency")
            .annotate(n=Count("pk"), revenue=Sum("total")))
    return [(r["click_source"], r["contact_id"], r["currency"], r["n"], r["revenue"] or 0)
            for r in rows]


def attributed(sources: list[str]) -> dict[str, dict[str, Any]]:
    """{source: {"orders": n, "revenue": {currency: minor units}, "contacts": n}}."""
    out: dict[str, dict[str, Any]] = {
        s: {"orders": 0, "revenue": {}, "contacts": 0} for s in sources}
    people: dict[str, set[int]] = defaultdict(set)
    for source, contact_id, currency, n, revenue in attributed_rows(sources):
        entry = out[source]
        entry["orders"] += n
        entry["revenue"][currency] = entry["revenue"].get(currency, 0) + revenue
        people[source].add(contact_id)
    for source, contacts in people.items():
        out[source]["contacts"] = len(contacts)
    return out
