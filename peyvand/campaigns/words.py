"""What a campaign's variants send, as they will be frozen, and the digest a reviewer
approves: the template's words, the variant's own subject and sender name, UTM on the links."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from peyvand.campaigns import utm
from peyvand.campaigns.models import Campaign, Variant
from peyvand.messaging.content import SNAPSHOT_FIELDS, content_digest


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
