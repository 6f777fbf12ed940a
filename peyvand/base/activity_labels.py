"""What the audit log and the jobs page call a stored action key, in words.

Audit rows and jobs store a stable key ("messaging.broadcast_created"); people read a
sentence. The keys are plain strings written by every floor, so naming them here imports no
app. A key missing from the table is shown humanised ("Broadcast created") rather than raw,
and tests/base/test_activity_labels.py fails for a key written in the code but not named here.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

AUDIT_ACTIONS = {
    "2fa.disable": _("Two-step sign-in turned off"),
    "2fa.enable": _("Two-step sign-in turned on"),
    "2fa.reset": _("Two-step sign-in reset"),
    "bounces.poll": _("Bounce mailbox read"),
    "campaigns.approved": _("Campaign approved"),
    "campaigns.cancelled": _("Campaign cancelled"),
    "campaigns.created": _("Campaign created"),
    "campaigns.date_deleted": _("Shop date deleted"),
    "campaigns.date_saved": _("Shop date saved"),
    "campaigns.rejected": _("Campaign sent back"),
    "campaigns.scheduled": _("Campaign scheduled"),
    "campaigns.submitted": _("Campaign sent for approval"),
    "campaigns.test_sent": _("Campaign test sent"),
    "consent.export": _("Proof of consent exported"),
    "consent.import": _("Consent imported"),
    "consent.reduce": _("Consent withdrawn by staff"),
    "consent.send_link": _("Preference link sent"),
    "consent.sms_gateway": _("SMS gateway changed"),
    "contact.erase": _("Contact erased"),
    "contact.export": _("Contact's data exported"),
    "contact.merge": _("Contacts merged"),
    "contacts.export": _("Contacts exported"),
    "contacts.import": _("Contacts imported"),
    "insights.settings": _("Insight rules changed"),
    "journeys.created": _("Journey created"),
    "journeys.enrolled": _("People added to a journey"),
    "journeys.moved": _("People moved to a new journey version"),
    "journeys.paused": _("Journey paused"),
    "journeys.published": _("Journey turned on"),
    "journeys.recipe_used": _("Journey made from a recipe"),
    "messaging.broadcast_approved": _("Broadcast approved"),
    "messaging.broadcast_created": _("Broadcast created"),
    "messaging.broadcast_rejected": _("Broadcast sent back"),
    "messaging.message_queued": _("Message queued"),
    "messaging.rule_deleted": _("Sending rule deleted"),
    "messaging.rule_saved": _("Sending rule saved"),
    "messaging.settings_saved": _("Sending settings saved"),
    "messaging.template_deleted": _("Template deleted"),
    "messaging.template_saved": _("Template saved"),
    "orders.export": _("Orders exported"),
    "orders.import": _("Orders imported"),
    "segment.create": _("Segment created"),
    "segment.delete": _("Segment deleted"),
    "segment.refresh": _("Segment recounted"),
    "segment.update": _("Segment changed"),
    "segments.export": _("People exported"),
    "segments.tag": _("People tagged"),
    "segments.untag": _("People untagged"),
    "segments.broadcast": _("Broadcast to people"),
    "shop.profile_saved": _("Shop name or logo changed"),
    "shop.money_settings": _("Money display unit changed"),
    "sms.test": _("Test SMS sent"),
    "source.activate": _("Shop connection turned on or off"),
    "source.create": _("Shop connected"),
    "task.cancelled": _("Task cancelled"),
    "task.closed": _("Task closed"),
    "task.created": _("Task created"),
    "task.reassigned": _("Task reassigned"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "user.activate": _("User turned on or off"),
    "user.create": _("User created"),
    "user.role_change": _("User's role changed"),
}

# Kinds of job that no app registers a label for (peyvand.base.jobs.register_job_kind).
JOB_KINDS = {
    "contacts.export": _("Contact export"),
    "contacts.import": _("Contact import"),
    "orders.import": _("Order import"),
    "insights.refresh": _("Insights refresh"),
}

# What the objects named in audit rows are called.
TARGET_TYPES = {
    "attestation": _("Consent import"), "broadcast": _("Broadcast"),
    "campaign": _("Campaign"), "contact": _("Contact"),
    "insight_settings": _("Insight rules"), "journey": _("Journey"),
    "mailbox": _("Mailbox"), "order": _("Order"), "outbox": _("Message"),
    "segment": _("Segment"), "sending_settings": _("Sending settings"),
    "shop": _("Shop"), "shop_date": _("Shop date"), "shop_source": _("Shop connection"),
    "sms": _("SMS"), "sms_gateway": _("SMS gateway"), "strategy_rule": _("Sending rule"),
    "task": _("Task"), "template": _("Template"), "user": _("User"),
}

# Counts stored as "read=5 created=3" (import totals) and what each count is.
COUNTS = {
    "read": _("rows read"), "created": _("created"), "updated": _("updated"),
    "merged": _("merged"), "rejected": _("rejected"), "subscribed": _("subscribed"),
    "opted_out": _("opted out"), "unchanged": _("unchanged"),
    "not_subscribed": _("not subscribed"), "skipped": _("skipped"),
}
_COUNTS_LINE = re.compile(r"^(?:(?P<prefix>[a-z]+): )?(?:[a-z_]+=\d+ ?)+$")


def humanise(key: str) -> str:
    """ "messaging.broadcast_created" -> "Broadcast created": never a raw key on a page."""
    word = key.rsplit(".", 1)[-1].replace("_", " ").strip()
    return word[:1].upper() + word[1:]


def audit_action_label(action: str) -> str:
    label = AUDIT_ACTIONS.get(action)
    return str(label) if label is not None else humanise(action)


def target_type_label(target_type: str) -> str:
    label = TARGET_TYPES.get(target_type)
    return str(label) if label is not None else humanise(target_type)


def job_kind_fallback(kind: str) -> str:
    label = JOB_KINDS.get(kind)
    return str(label) if label is not None else humanise(kind)


def counts_in_words(text: str) -> list[tuple[str, int]] | None:
    """ "read=5 created=3" as [("rows read", 5), ("created", 3)]; None for other text."""
    if not _COUNTS_LINE.match(text or ""):
        return None
    pairs = re.findall(r"([a-z_]+)=(\d+)", text)
    return [(str(COUNTS[k]) if k in COUNTS else gettext(humanise(k)), int(v))
            for k, v in pairs]
