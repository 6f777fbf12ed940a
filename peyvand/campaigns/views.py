"""Campaign pages: the list with its overview chart, the plan (new/edit), the campaign (the
pre-send check, the words to approve, test send, schedule, approve, cancel, the report) and the
occasion calendar. Thin: campaigns.actions and queries do the work and the role checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jdatetime
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.dates import input_date
from peyvand.base.errors import Invalid
from peyvand.base.roles import can, require
from peyvand.base.views import paginate, ui_actor
from peyvand.campaigns import actions, charts, queries, sending
from peyvand.campaigns.models import Campaign, ShopDate
from peyvand.campaigns.words import words_digest
from peyvand.contacts.models import Tag
from peyvand.messaging.audience import audience_from_input, audience_label, choices_of
from peyvand.messaging.models import Channel, MessageClass, MessageTemplate
from peyvand.messaging.templates_engine import TemplateInvalid

PLAN_FIELDS = ("name", "channel", "goal", "attribution_days", "occasion", "test_percent",
               "ab_metric", "test_hours")


def _language() -> str:
    return (translation.get_language() or "fa")[:2]


@login_required
def campaign_list(request):
    actor = ui_actor(request)
    page = paginate(request, queries.campaigns(actor), 25)
    return render(request, "campaigns/campaign_list.html", {
        "page": page, "may_edit": can(actor, "campaigns.edit"),
        "overview": charts.overview(_language())})


def _posted(post) -> dict[str, Any]:
    raw: dict[str, Any] = {k: post.get(k, "") for k in PLAN_FIELDS}
    raw["audience"] = audience_from_input(
        segments=post.getlist("segments"), exclude_segments=post.getlist("exclude_segments"),
        tags=post.getlist("tags"), exclude_tags=post.getlist("exclude_tags"))
    variants = []
    for label in actions.LABELS:
        template = post.get(f"template_{label}", "").strip()
        if template:
            hour = post.get(f"send_hour_{label}", "").strip()
            variants.append({"template": template,
                             "subject": post.get(f"subject_{label}", ""),
                             "from_name": post.get(f"from_name_{label}", ""),
                             "send_hour": hour or None})
    raw["variants"] = variants
    return raw


def _form_values(campaign: Campaign | None) -> dict[str, Any]:
    if campaign is None:
        return {"channel": Channel.EMAIL, "goal": "clicks", "attribution_days": 5,
                "test_percent": 20, "ab_metric": "click_rate", "test_hours": 4,
                "variants": {}, "segments": [], "exclude_segments": [], "tags": [],
                "exclude_tags": []}
    spec = campaign.audience_spec
    tag_names = dict(Tag.objects.values_list("pk", "name"))
    return {**{k: getattr(campaign, k) for k in PLAN_FIELDS},
            "variants": {v.label: {"template": v.template.name, "subject": v.subject,
                                   "from_name": v.from_name, "send_hour": v.send_hour}
                         for v in campaign.variants.all()},
            "segments": [str(i) for i in spec.get("segments", [])],
            "exclude_segments": [str(i) for i in spec.get("exclude_segments", [])],
            "tags": [tag_names.get(i, "") for i in spec.get("tags", [])],
            "exclude_tags": [tag_names.get(i, "") for i in spec.get("exclude_tags", [])]}


@login_required
def campaign_edit(request, pk: int | None = None):
    actor = ui_actor(request)
    require(actor, "campaigns.edit")
    campaign = queries.campaign_of(actor, pk) if pk else None
    errors: dict[str, str] = {}
    values = _form_values(campaign)
    if request.method == "POST":
        raw = {}
        try:
            raw = _posted(request.POST)
            campaign = actions.do_save_campaign(actor, raw, campaign)
        except Invalid as exc:
            errors = exc.errors
            post = request.POST
            values = {**{k: post.get(k, "") for k in PLAN_FIELDS},
                      "variants": {label: {"template": post.get(f"template_{label}", ""),
                                           "subject": post.get(f"subject_{label}", ""),
                                           "from_name": post.get(f"from_name_{label}", ""),
                                           "send_hour": post.get(f"send_hour_{label}", "")}
                                   for label in actions.LABELS},
                      **{k: post.getlist(k) for k in ("segments", "exclude_segments", "tags",
                                                      "exclude_tags")}}
        else:
            messages.success(request, _("Campaign saved as a draft."))
            return redirect("campaigns:detail", campaign.pk)
    return render(request, "campaigns/campaign_form.html", {
        "campaign": campaign, "values": values, "errors": errors,
        "variant_rows": [(label, values["variants"].get(label) or {})
                         for label in actions.LABELS],
        "templates": MessageTemplate.objects.filter(message_class=MessageClass.MARKETING)
        .order_by("name"),
        "channels": Channel.choices, "goals": Campaign.Goal.choices,
        "metrics": Campaign.Metric.choices, "tags": Tag.objects.order_by("name"),
        "segments": choices_of("segment"), "occasions": _upcoming_occasions()})


def _upcoming_occasions() -> list[Any]:
    from peyvand.campaigns.occasions import occasions_between

    today = timezone.localdate()
    return occasions_between(today, today + dt.timedelta(days=120), ShopDate.objects.all(),
                             lunar_shift=settings.PEYVAND_LUNAR_SHIFT)


def _variant_previews(actor, campaign: Campaign) -> tuple[list[dict[str, Any]], str]:
    shown, error = [], ""
    for variant in campaign.variants.all():
        try:
            rendered = queries.variant_preview(campaign, variant)
        except TemplateInvalid as exc:
            error = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            continue
        shown.append({"variant": variant, "rendered": rendered,
                      "language": variant.template.language})
    return shown, error


@login_required
def campaign_detail(request, pk: int):
    actor = ui_actor(request)
    campaign = queries.campaign_of(actor, pk)
    started = campaign.started_at is not None
    context: dict[str, Any] = {
        "campaign": campaign, "variants": list(campaign.variants.all()),
        "may_edit": can(actor, "campaigns.edit"),
        "may_approve": can(actor, "campaigns.approve")
        and campaign.status == Campaign.Status.AWAITING,
        "may_override": can(actor, "campaigns.override_quiet"),
        "digest": words_digest(campaign), "quiet": sending.quiet_reason(campaign),
        "audience_label": _audience_label(campaign),
        "tests": campaign.tests.order_by("-sent_at")[:5],
        "today": input_date(timezone.localdate(), _language()),
    }
    if not started:
        context["check"] = queries.check_before_send(actor, campaign)
        context["ab"] = queries.ab_plan(campaign, context["check"].get("will_send", 0))
        context["fatigue"] = queries.fatigue(campaign)
        context["shown"], context["preview_error"] = _variant_previews(actor, campaign)
    else:
        context["report"] = queries.report(actor, campaign)
        context["funnel"] = charts.funnel(context["report"], _language())
        context["hours"] = charts.hours(context["report"], _language())
        context["breakdowns"] = queries.breakdowns(campaign)
        context["maps"] = queries.click_maps(campaign, context["report"], _language())
        chances = campaign.decision.get("p_b_beats_a") or []
        context["bayes"] = [(actions.LABELS[i], round(p * 100)) for i, p in enumerate(chances)
                            if i and p is not None]
    return render(request, "campaigns/campaign_detail.html", context)


def _audience_label(campaign: Campaign) -> str:
    try:
        return audience_label(campaign.audience_spec)
    except Invalid:  # a segment or tag deleted since: said, never hidden
        return _("part of the audience no longer exists")


_DONE = {
    "submit": lambda: _("Sent for approval."),
    "approve": lambda: _("Approved: it goes when its schedule says."),
    "reject": lambda: _("Rejected."),
    "cancel": lambda: _("Cancelled."),
    "test": lambda: _("Test sent: it is marked as a test and never counted."),
    "schedule": lambda: _("Schedule saved."),
}


@login_required
@require_POST
def campaign_act(request, pk: int, what: str):
    actor = ui_actor(request)
    campaign = queries.campaign_of(actor, pk)
    post = request.POST
    try:
        if what == "submit":
            actions.do_submit(actor, campaign)
        elif what == "approve":
            actions.do_approve(actor, campaign, post.get("digest", ""),
                               quiet_override=bool(post.get("quiet_override")))
        elif what == "reject":
            actions.do_reject(actor, campaign, post.get("reason", ""))
        elif what == "cancel":
            actions.do_cancel(actor, campaign)
        elif what == "test":
            ids = [x for x in post.get("contacts", "").replace("،", ",").split(",") if x.strip()]
            sending.do_test_send(actor, campaign, [x.strip() for x in ids])
        elif what == "schedule":
            actions.do_schedule(actor, campaign, {
                "schedule": post.get("schedule", "now"), "send_date": post.get("send_date"),
                "send_time": post.get("send_time"), "local_date": post.get("local_date"),
                "local_hour": post.get("local_hour"),
                "quiet_override": post.get("quiet_override")})
        else:
            return redirect("campaigns:detail", pk)
    except Invalid as exc:
        messages.error(request, " ".join(str(v) for v in exc.errors.values()))
    else:
        messages.success(request, _DONE[what]())
    return redirect("campaigns:detail", pk)


@login_required
def campaign_report_csv(request, pk: int):
    actor = ui_actor(request)
    data = queries.report(actor, queries.campaign_of(actor, pk))
    response = HttpResponse(queries.report_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{pk}.csv"'
    return response


@login_required
def calendar(request):
    """A month of both calendars with the occasions, the shop's dates and the campaigns."""
    from peyvand.campaigns.occasions import month_bounds, month_grid, occasions_between

    actor = ui_actor(request)
    require(actor, "campaigns.view")
    language = _language()
    kind = "jalali" if language == "fa" else "gregorian"
    today = timezone.localdate()
    if kind == "jalali":
        now = jdatetime.date.fromgregorian(date=today)
        year, month = now.year, now.month
    else:
        year, month = today.year, today.month
    try:
        year = int(request.GET.get("year", year))
        month = min(12, max(1, int(request.GET.get("month", month))))
    except ValueError:
        pass
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                row = ShopDate.objects.filter(pk=request.POST.get("delete")).first()
                if row is not None:
                    actions.do_delete_shop_date(actor, row)
                    messages.success(request, _("Date deleted."))
            else:
                actions.do_save_shop_date(actor, request.POST)
                messages.success(request, _("Date saved."))
            return redirect(request.get_full_path())
        except Invalid as exc:
            errors = exc.errors
    dates = list(ShopDate.objects.all())
    first, last = month_bounds(year, month, kind)
    items = [_CalendarCampaign(c) for c in Campaign.objects.exclude(
        status__in=(Campaign.Status.CANCELLED, Campaign.Status.REJECTED))]
    grid = month_grid(year, month, kind, language,
                      occasions_between(first, last, dates,
                                        lunar_shift=settings.PEYVAND_LUNAR_SHIFT),
                      [c for c in items if first <= c.send_date <= last])
    return render(request, "campaigns/calendar.html", {
        "grid": grid, "shop_dates": dates, "errors": errors, "posted": request.POST,
        "may_edit": can(actor, "campaigns.edit")})


class _CalendarCampaign:
    """What the calendar shows of a campaign."""

    def __init__(self, campaign: Campaign):
        from django.urls import reverse

        self.name = campaign.name
        self.send_date = sending.send_day(campaign)
        self.url = reverse("campaigns:detail", args=[campaign.pk])
        self.status_label = campaign.get_status_display()
        self.status = campaign.status
