"""Campaign actions: plan (draft), submit, approve the words shown, schedule, reject, cancel;
the shop's own dates. Checks are in checks.py, the words in words.py, test sends and what
the periodic task does (start, split, decide) in sending.py.

The rules this module holds:
- A campaign is always marketing: its messages pass consent and the OutboundGate one by one,
  carry the unsubscribe links, and leave only after a holder of `campaigns.approve` approved
  the words they were shown (the digest of every variant's frozen content).
- Approval freezes the words (one snapshot per variant) and the audience spec; members are
  resolved when it starts, by one query, and recorded in the outbox (or in `Recipient` for an
  A/B split). Whoever joins a segment afterwards is not sent it.
- A quiet date (a day of mourning, or one the shop marked) blocks approval and start unless
  the owner overrides it for this campaign.
- Test sends go to the sender's own contact record or chosen seed contacts, through the gate
  like any message, marked in the subject, and are never counted in a report.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.normalise import normalise_text
from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.roles import can, require
from peyvand.campaigns.checks import LABELS, check_campaign, check_schedule
from peyvand.campaigns.models import Campaign, ShopDate, Variant
from peyvand.campaigns.sending import quiet_reason, start_due
from peyvand.campaigns.words import variant_words, words_digest
from peyvand.messaging.audience import describe_audience
from peyvand.messaging.broadcast import cancel_broadcast
from peyvand.messaging.content import freeze

S = Campaign.Status
# Editable until approved; an edit of a campaign awaiting approval sends it back to draft.
EDITABLE = (S.DRAFT, S.AWAITING, S.REJECTED)
NOT_STARTED = (S.DRAFT, S.AWAITING, S.SCHEDULED, S.REJECTED)


def _save_variants(campaign: Campaign, variants: list[dict[str, Any]]) -> None:
    campaign.variants.all().delete()
    Variant.objects.bulk_create([
        Variant(campaign=campaign, label=LABELS[i], template=v["template"],
                subject=v["subject"], from_name=v.get("from_name", ""),
                send_hour=v.get("send_hour"))
        for i, v in enumerate(variants)])


@transaction.atomic
def do_save_campaign(actor: Actor, raw: dict[str, Any],
                     campaign: Campaign | None = None) -> Campaign:
    """Create a draft, or change one not yet approved (back to draft: what a reviewer saw
    is no longer what it is)."""
    require(actor, "campaigns.edit")
    if campaign is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _not_adopted(campaign)
        if campaign.status not in EDITABLE:
            raise Invalid({"status": _("An approved campaign is not changed: cancel it and "
                                       "make a new one.")})
    clean = check_campaign(raw, campaign)
    variants = clean.pop("variants")
    created = campaign is None
    campaign = campaign or Campaign(created_by=actor.label)
    for key, value in clean.items():
        setattr(campaign, key, value)
    campaign.status = S.DRAFT
    campaign.save()
    _save_variants(campaign, variants)
    record_audit(actor, "campaigns.created" if created else "campaigns.changed",
                 target_type="campaign", target_id=campaign.pk, summary=campaign.name[:300])
    return campaign


def _check_quiet(actor: Actor, campaign: Campaign, override: bool) -> None:
    reason = quiet_reason(campaign)
    if not reason:
        return
    if override and can(actor, "campaigns.override_quiet"):
        campaign.quiet_override = True
        return
    if not campaign.quiet_override:
        raise Invalid({"schedule": reason + " " + _(
            "Choose another day, or the owner may send it anyway.")})


@transaction.atomic
def do_submit(actor: Actor, campaign: Campaign) -> Campaign:
    """Ask for approval (a draft or a rejected one)."""
    require(actor, "campaigns.edit")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _not_adopted(campaign)
    if campaign.status not in (S.DRAFT, S.REJECTED):
        raise Invalid({"status": _("Only a draft is sent for approval.")})
    check_campaign({}, campaign)  # what was fine then may have gone since (a segment)
    campaign.status = S.AWAITING
    campaign.save(update_fields=["status", "updated_at"])
    record_audit(actor, "campaigns.submitted", target_type="campaign", target_id=campaign.pk,
                 summary=words_digest(campaign))
    return campaign


@transaction.atomic
def do_schedule(actor: Actor, campaign: Campaign, raw: dict[str, Any]) -> Campaign:
    """Set when it goes. Before approval this also asks for approval; after, it only moves
    the time (an approval approves words and audience, not the hour)."""
    require(actor, "campaigns.edit")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _not_adopted(campaign)
    if campaign.status not in NOT_STARTED:
        raise Invalid({"status": _("It has started: its time cannot change.")})
    errors: dict[str, str] = {}
    clean = check_schedule(raw, errors)
    if errors:
        raise Invalid(errors)
    for key, value in clean.items():
        setattr(campaign, key, value)
    campaign.save()
    record_audit(actor, "campaigns.scheduled", target_type="campaign", target_id=campaign.pk,
                 summary=f"{campaign.schedule} {campaign.send_at or ''}"
                         f"{campaign.local_date or ''} {campaign.local_hour or ''}".strip())
    if campaign.status in (S.DRAFT, S.REJECTED):
        return do_submit(actor, campaign)
    if campaign.status == S.SCHEDULED:
        _check_quiet(actor, campaign, override=bool(raw.get("quiet_override")))
        campaign.save(update_fields=["quiet_override"])
        start_due(now=timezone.now(), only=campaign.pk)
    return campaign


@transaction.atomic
def do_approve(actor: Actor, campaign: Campaign, digest: str | None, *,
               quiet_override: bool = False) -> Campaign:
    """Approve the words the reviewer was shown (`digest`, from the preview): frozen now, per
    variant. It goes when its schedule says (now: at once)."""
    require(actor, "campaigns.approve")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != S.AWAITING:
        raise Invalid({"status": _("This campaign is not awaiting approval.")})
    _not_adopted(campaign)
    if not digest:
        raise Invalid({"digest": _("Look at the messages before approving them: an approval "
                                   "names the words it approves (the digest of the "
                                   "preview).")})
    if digest != words_digest(campaign):
        raise Invalid({"digest": _("The campaign's words changed after this preview: look "
                                   "at them again before approving.")})
    check_campaign({}, campaign)
    _check_quiet(actor, campaign, quiet_override)
    for variant in campaign.variants.select_related("template"):
        variant.snapshot = freeze(variant.template, **variant_words(campaign, variant))
        variant.save(update_fields=["snapshot"])
    campaign.audience = {**campaign.audience_spec,
                         "names": describe_audience(campaign.audience_spec)}
    campaign.status = S.SCHEDULED
    campaign.approved_digest = digest
    campaign.approved_by, campaign.approved_at = actor.label, timezone.now()
    campaign.save()
    record_audit(actor, "campaigns.approved", target_type="campaign", target_id=campaign.pk,
                 summary=digest)
    start_due(now=timezone.now(), only=campaign.pk)
    campaign.refresh_from_db()
    return campaign


@transaction.atomic
def do_reject(actor: Actor, campaign: Campaign, reason: str = "") -> Campaign:
    require(actor, "campaigns.approve")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != S.AWAITING:
        raise Invalid({"status": _("This campaign is not awaiting approval.")})
    _not_adopted(campaign)
    campaign.status = S.REJECTED
    campaign.decision = {**campaign.decision, "rejected": normalise_text(reason)[:500]}
    campaign.save(update_fields=["status", "decision", "updated_at"])
    record_audit(actor, "campaigns.rejected", target_type="campaign", target_id=campaign.pk,
                 summary=reason[:300])
    return campaign


@transaction.atomic
def do_cancel(actor: Actor, campaign: Campaign) -> int:
    """Stop it: before it starts nothing goes; while it goes, what has not left is cancelled
    (messages already sent stay sent). Returns how many messages were stopped."""
    require(actor, "campaigns.edit")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (S.SENT, S.CANCELLED):
        raise Invalid({"status": _("It is over already.")})
    stopped = 0
    for variant in campaign.variants.select_related("broadcast", "rest_broadcast"):
        for broadcast in (variant.broadcast, variant.rest_broadcast):
            if broadcast is not None:
                stopped += cancel_broadcast(broadcast)
    campaign.status = S.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    record_audit(actor, "campaigns.cancelled", target_type="campaign", target_id=campaign.pk,
                 summary=_("%(n)s messages stopped") % {"n": stopped})
    return stopped


def _not_adopted(campaign: Campaign) -> None:
    """A broadcast made the older way is approved (or rejected) on its own page."""
    if "adopted_from" in campaign.decision or "migrated_from" in campaign.decision:
        raise Invalid({"status": _("This campaign is a broadcast: approve or reject it on "
                                   "its broadcast page.")})


# --- the shop's own dates ------------------------------------------------------------------

@transaction.atomic
def do_save_shop_date(actor: Actor, raw: dict[str, Any], row: ShopDate | None = None) -> \
        ShopDate:
    require(actor, "campaigns.edit")
    errors: dict[str, str] = {}
    name = normalise_text(str(raw.get("name") or ""))[:100]
    if not name:
        errors["name"] = _("Give the date a name.")
    day = None
    try:
        day = parse_date(raw.get("date"), "date")
    except InvalidValue as exc:
        errors["date"] = str(exc.reason)
    if day is None and "date" not in errors:
        errors["date"] = _("Give the day.")
    calendar = str(raw.get("calendar") or ShopDate.Calendar.JALALI)
    if calendar not in ShopDate.Calendar.values:
        errors["calendar"] = _("Choose the calendar it repeats on.")
    if errors or day is None:
        raise Invalid(errors)
    row = row or ShopDate()
    row.name, row.date, row.calendar = name, day, calendar
    row.quiet = str(raw.get("quiet") or "").lower() in ("1", "true", "on", "yes")
    row.yearly = str(raw.get("yearly") or "").lower() in ("1", "true", "on", "yes")
    row.save()
    record_audit(actor, "campaigns.date_saved", target_type="shop_date", target_id=row.pk,
                 summary=f"{name} {day}")
    return row


@transaction.atomic
def do_delete_shop_date(actor: Actor, row: ShopDate) -> None:
    require(actor, "campaigns.edit")
    record_audit(actor, "campaigns.date_deleted", target_type="shop_date", target_id=row.pk,
                 summary=row.name)
    row.delete()
