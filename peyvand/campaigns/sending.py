"""A campaign going out: test sends, and (the periodic task) starting the approved ones whose
time has come, the A/B split, deciding the tests that are due, marking the finished sent.

Quiet days are asked here too: a day of mourning, or one the shop marked, holds a campaign
unless the owner overrode it for this campaign.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.roles import require
from peyvand.campaigns.models import Campaign, Recipient, ShopDate, TestSend, Variant
from peyvand.campaigns.words import variant_words
from peyvand.contacts.models import Identity
from peyvand.messaging.audience import audience_members
from peyvand.messaging.broadcast import start_broadcast
from peyvand.messaging.content import freeze
from peyvand.messaging.models import Channel

S = Campaign.Status
# A local-hour campaign starts this long before its hour comes anywhere (UTC+14 is the
# earliest zone), so every contact's message is queued before their hour.
LOCAL_LEAD = dt.timedelta(hours=15)


def send_day(campaign: Campaign, now: dt.datetime | None = None) -> dt.date:
    """The day it goes, on the shop's calendar."""
    zone = ZoneInfo(settings.TIME_ZONE)
    if campaign.started_at is not None:
        return campaign.started_at.astimezone(zone).date()
    if campaign.schedule == Campaign.Schedule.LOCAL_HOUR and campaign.local_date:
        return campaign.local_date
    at = campaign.send_at if campaign.schedule == Campaign.Schedule.AT and campaign.send_at \
        else (now or timezone.now())
    return at.astimezone(zone).date()


def quiet_reason(campaign: Campaign, now: dt.datetime | None = None) -> str:
    """Why its day is quiet (a day of mourning, or one the shop marked), or ""."""
    from peyvand.campaigns.occasions import is_quiet

    day = send_day(campaign, now)
    found = is_quiet(day, ShopDate.objects.all(), lunar_shift=settings.PEYVAND_LUNAR_SHIFT)
    if found is None:
        return ""
    return _("%(day)s is a quiet day (%(name)s): marketing pauses.") % {
        "day": day.isoformat(), "name": found.name}


# --- test sends ----------------------------------------------------------------------------

TEST_MARK = {"fa": "[آزمایشی] ", "en": "[Test] "}
MAX_TEST_RECIPIENTS = 20


@transaction.atomic
def do_test_send(actor: Actor, campaign: Campaign, contact_ids: list[Any] | None = None) -> \
        TestSend:
    """Each variant to the sender's own contact record (their e-mail or mobile) or to up to
    20 chosen seed contacts, now, marked in the subject; through the gate like any message
    (a seed contact who has not consented is refused, and the page says so)."""
    require(actor, "campaigns.edit")
    ids = _test_recipients(actor, campaign, contact_ids or [])
    row = TestSend.objects.create(campaign=campaign, sent_by=actor.label, recipients=len(ids))
    first = None
    for variant in campaign.variants.select_related("template"):
        words = variant_words(campaign, variant)
        if campaign.channel == Channel.EMAIL:
            words["subject"] = TEST_MARK.get(words["language"], TEST_MARK["en"]) + \
                words["subject"]
        snapshot = freeze(variant.template, **words)
        broadcast = start_broadcast(
            snapshot=snapshot, audience={"contacts": ids}, created_by=actor.label,
            approved_by=actor.label, is_test=True)
        first = first or broadcast
    row.broadcast = first
    row.save(update_fields=["broadcast"])
    record_audit(actor, "campaigns.test_sent", target_type="campaign", target_id=campaign.pk,
                 summary=_("to %(n)s") % {"n": len(ids)})
    return row


def _test_recipients(actor: Actor, campaign: Campaign, given: list[Any]) -> list[int]:
    if given:
        ids = sorted({int(x) for x in given if str(x).isdigit()})
        if not ids or len(ids) > MAX_TEST_RECIPIENTS:
            raise Invalid({"contacts": _("Choose 1 to %(n)s seed contacts.") % {
                "n": MAX_TEST_RECIPIENTS}})
        return ids
    user = getattr(actor, "user", None)
    email = (getattr(user, "email", "") or "").strip().lower()
    kind = Identity.Kind.EMAIL if campaign.channel == Channel.EMAIL else Identity.Kind.PHONE
    found = list(Identity.objects.filter(kind=Identity.Kind.EMAIL, value__iexact=email)
                 .values_list("contact_id", flat=True)[:1]) if email and \
        kind == Identity.Kind.EMAIL else []
    if not found:
        raise Invalid({"contacts": _(
            "A test goes to contacts: add yourself as a contact with your e-mail "
            "(the one on your account), or choose seed contacts.")})
    return found


# --- starting and deciding (the periodic task) ---------------------------------------------

def start_due(*, now: dt.datetime | None = None, only: int | None = None) -> int:
    """Start every approved campaign whose time has come; returns how many started."""
    now = now or timezone.now()
    started = 0
    due = Campaign.objects.filter(status=S.SCHEDULED)
    if only is not None:
        due = due.filter(pk=only)
    for campaign in due:
        if _starts_by(campaign) <= now:
            with transaction.atomic():
                locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
                if locked.status == S.SCHEDULED:
                    started += _start(locked, now)
    return started


def _starts_by(campaign: Campaign) -> dt.datetime:
    if campaign.schedule == Campaign.Schedule.AT and campaign.send_at:
        return campaign.send_at
    if campaign.schedule == Campaign.Schedule.LOCAL_HOUR and campaign.local_date is not None:
        hour = dt.time(campaign.local_hour or 0)
        return dt.datetime.combine(campaign.local_date, hour, tzinfo=dt.UTC) - LOCAL_LEAD
    return campaign.approved_at or timezone.now()


def _start(campaign: Campaign, now: dt.datetime) -> int:
    reason = "" if campaign.quiet_override else quiet_reason(campaign, now)
    if reason:  # became quiet since it was approved (a date the shop added): held, said why
        campaign.status = S.AWAITING
        campaign.decision = {**campaign.decision, "held": reason}
        campaign.save(update_fields=["status", "decision", "updated_at"])
        return 0
    variants = list(campaign.variants.select_related("snapshot"))
    if any(v.broadcast_id for v in variants):  # started already: never a second time
        Campaign.objects.filter(pk=campaign.pk).update(status=S.SENDING)
        return 0
    at = campaign.send_at if campaign.schedule == Campaign.Schedule.AT else None
    timing: dict[str, Any] = {"send_after": at}
    if campaign.schedule == Campaign.Schedule.LOCAL_HOUR:
        timing.update(local_date=campaign.local_date, local_hour=campaign.local_hour)
    members = audience_members(campaign.audience or campaign.audience_spec)
    campaign.audience = {**campaign.audience, "count": members.count()}
    by = f"campaign:{campaign.pk}"
    if campaign.test_percent and len(variants) > 1:
        _split(campaign, variants, members)
        for variant in variants:
            hour: dict[str, Any] = {"local_date": (campaign.local_date
                                                   or timezone.localdate(now)),
                    "local_hour": variant.send_hour} if variant.send_hour is not None else {}
            variant.broadcast = start_broadcast(
                snapshot=_frozen(variant), audience={"campaign_groups": [variant.pk]},
                created_by=by, approved_by=campaign.approved_by, **{**timing, **hour})
            variant.save(update_fields=["broadcast"])
        campaign.status = S.TESTING
        campaign.decide_at = now + dt.timedelta(hours=campaign.test_hours)
    else:
        variant = variants[0]
        variant.broadcast = start_broadcast(
            snapshot=_frozen(variant), audience=campaign.audience_spec, created_by=by,
            approved_by=campaign.approved_by, **timing)
        variant.save(update_fields=["broadcast"])
        campaign.status = S.SENDING
    campaign.started_at = now
    campaign.save()
    return 1


def _frozen(variant: Variant) -> Any:
    """The words approved for the variant (frozen by do_approve, before any start)."""
    if variant.snapshot is None:
        raise Invalid({"status": _("This campaign's words were never approved.")})
    return variant.snapshot


def _split(campaign: Campaign, variants: list[Variant], members) -> None:
    """Draw the test groups at random (seeded by the campaign, so the same every time) and
    record each contact's group: a variant, or the rest."""
    from peyvand.campaigns.ab import group_of

    share = campaign.test_percent / 100
    seed = f"campaign:{campaign.pk}"
    rows, batch = 0, []
    for contact_id in members.order_by("pk").values_list("pk", flat=True).iterator(
            chunk_size=5000):
        group = group_of(seed, contact_id, share, len(variants))
        batch.append(Recipient(campaign=campaign, contact_id=contact_id,
                               variant=variants[group] if group is not None else None))
        if len(batch) >= 5000:
            Recipient.objects.bulk_create(batch, ignore_conflicts=True)
            rows, batch = rows + len(batch), []
    if batch:
        Recipient.objects.bulk_create(batch, ignore_conflicts=True)


def decide_due(*, now: dt.datetime | None = None) -> int:
    """Decide every A/B test whose time has come, and send the rest the winner (or the
    control when no variant is significantly better)."""
    now = now or timezone.now()
    decided = 0
    for campaign in Campaign.objects.filter(status=S.TESTING, decide_at__lte=now):
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if locked.status == S.TESTING:
                _decide(locked, now)
                decided += 1
    return decided


def _decide(campaign: Campaign, now: dt.datetime) -> None:
    from peyvand.campaigns.ab import decide
    from peyvand.campaigns.queries import variant_results

    variants = list(campaign.variants.select_related("snapshot"))
    result = decide(campaign.ab_metric, variant_results(campaign, variants))
    winner = variants[result.winner if result.winner is not None else 0]
    winner.rest_broadcast = start_broadcast(
        snapshot=_frozen(winner), audience={"campaign_rests": [campaign.pk]},
        created_by=f"campaign:{campaign.pk}", approved_by=campaign.approved_by)
    winner.save(update_fields=["rest_broadcast"])
    campaign.decision = {
        **campaign.decision, "metric": result.metric, "significant": result.significant,
        "reason": result.reason, "alpha": result.alpha, "values": result.values,
        "p_values": result.p_values, "overall_p": result.overall_p,
        "p_b_beats_a": result.p_b_beats_a, "winner": winner.label,
        "decided_at": now.isoformat()}
    campaign.status = S.SENDING
    campaign.save(update_fields=["decision", "status", "updated_at"])


def finish_sent() -> int:
    """Campaigns whose every message has left (or ended) become sent."""
    from peyvand.campaigns.queries import waiting_messages

    done = 0
    for campaign in Campaign.objects.filter(status=S.SENDING):
        if not waiting_messages(campaign):
            Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).update(status=S.SENT)
            done += 1
    return done
