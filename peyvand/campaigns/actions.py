"""Campaign actions: plan (draft), submit, approve the words shown, schedule, test-send, start,
decide an A/B test, cancel.

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

import datetime as dt
import hashlib
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.normalise import ascii_digits, normalise_text
from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.roles import can, require
from peyvand.campaigns import utm
from peyvand.campaigns.models import Campaign, Recipient, ShopDate, TestSend, Variant
from peyvand.contacts.models import Identity
from peyvand.messaging.actions import cancel_broadcast, start_broadcast
from peyvand.messaging.audience import audience_members, check_audience, describe_audience
from peyvand.messaging.content import SNAPSHOT_FIELDS, content_digest, freeze
from peyvand.messaging.models import Channel, MessageClass, MessageTemplate

S = Campaign.Status
LABELS = "ABCD"
# Editable until approved; an edit of a campaign awaiting approval sends it back to draft.
EDITABLE = (S.DRAFT, S.AWAITING, S.REJECTED)
NOT_STARTED = (S.DRAFT, S.AWAITING, S.SCHEDULED, S.REJECTED)
# A local-hour campaign starts this long before its hour comes anywhere (UTC+14 is the
# earliest zone), so every contact's message is queued before their hour.
LOCAL_LEAD = dt.timedelta(hours=15)
MAX_ATTRIBUTION_DAYS = 90


def _int(raw: dict, name: str, default: int | None = None) -> int | None:
    value = raw.get(name)
    if value in (None, ""):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return -1  # refused by the range check that follows


def _template(value: Any, errors: dict[str, str], field: str) -> MessageTemplate | None:
    if isinstance(value, MessageTemplate):
        return value
    text = str(value or "").strip()
    found = MessageTemplate.objects.filter(name=text).first() or (
        MessageTemplate.objects.filter(pk=int(text)).first() if text.isdigit() else None)
    if found is None:
        errors[field] = _("Choose a template.") if not text else \
            _("There is no template named “%(name)s”.") % {"name": text}
    elif found.message_class != MessageClass.MARKETING:
        errors[field] = _("“%(name)s” is not a marketing template: a campaign needs each "
                          "contact's consent, so it sends marketing templates only.") % {
                              "name": found.name}
    return found


def _when(value: Any, day: Any = None, clock: Any = None) -> dt.datetime | None:
    """An ISO moment (the API), or a day in the user's calendar (Jalali in fa) and an HH:MM
    (the page), in the shop's time zone when no zone is given."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    text = str(value or "").strip()
    if not text and day:
        date = parse_date(day)
        if date is None:
            return None
        hour, _sep, minute = ascii_digits(str(clock or "09:00")).strip().partition(":")
        parsed = dt.datetime.combine(date, dt.time(int(hour), int(minute or 0)))
        return timezone.make_aware(parsed, ZoneInfo(settings.TIME_ZONE))
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(ascii_digits(text))  # ValueError: the caller says which
    return parsed if timezone.is_aware(parsed) else \
        timezone.make_aware(parsed, ZoneInfo(settings.TIME_ZONE))


def check_schedule(raw: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """now | at (send_at) | local_hour (local_date + local_hour): never guessed."""
    schedule = str(raw.get("schedule") or "now")
    clean: dict[str, Any] = {"schedule": schedule, "send_at": None, "local_date": None,
                             "local_hour": None}
    if schedule not in Campaign.Schedule.values:
        errors["schedule"] = _("Choose when it goes: now, at a time, or at an hour in each "
                               "contact's time zone.")
        return clean
    if schedule == Campaign.Schedule.AT:
        try:
            clean["send_at"] = _when(raw.get("send_at"), raw.get("send_date"),
                                     raw.get("send_time"))
        except (ValueError, InvalidValue):
            errors["send_at"] = _("Give the day and the time, as 1405/10/03 and 09:30 "
                                  "(or 2026-12-24 and 09:30).")
        else:
            if clean["send_at"] is None:
                errors["send_at"] = _("Give the time it goes.")
            elif clean["send_at"] < timezone.now() - dt.timedelta(minutes=5):
                errors["send_at"] = _("This time has passed.")
    elif schedule == Campaign.Schedule.LOCAL_HOUR:
        hour = _int(raw, "local_hour")
        if hour is None or not 0 <= hour <= 23:
            errors["local_hour"] = _("Give an hour from 0 to 23.")
        clean["local_hour"] = hour
        try:
            clean["local_date"] = parse_date(raw.get("local_date"), "local_date")
        except InvalidValue as exc:
            errors["local_date"] = str(exc.reason)
        if clean["local_date"] is None and "local_date" not in errors:
            errors["local_date"] = _("Give the day.")
    return clean


def check_campaign(raw: dict[str, Any], campaign: Campaign | None = None) -> dict[str, Any]:
    """The campaign's plan, checked: every refusal names its field."""
    errors: dict[str, str] = {}
    was = campaign

    def get(name: str, default: Any = None) -> Any:
        if name in raw:
            return raw[name]
        return getattr(was, name) if was is not None else default

    clean: dict[str, Any] = {"name": normalise_text(str(get("name", "") or ""))[:120]}
    if not clean["name"]:
        errors["name"] = _("Give the campaign a name.")
    clean["channel"] = str(get("channel", Channel.EMAIL) or Channel.EMAIL)
    if clean["channel"] not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    spec = get("audience_spec", {}) if "audience" not in raw else raw["audience"]
    try:
        clean["audience_spec"] = check_audience(spec or {})
    except Invalid as exc:
        errors.update({(k if k == "audience" else f"audience.{k}"): v
                       for k, v in exc.errors.items()})
    else:
        if not clean["audience_spec"]:
            errors["audience"] = _("Choose who receives it: segments, tags or contacts.")
    clean["goal"] = str(get("goal", Campaign.Goal.CLICKS))
    if clean["goal"] not in Campaign.Goal.values:
        errors["goal"] = _("Choose the goal: clicks, orders or revenue.")
    days = _int(raw, "attribution_days", was.attribution_days if was else 5)
    if days is None or not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        errors["attribution_days"] = _("Give a window of 1 to %(max)s days.") % {
            "max": MAX_ATTRIBUTION_DAYS}
    clean["attribution_days"] = days
    clean["occasion"] = str(get("occasion", "") or "")[:64]
    if any(k in raw for k in ("schedule", "send_at", "local_date", "local_hour")) or not was:
        clean.update(check_schedule({"schedule": get("schedule", "now"),
                                     "send_at": get("send_at"), "local_date": get("local_date"),
                                     "local_hour": get("local_hour")}, errors))
    clean["variants"] = _check_variants(raw, was, clean["channel"], errors)
    _check_test(raw, was, clean, errors)
    if errors:
        raise Invalid(errors)
    return clean


def _check_variants(raw: dict[str, Any], was: Campaign | None, channel: str,
                    errors: dict[str, str]) -> list[dict[str, Any]]:
    """[{template, subject, send_hour}] for A…D; `template` alone means one variant."""
    if "variants" in raw:
        given = raw["variants"] or []
    elif "template" in raw:
        given = [{"template": raw["template"], "subject": raw.get("subject", "")}]
    elif was is not None:
        return [{"template": v.template, "subject": v.subject, "from_name": v.from_name,
                 "send_hour": v.send_hour} for v in was.variants.all()]
    else:
        given = []
    if not isinstance(given, list) or not 1 <= len(given) <= 4:
        errors["variants"] = _("Give one to four variants (A is the control).") \
            if given else _("Choose a template.")
        return []
    clean = []
    for index, item in enumerate(given):
        field = f"variants.{index}" if len(given) > 1 else "template"
        item = item if isinstance(item, dict) else {"template": item}
        template = _template(item.get("template"), errors, field)
        if template is not None and template.channel != channel:
            errors[field] = _("“%(name)s” is a template for another channel.") % {
                "name": template.name}
        subject = " ".join(str(item.get("subject") or "").split())[:300]
        sender = " ".join(str(item.get("from_name") or "").split())
        if len(sender) > 100 or any(c in sender for c in "<>@\"\r\n"):
            errors[f"{field}.from_name"] = _("A sender name is up to 100 characters, "
                                             "without an address.")
        hour = _int(item, "send_hour")
        if hour is not None and not 0 <= hour <= 23:
            errors[f"{field}.send_hour"] = _("Give an hour from 0 to 23.")
        clean.append({"template": template, "subject": subject, "from_name": sender,
                      "send_hour": hour})
    return clean


def _check_test(raw: dict[str, Any], was: Campaign | None, clean: dict[str, Any],
                errors: dict[str, str]) -> None:
    share = _int(raw, "test_percent", was.test_percent if was else 0)
    several = len(clean["variants"]) > 1
    if several and (share is None or not 5 <= share <= 50):
        errors["test_percent"] = _("An A/B test needs a test share of 5% to 50% of the "
                                   "audience.")
    if not several:
        share = 0
    clean["test_percent"] = share
    clean["ab_metric"] = str(raw.get("ab_metric") or (was.ab_metric if was else "click_rate"))
    if clean["ab_metric"] not in Campaign.Metric.values:
        errors["ab_metric"] = _("Choose how the winner is picked.")
    hours = _int(raw, "test_hours", was.test_hours if was else 4)
    if hours is None or not 1 <= hours <= 168:
        errors["test_hours"] = _("Decide after 1 to 168 hours.")
    clean["test_hours"] = hours


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


def variant_words(campaign: Campaign, variant: Variant) -> dict[str, str]:
    """What a variant sends, as it will be frozen: the template's words, the variant's own
    subject and sender name, and UTM parameters on the literal web links (campaigns.utm)."""
    words = {f: getattr(variant.template, f) for f in SNAPSHOT_FIELDS}
    if variant.subject:
        words["subject"] = variant.subject
    if variant.from_name:
        words["from_name"] = variant.from_name
    slug = utm.campaign_slug(campaign.name, campaign.pk)
    for part in ("html", "text"):
        words[part] = utm.with_utm(words[part], medium=campaign.channel, campaign=slug,
                                   html=part == "html")
    return words


def words_digest(campaign: Campaign) -> str:
    """What a reviewer approves: every variant's words (as they will be frozen) in order."""
    parts = [f"{v.label}:{content_digest(SimpleNamespace(**variant_words(campaign, v)))}"
             for v in campaign.variants.select_related("template").order_by("label")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


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

    found = is_quiet(send_day(campaign, now), ShopDate.objects.all(),
                     lunar_shift=settings.PEYVAND_LUNAR_SHIFT)
    if found is None:
        return ""
    return _("%(day)s is a quiet day (%(name)s): marketing pauses.") % {
        "day": send_day(campaign, now).isoformat(), "name": found.name}


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


def _not_adopted(campaign: Campaign) -> None:
    """A broadcast made the older way is approved (or rejected) on its own page."""
    if "adopted_from" in campaign.decision or "migrated_from" in campaign.decision:
        raise Invalid({"status": _("This campaign is a broadcast: approve or reject it on "
                                   "its broadcast page.")})


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
