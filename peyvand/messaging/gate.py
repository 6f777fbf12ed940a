"""The OutboundGate: the one check every message on every channel passes before it leaves.

Order: consent (consent floor: opt-in, confirmation, suppression, pause, topic, format), then
for everything but transactional messages and confirmations the contact strategy: caps per
period per channel and overall (F1), spacing across channels (F2), caps per content type (F3),
quiet hours in the contact's time zone (F6). A refusal by consent is final (deny); a strategy
limit only moves the message later (defer, with `until`), it never drops it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from peyvand.base.dates import zone_of
from peyvand.messaging import consent_port
from peyvand.messaging.models import OutboxMessage, StrategyRule

ALLOW, DEFER, DENY = "allow", "defer", "deny"
# Classes the contact strategy does not hold back (consent still decides): a receipt, or the
# confirmation a person just asked for.
EXEMPT_CLASSES = ("transactional", "confirmation")

REASON_TEXT = {
    "ok": _("Allowed: consent given and within the contact strategy."),
    "transactional": _("Allowed: a transactional message (caps and quiet hours do not apply)."),
    "confirmation": _("Allowed: the confirmation of a subscription that waits for it."),
    "cap": _("Deferred: the contact reached the most messages allowed in this period."),
    "content_cap": _("Deferred: the most messages of this content type in this period."),
    "spacing": _("Deferred: too soon after the previous message to this contact."),
    "quiet_hours": _("Deferred: quiet hours in the contact's time zone."),
    "in_flight": _("Deferred: another message to this contact is being sent."),
    "no_address": _("Not sent: the contact has no address on this channel."),
    # consent's reason codes
    "unknown_contact": _("Denied: the contact does not exist."),
    "erased": _("Denied: the contact was erased."),
    "unknown_channel": _("Denied: unknown channel."),
    "unknown_topic": _("Denied: unknown topic."),
    "topic_retired": _("Denied: the topic is retired."),
    "no_consent": _("Denied: no consent on this channel."),
    "unconfirmed": _("Denied: the subscription is not confirmed yet."),
    "opted_out": _("Denied: the contact unsubscribed."),
    "hard_bounce": _("Denied: the address bounced (suppressed)."),
    "complaint": _("Denied: the contact complained (suppressed)."),
    "paused": _("Denied: the contact paused messages."),
    "topic_not_chosen": _("Denied: the contact did not choose this topic."),
    "alerts_only": _("Denied: the contact wants alerts only."),
    "format": _("Denied: the contact prefers the other format."),
    "nothing_to_confirm": _("Denied: there is no subscription to confirm."),
}


@dataclass(frozen=True)
class GateDecision:
    verdict: str  # allow / defer / deny
    reason: str  # stable code
    until: dt.datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOW

    @property
    def text(self) -> str:
        return str(REASON_TEXT.get(self.reason, self.reason))



def quiet_until(rule: StrategyRule, at: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """When the quiet window holding `at` ends (aware), or None when `at` is not in it."""
    start, end = rule.quiet_start, rule.quiet_end
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date()
    if now >= end:  # window crosses midnight and we are before it: it ends tomorrow
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone)


def sent_histories(contact_ids: list[int], rules: list[StrategyRule], at: dt.datetime) \
        -> dict[int, list]:
    """Per contact, (sent_at, channel, content_type) of messages actually sent within the
    longest window the rules look at; one query for a whole batch."""
    hours = [r.period_hours or 0 for r in rules if r.kind in ("cap", "content_cap")]
    minutes = [r.spacing_minutes or 0 for r in rules if r.kind == "spacing"]
    span = max([dt.timedelta(hours=h) for h in hours] + [dt.timedelta(minutes=m) for m in minutes],
               default=None)
    out: dict[int, list] = {c: [] for c in contact_ids}
    if not span:
        return out
    for contact_id, *sent in (OutboxMessage.objects.filter(
            contact_id__in=contact_ids, sent_at__isnull=False, sent_at__gt=at - span)
            .values_list("contact_id", "sent_at", "channel", "content_type")
            .order_by("sent_at")):
        out[contact_id].append(tuple(sent))
    return out


def contacts_in_flight(rows) -> set[int]:
    """Contacts of `rows` (claimed outbox rows) with ANOTHER message claimed and not yet
    recorded: a sender holds it, or has sent it and records results in groups. Caps and
    spacing count recorded sends only, so such a contact's next message waits instead of
    slipping past them."""
    mine = {r.pk for r in rows}
    return {contact_id for pk, contact_id in OutboxMessage.objects.filter(
        state=OutboxMessage.State.SENDING, contact_id__in={r.contact_id for r in rows})
        .values_list("pk", "contact_id") if pk not in mine}


def consent_topic(topic: str | None, message_class: str) -> str | None:
    """The topic consent is asked about: none for transactional messages and confirmations,
    which ask about their own purpose only."""
    if message_class in EXEMPT_CLASSES or topic in (None, "", "transactional"):
        return None
    return topic


def _deferral(rules: list[StrategyRule], history, channel: str, content_type: str,
              at: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, str] | None:
    """The latest time any rule pushes a message at `at` to, with that rule's reason."""
    found: list[tuple[dt.datetime, str]] = []
    for rule in rules:
        if rule.channel and rule.channel != channel:
            continue
        if rule.kind in ("cap", "content_cap") and rule.max_count and rule.period_hours:
            if rule.kind == "content_cap" and rule.content_type != content_type:
                continue
            period = dt.timedelta(hours=rule.period_hours)
            times = [s for s, ch, ct in history if at - period < s <= at
                     and (not rule.channel or ch == rule.channel)
                     and (rule.kind == "cap" or ct == rule.content_type)]
            if len(times) >= rule.max_count:
                found.append((times[len(times) - rule.max_count] + period, rule.kind))
        elif rule.kind == "spacing" and rule.spacing_minutes:
            times = [s for s, ch, _ct in history if s <= at
                     and (not rule.channel or ch == rule.channel)]
            gap = dt.timedelta(minutes=rule.spacing_minutes)
            if times and at - times[-1] < gap:
                found.append((times[-1] + gap, "spacing"))
        elif rule.kind == "quiet":
            end = quiet_until(rule, at, zone)
            if end is not None:
                found.append((end, "quiet_hours"))
    return max(found) if found else None


def consent_for_rows(rows: list[OutboxMessage]) -> dict[int, Any]:
    """Consent's answer for each outbox row (by row id): one batch question per distinct
    (channel, topic asked, class), a fixed number of queries whatever the batch's size."""
    asked: dict[tuple[str, str | None, str], list[OutboxMessage]] = {}
    for row in rows:
        key = (row.channel, consent_topic(row.topic, row.message_class), row.message_class)
        asked.setdefault(key, []).append(row)
    out: dict[int, Any] = {}
    for (channel, topic, message_class), group in asked.items():
        answers = consent_port.consent_decisions([r.contact_id for r in group], channel,
                                                 topic, message_class=message_class)
        out.update((r.pk, answers[r.contact_id]) for r in group)
    return out


def check_outbound(contact_id: int, channel: str, *, topic: str | None, message_class: str,
                   content_type: str | None = None, at: dt.datetime | None = None,
                   rules: list[StrategyRule] | None = None, zone_name: str | None = None,
                   consent=None, history: list | None = None) -> GateDecision:
    """May this message go now? allow / defer (until) / deny, with a reason code.

    A sender that checks a whole batch passes what it loaded for all of it at once: `rules`,
    `zone_name`, `consent` (consent_for_rows) and
    `history` (sent_histories)."""
    at = at or timezone.now()
    if consent is None:
        consent = consent_port.consent_decision(
            contact_id, channel, consent_topic(topic, message_class),
            message_class=message_class)
    if not consent.allowed:
        return GateDecision(DENY, consent.reason)
    if message_class in EXEMPT_CLASSES:
        return GateDecision(ALLOW, consent.reason)  # "transactional" / "confirmation"
    if rules is None:
        from peyvand.messaging.strategy import active_rules

        rules = active_rules()
    if not rules:
        return GateDecision(ALLOW, "ok")
    if zone_name is None and any(r.kind == "quiet" for r in rules):
        from peyvand.contacts.models import Contact

        zone_name = Contact.objects.filter(pk=contact_id).values_list(
            "timezone", flat=True).first() or ""
    zone = zone_of(zone_name)
    if history is None:
        history = sent_histories([contact_id], rules, at)[contact_id]
    when, first_reason = at, ""
    for _step in range(8):  # a cap may end inside quiet hours, and so on: settle on one time
        step = _deferral(rules, history, channel, content_type or "", when, zone)
        if step is None or step[0] <= when:
            break
        when = step[0]
        first_reason = first_reason or step[1]
    if when > at:
        return GateDecision(DEFER, first_reason, until=when)
    return GateDecision(ALLOW, "ok")
