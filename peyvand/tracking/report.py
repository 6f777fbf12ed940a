"""The campaign report: one sending's (or several sendings', added up) numbers, each of them
traceable to rows (docs/subsystems/tracking.md, "The campaign report").

`source_report(sources)` reads opens and clicks from the counters the drain keeps
(tracking.counters), the outbox's states from its (broadcast, state) index, bounces,
complaints, SMS deliveries and unsubscribes from their rows, orders through attribution.
`breakdown(sources, by)` splits sent / opened / clicked / ordered by value tier, loyalty
rung or the caller's segments; `report_csv(report)` writes a report as CSV.

Unique counts (opened, machine_opened, clicked, a link's "unique") count messages, one per
recipient and channel; "ordered" counts people with an attributed order.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from peyvand.contacts.models import Contact
from peyvand.insights.models import CustomerMetrics
from peyvand.messaging.models import Channel, OutboxMessage
from peyvand.tracking import consent_port, counters, outbox
from peyvand.tracking.attribution import attributed_rows
from peyvand.tracking.models import BounceReport, MessageTally, SmsSend

S = OutboxMessage.State
ACCEPTED = (S.SENT, S.BOUNCED)  # a server took the message
BREAKDOWNS = ("tier", "rung", "segment")
FIELDS = {"tier": "value_tier", "rung": "ladder_stage"}  # insights' columns
NONE = "none"  # the label of people with no insights row (no orders yet)


def source_report(sources: list[str]) -> dict[str, Any]:
    sources = list(dict.fromkeys(sources))
    counts = counters.read(sources)
    states = outbox.state_counts(sources)
    since = outbox.first_created(sources)
    bounced = _bounces(sources, since)
    orders = attributed_rows(sources)
    revenue: dict[str, int] = {}
    for _source, _contact, currency, _n, total in orders:
        revenue[currency] = revenue.get(currency, 0) + total
    left = consent_port.unsubscribes(sources, since)
    reasons: dict[str, int] = {}
    for _contact, reason in left:
        reasons[reason] = reasons.get(reason, 0) + 1
    delivered = (states.get(Channel.EMAIL, {}).get(S.SENT, 0) - bounced["undelivered"]
                 + (_sms_delivered(sources) if Channel.SMS in states else 0))
    return {
        "sent": sum(n for by_state in states.values() for state, n in by_state.items()
                    if state in ACCEPTED),
        "delivered": delivered,
        "opened": counts["opened"],
        "machine_opened": counts["machine_opened"],
        "clicked": counts["clicked"],
        "total_opens": counts["human_opens"],
        "total_clicks": counts["human_clicks"],
        "ordered": len({contact for _s, contact, *_rest in orders}),
        "revenue": dict(sorted(revenue.items())),
        "bounced": {"hard": bounced["hard"], "soft": bounced["soft"]},
        "complained": bounced["complaint"],
        "unsubscribed": len({contact for contact, _reason in left}),
        "unsubscribe_reasons": dict(sorted(reasons.items())),
        "links": counts["links"],
        "hours": {"open": counts["hours"]["open"], "click": counts["hours"]["click"]},
    }


def _bounces(sources: list[str], since: dt.datetime | None) -> dict[str, int]:
    """Messages with a hard bounce report; with a soft one and no hard one; with a
    complaint; and e-mails in state sent with a hard or soft one (not delivered). The reports
    received since the sendings were queued, then their messages by primary key: a join
    from a million outbox rows would read them all."""
    K = BounceReport.Kind
    reports = BounceReport.objects.filter(kind__in=[K.HARD, K.SOFT, K.COMPLAINT],
                                          message_id__isnull=False)
    if since is not None:
        reports = reports.filter(received_at__gte=since)
    kinds: dict[int, set[str]] = {}
    for message_id, kind in reports.values_list("message_id", "kind").order_by().distinct():
        if message_id is not None:
            kinds.setdefault(message_id, set()).add(kind)
    rows = outbox.rows_among(sources, set(kinds))
    kinds = {pk: k for pk, k in kinds.items() if pk in rows}
    return {"hard": sum(K.HARD in k for k in kinds.values()),
            "soft": sum(K.SOFT in k and K.HARD not in k for k in kinds.values()),
            "complaint": sum(K.COMPLAINT in k for k in kinds.values()),
            "undelivered": sum(bool(k & {K.HARD, K.SOFT}) and rows[pk] == (S.SENT, Channel.EMAIL)
                               for pk, k in kinds.items())}


def _sms_delivered(sources: list[str]) -> int:
    """SMS messages of the sendings their gateway reported delivered."""
    return (SmsSend.objects.filter(status=SmsSend.Status.DELIVERED,
                                   message_id__in=outbox.of_sources(sources).values("pk"))
            .values("message_id").order_by().distinct().count())


def breakdown(sources: list[str], by: str,
              segments: dict[str, QuerySet] | None = None) -> dict[str, dict[str, int]]:
    """{label: {"sent", "opened", "clicked", "ordered"}} by the recipients' value tier
    ("tier"), loyalty rung ("rung": insights' ladder stage) — as insights has them now, "none"
    for people it has no row for — or by segment ("segment": `segments` is {label: a query
    of contact ids}, e.g. a segment's members; a person in two segments counts in both)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}")
    sources = list(dict.fromkeys(sources))
    rows = outbox.of_sources(sources).annotate(
        human_open=Exists(MessageTally.objects.filter(message_id=OuterRef("pk"),
                                                      human_opens__gt=0)),
        human_click=Exists(MessageTally.objects.filter(message_id=OuterRef("pk"),
                                                       human_clicks__gt=0)))
    measures = {"sent": Count("pk", filter=Q(state__in=ACCEPTED)),
                "opened": Count("pk", filter=Q(human_open=True)),
                "clicked": Count("pk", filter=Q(human_click=True))}
    buyers = {contact for _s, contact, *_rest in attributed_rows(sources)}
    out: dict[str, dict[str, int]] = {}
    if by == "segment":
        for label, members in (segments or {}).items():
            out[label] = {**rows.filter(contact_id__in=members).aggregate(**measures),
                          "ordered": _count_in(buyers, members)}
        return out
    field = FIELDS[by]
    label_of = Coalesce(Subquery(CustomerMetrics.objects.filter(
        contact_id=OuterRef("contact_id")).values(field)[:1]), Value(""))
    for row in (rows.annotate(label=label_of).values("label").order_by("label")
                .annotate(**measures)):
        label = row.pop("label") or NONE
        out[label] = {**row, "ordered": 0}
    found = dict(CustomerMetrics.objects.filter(contact_id__in=buyers)
                 .values_list("contact_id", field))
    for contact in buyers:
        label = found.get(contact) or NONE
        out.setdefault(label, {"sent": 0, "opened": 0, "clicked": 0, "ordered": 0})
        out[label]["ordered"] += 1
    return out


def _count_in(contacts: set[int], members: QuerySet) -> int:
    if not contacts:
        return 0
    return Contact.objects.filter(pk__in=contacts).filter(pk__in=members).count()


def report_csv(report: dict[str, Any]) -> str:
    """One row per number: metric, key (currency, bounce kind, reason, URL, hour), value;
    a link's row also has its unique clickers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "key", "value", "unique"])
    for name, value in report.items():
        if isinstance(value, int):
            writer.writerow([name, "", value, ""])
        elif name == "links":
            for link in value:
                writer.writerow(["link", link["url"], link["clicks"], link["unique"]])
        elif name == "hours":
            for kind, counts in value.items():
                for hour, n in enumerate(counts):
                    writer.writerow([f"{kind}s_by_local_hour", hour, n, ""])
        else:
            for key, n in value.items():
                writer.writerow([name, key, n, ""])
    return out.getvalue()
