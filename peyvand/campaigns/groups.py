"""An A/B test's groups as messaging audiences: `{"campaign_groups": [variant ids]}` are the
contacts drawn into those variants, `{"campaign_rests": [campaign ids]}` those left for the
winner. Registered from CampaignsConfig.ready (messaging may not import campaigns)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from peyvand.base.errors import Invalid
from peyvand.campaigns.models import Campaign, Recipient, Variant
from peyvand.messaging.models import broadcast_source


def _groups(ids: list[int]) -> QuerySet:
    if Variant.objects.filter(pk__in=ids).count() != len(set(ids)):
        raise Invalid({"campaign_groups": _("There is no such campaign variant.")})
    return Recipient.objects.filter(variant_id__in=ids).values("contact_id")


def _group_names(ids: list[int]) -> list[str]:
    found = dict(Variant.objects.filter(pk__in=ids).values_list("pk", "label"))
    return [_("test group %(label)s") % {"label": found.get(i, "?")} for i in ids]


def _rests(ids: list[int]) -> QuerySet:
    if Campaign.objects.filter(pk__in=ids).count() != len(set(ids)):
        raise Invalid({"campaign_rests": _("There is no such campaign.")})
    return Recipient.objects.filter(campaign_id__in=ids, variant__isnull=True) \
        .values("contact_id")


def _rest_names(ids: list[int]) -> list[str]:
    return [_("the rest of the audience") for _i in ids]


def register() -> None:
    from peyvand.messaging.audience import register_audience_kind

    register_audience_kind("campaign_group", _groups, _group_names)
    register_audience_kind("campaign_rest", _rests, _rest_names)


def sources_of(campaign: Campaign, *, variant: Variant | None = None) -> list[str]:
    """The outbox sources whose messages are this campaign's (or one variant's): test sends
    are never among them."""
    variants = [variant] if variant else list(campaign.variants.all())
    found = []
    for item in variants:
        for broadcast_id in (item.broadcast_id, item.rest_broadcast_id):
            if broadcast_id:
                found.append(broadcast_source(broadcast_id))
    return found


def attribution_windows(sources: list[str]) -> dict[str, int]:
    """Each campaign source's attribution window in days (tracking asks; default 5)."""
    ids = {int(number): source for source in sources
           for kind, _sep, number in [source.partition(":")]
           if kind == "broadcast" and number.isdigit()}
    windows: dict[str, int] = {}
    for first, rest, days in Variant.objects.filter(
            Q(broadcast_id__in=ids) | Q(rest_broadcast_id__in=ids)).values_list(
                "broadcast_id", "rest_broadcast_id", "campaign__attribution_days"):
        for broadcast_id in (first, rest):
            if broadcast_id in ids:
                windows[ids[broadcast_id]] = days
    return windows
