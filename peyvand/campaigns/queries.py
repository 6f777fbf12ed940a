"""Reads for the campaign pages, API and CLI: lists, the pre-send check (audience count, what
the gate would refuse and why, when it would be done, what an SMS would cost), the report
(tracking's numbers for the campaign's own outbox sources), the calendar and the fatigue."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.campaigns.groups import sources_of
from peyvand.campaigns.models import Campaign, ShopDate, Variant
from peyvand.campaigns.words import words_digest
from peyvand.messaging.audience import audience_members, refusal_preview
from peyvand.messaging.channels.sms import segments as sms_parts
from peyvand.messaging.models import (
    Channel,
    OutboxMessage,
    SendingSettings,
    StrategyRule,
    broadcast_source,
)
from peyvand.messaging.outbox import WAITING_STATES

# Messages a second when no rate is set: the sender's measured pace into a local SMTP sink
# is far above this (docs/benchmarks.md), so this stays a cautious estimate.
ASSUMED_RATE = 50


def campaigns(actor: Actor) -> QuerySet[Campaign]:
    require(actor, "campaigns.view")
    return Campaign.objects.prefetch_related("variants__template")


def campaign_of(actor: Actor, pk: int) -> Campaign:
    require(actor, "campaigns.view")
    return get_object_or_404(Campaign.objects.prefetch_related("variants__template"), pk=pk)


def shop_dates(actor: Actor) -> QuerySet[ShopDate]:
    require(actor, "campaigns.view")
    return ShopDate.objects.all()


def check_before_send(actor: Actor, campaign: Campaign) -> dict[str, Any]:
    """The audience now, how many the gate would refuse and why, when the last message would
    leave, and for SMS the parts and cost: what the page shows before anything is approved."""
    require(actor, "campaigns.view")
    spec = campaign.audience or campaign.audience_spec
    if not spec:
        return {"count": 0, "reachable": 0, "refused": 0, "will_send": 0, "reasons": [],
                "estimate": False}
    template = next(iter(v.template for v in campaign.variants.all()), None)
    found = refusal_preview(audience_members(spec), campaign.channel,
                            template.topic if template else None)
    found["seconds"] = send_seconds(found.get("reachable", 0))
    if campaign.channel == Channel.SMS and template is not None:
        found["sms"] = sms_cost(template.text, found.get("reachable", 0))
    return found


# The rates assumed before a shop has sent campaigns of its own: typical of retail e-mail.
DEFAULT_RATES = {"open_rate": 0.20, "click_rate": 0.03}
DETECTABLE_LIFT = 0.2  # the smallest relative improvement the test should find


def ab_plan(campaign: Campaign, will_send: int) -> dict[str, Any] | None:
    """Before an A/B test goes: each test group's size against the sample size it needs to
    find a 20% relative lift of the chosen rate (alpha 0.05, power 0.8), the baseline taken
    from the shop's last campaigns when it has some."""
    from peyvand.campaigns.charts import overview_rows
    from peyvand.campaigns.stats import sample_size_per_variant

    variants = len(campaign.variants.all())
    if variants < 2:
        return None
    per_group = int(will_send * campaign.test_percent / 100 / variants)
    plan: dict[str, Any] = {"variants": variants, "per_group": per_group,
                            "lift": DETECTABLE_LIFT, "metric": campaign.get_ab_metric_display()}
    if campaign.ab_metric not in DEFAULT_RATES:
        return {**plan, "needed": None}  # revenue: the spread decides, unknown before
    past = [r[campaign.ab_metric] for r in overview_rows() if r["delivered"]]
    baseline = sum(past) / len(past) if past and sum(past) else \
        DEFAULT_RATES[campaign.ab_metric]
    needed = sample_size_per_variant(baseline, DETECTABLE_LIFT, variants=variants)
    return {**plan, "baseline": baseline, "from_history": bool(past and sum(past)),
            "needed": needed, "enough": per_group >= needed}


def send_seconds(messages: int) -> int:
    """How long the sender takes for `messages` at the configured rate."""
    row = SendingSettings.objects.order_by("id").first()
    rate = (row.rate_per_second if row and row.rate_per_second else 0) or ASSUMED_RATE
    return math.ceil(messages / rate) if messages else 0


def sms_cost(text: str, reachable: int) -> dict[str, Any]:
    """Parts per message (GSM-7 or UCS-2, with the «لغو ۱۱» footer) × people × the price per
    part (PEYVAND_SMS_PART_PRICE, rial; 0: not set)."""
    from peyvand.tracking.sms_links import text_as_sent

    # As sent: links shortened (tracking), then the stop footer.
    encoding, parts, chars = sms_parts.count(sms_parts.ensure_stop_footer(text_as_sent(text)))
    price = settings.PEYVAND_SMS_PART_PRICE
    return {"encoding": encoding, "parts": parts, "characters": chars,
            "part_price": price, "currency": "IRR", "messages": reachable,
            "cost": parts * reachable * price if price else None}


def preview_digest(campaign: Campaign) -> str:
    return words_digest(campaign)


def variant_preview(campaign: Campaign, variant: Variant) -> dict[str, str]:
    """The variant rendered with sample data from the words that will be frozen (its own
    subject, UTM on its links), as the sender renders them."""
    from types import SimpleNamespace

    from peyvand.campaigns.words import variant_words
    from peyvand.messaging.content import prepare
    from peyvand.messaging.templates_engine import SAMPLE_CONTEXT

    words = SimpleNamespace(**variant_words(campaign, variant))
    subject, html, text = prepare(words).render(dict(SAMPLE_CONTEXT), for_author=True)
    return {"subject": subject, "html": html, "text": text}


def click_maps(campaign: Campaign, data: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Each e-mail variant's message with its links marked by who clicked them."""
    from peyvand.campaigns.clickmap import click_map

    if campaign.channel != Channel.EMAIL:
        return []
    by_label = {v["label"]: v for v in data.get("variants") or []}
    maps = []
    for variant in campaign.variants.select_related("template"):
        numbers = by_label.get(variant.label) or {}
        rendered = variant_preview(campaign, variant)
        found = click_map(rendered["html"], numbers.get("links") or [], language)
        maps.append({"label": variant.label, **found})
    return maps


def waiting_messages(campaign: Campaign) -> int:
    ids = [b for v in campaign.variants.all() for b in (v.broadcast_id, v.rest_broadcast_id)
           if b]
    if not ids:
        return 0
    return OutboxMessage.objects.filter(broadcast_id__in=ids, state__in=WAITING_STATES).count()


def report(actor: Actor, campaign: Campaign) -> dict[str, Any]:
    """The campaign's numbers, all and per variant, from tracking's counters over the
    campaign's own outbox sources (test sends are not among them)."""
    from peyvand.tracking.report import source_report

    require(actor, "campaigns.view")
    sources = sources_of(campaign)
    whole = source_report(sources)
    whole["variants"] = [
        {"label": v.label, "template": v.template.name, "subject": v.subject,
         **source_report(sources_of(campaign, variant=v))}
        for v in campaign.variants.all()]
    whole["decision"] = campaign.decision
    return whole


def breakdowns(campaign: Campaign) -> list[dict[str, Any]]:
    """Sent, opened, clicked and ordered by value tier, loyalty rung and the audience's own
    segments: who answered, in the shop's words."""
    from peyvand.audiences.models import Segment
    from peyvand.audiences.queries import matching
    from peyvand.insights.models import Stage, Tier
    from peyvand.tracking.report import NONE, breakdown

    sources = sources_of(campaign)
    if not sources:
        return []
    none = _("no orders yet")
    tables = []
    for by, title, labels in (("tier", _("By value tier"), dict(Tier.choices)),
                              ("rung", _("By loyalty rung"), dict(Stage.choices))):
        rows = breakdown(sources, by)
        tables.append({"by": by, "title": title, "rows": [
            {"label": none if key == NONE else str(labels.get(key, key)), **numbers}
            for key, numbers in rows.items()]})
    ids = list(campaign.audience_spec.get("segments", []))
    if ids:
        found = {s.name: matching({"field": "segment", "op": "in", "value": [s.pk]})
                 .values("pk") for s in Segment.objects.filter(pk__in=ids)}
        rows = breakdown(sources, "segment", found)
        tables.append({"by": "segment", "title": _("By segment"), "rows": [
            {"label": key, **numbers} for key, numbers in rows.items()]})
    return tables


def report_csv(data: dict[str, Any]) -> str:
    """The report as CSV: tracking's rows for the whole campaign, then each variant's, its
    metric prefixed with the variant ("A:opened")."""
    from peyvand.tracking.report import report_csv as rows_of

    def numbers(part: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in part.items()
                if k not in ("variants", "decision", "label", "template", "subject")}

    text = rows_of(numbers(data))
    for variant in data.get("variants") or []:
        body = rows_of(numbers(variant)).split("\r\n", 1)[1]  # without its header
        text += "".join(f"{variant['label']}:{line}\r\n" for line in body.split("\r\n")
                        if line)
    return text


def variant_results(campaign: Campaign, variants: list[Variant]) -> list[Any]:
    """Each test group's numbers for the A/B decision (the rest is not yet sent)."""
    from peyvand.campaigns.ab import VariantResult
    from peyvand.tracking.report import source_report

    results = []
    for variant in variants:
        source = [broadcast_source(variant.broadcast_id)] if variant.broadcast_id else []
        numbers = source_report(source) if source else {}
        delivered = numbers.get("delivered", 0)
        moments = revenue_moments(source) if source else (0, 0)
        results.append(VariantResult(
            n=delivered,
            successes={"open_rate": numbers.get("opened", 0),
                       "click_rate": numbers.get("clicked", 0)}.get(campaign.ab_metric, 0),
            revenue=moments[0], revenue_sq=moments[1]))
    return results


def revenue_moments(sources: list[str]) -> tuple[int, int]:
    """(Σ revenue, Σ revenue²) over the recipients with an attributed order, in the currency
    most of that revenue is in (an A/B test compares like with like; other currencies are
    left out). Recipients without an order add 0 to both."""
    from peyvand.tracking.attribution import attributed_rows

    per_contact: dict[str, Counter[int]] = {}
    for _source, contact_id, currency, _n, revenue in attributed_rows(sources):
        per_contact.setdefault(currency, Counter())[contact_id] += revenue
    if not per_contact:
        return 0, 0
    main = max(per_contact, key=lambda c: len(per_contact[c]))
    values = per_contact[main].values()
    return sum(values), sum(v * v for v in values)


def fatigue(campaign: Campaign, *, sample: int = 20000) -> dict[str, Any]:
    """How many campaigns each of this one's contacts would receive in the week it goes
    (this one included), against the contact strategy's caps: counts of contacts by number
    of campaigns, over the first `sample` members."""
    from peyvand.campaigns.sending import send_day

    day = send_day(campaign)
    start, end = day - dt.timedelta(days=3), day + dt.timedelta(days=3)
    others = [c for c in Campaign.objects.exclude(pk=campaign.pk).filter(
        status__in=(Campaign.Status.SCHEDULED, Campaign.Status.AWAITING,
                    Campaign.Status.SENDING, Campaign.Status.TESTING, Campaign.Status.SENT),
        channel=campaign.channel) if start <= send_day(c) <= end]
    spec = campaign.audience or campaign.audience_spec
    members = list(audience_members(spec).order_by("pk").values_list("pk", flat=True)[:sample]) \
        if spec else []
    count: Counter[int] = Counter({pk: 1 for pk in members})
    for other in others:
        other_spec = other.audience or other.audience_spec
        if other_spec:
            for pk in audience_members(other_spec).filter(pk__in=members).values_list(
                    "pk", flat=True):
                count[pk] += 1
    rules = list(StrategyRule.objects.filter(
        Q(channel="") | Q(channel=campaign.channel), kind=StrategyRule.Kind.CAP, active=True))
    caps = [{"max": r.max_count, "hours": r.period_hours, "channel": r.channel or "*"}
            for r in rules]
    # "N per H hours" allows N × (168 / H) a week (N when H is a week or more).
    weekly_cap = min((r.max_count * max(1, 168 // r.period_hours) for r in rules
                      if r.max_count and r.period_hours), default=None)
    histogram = Counter(count.values())
    return {"week": (start, end), "others": others, "members": len(members),
            "histogram": sorted(histogram.items()), "caps": caps, "weekly_cap": weekly_cap,
            "over_cap": sum(n for k, n in histogram.items() if weekly_cap and k > weekly_cap)}
