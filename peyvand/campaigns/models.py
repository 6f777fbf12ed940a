"""Campaigns: a message planned for an audience — content (one or more variants), a goal, a
schedule, an approval, and what came of it.

A campaign sends through messaging: each variant, once it goes, is one messaging Broadcast
(its own outbox source, so its numbers stay apart), and an A/B test's rest is one more.
Broadcasts made before campaigns existed became campaigns of one variant (migration 0002).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from peyvand.messaging.models import Channel


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING = "awaiting_approval", _("Awaiting approval")
        SCHEDULED = "scheduled", _("Scheduled")
        TESTING = "testing", _("A/B test running")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    class Goal(models.TextChoices):
        CLICKS = "clicks", _("Clicks")
        ORDERS = "orders", _("Orders")
        REVENUE = "revenue", _("Revenue")

    class Schedule(models.TextChoices):
        NOW = "now", _("As soon as it is approved")
        AT = "at", _("At a time")
        LOCAL_HOUR = "local_hour", _("At an hour in each contact's time zone")

    class Metric(models.TextChoices):
        OPEN_RATE = "open_rate", _("Open rate (people, not machines)")
        CLICK_RATE = "click_rate", _("Click rate")
        REVENUE = "revenue_per_recipient", _("Revenue per recipient")

    name = models.CharField(_("name"), max_length=120)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices,
                               default=Channel.EMAIL)
    # messaging.audience's spec: {"segments": [..], "tags": [..], "exclude_segments": [..], …}
    audience_spec = models.JSONField(default=dict, blank=True)
    goal = models.CharField(_("goal"), max_length=16, choices=Goal.choices,
                            default=Goal.CLICKS)
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"),
                                                        default=5)
    occasion = models.CharField(_("occasion"), max_length=64, blank=True)
    schedule = models.CharField(_("schedule"), max_length=16, choices=Schedule.choices,
                                default=Schedule.NOW)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    local_date = models.DateField(_("local date"), null=True, blank=True)
    local_hour = models.PositiveSmallIntegerField(_("local hour"), null=True, blank=True)
    # The owner sends on a quiet date (a day of mourning) knowingly.
    quiet_override = models.BooleanField(default=False)
    # A/B test: the share of the audience tested (0: none), the metric, when it is decided.
    test_percent = models.PositiveSmallIntegerField(_("test share (%)"), default=0)
    ab_metric = models.CharField(_("winner metric"), max_length=24, choices=Metric.choices,
                                 default=Metric.CLICK_RATE)
    test_hours = models.PositiveSmallIntegerField(_("decide after (hours)"), default=4)
    decide_at = models.DateTimeField(null=True, blank=True)
    decision = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Frozen at approval: the audience with its names, and its count when it was queued.
    audience = models.JSONField(default=dict, blank=True)
    approved_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=150)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One version of the campaign's message. Without an A/B test there is one (A)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1)  # A, B, C, D: A is the control
    template = models.ForeignKey("messaging.MessageTemplate", on_delete=models.PROTECT,
                                 related_name="+")
    subject = models.CharField(_("subject"), max_length=300, blank=True)  # "" = template's
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)  # "": settings'
    send_hour = models.PositiveSmallIntegerField(null=True, blank=True)  # local hour to test
    snapshot = models.ForeignKey("messaging.ContentSnapshot", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    broadcast = models.OneToOneField("messaging.Broadcast", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="campaign_variant")
    # The rest of an A/B test's audience, sent this (the winning or the control) variant.
    rest_broadcast = models.OneToOneField("messaging.Broadcast", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["campaign", "label"]
        constraints = [models.UniqueConstraint(fields=["campaign", "label"],
                                               name="variant_label_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id}{self.label}"


class Recipient(models.Model):
    """An A/B test's split, recorded: the variant a contact was drawn into (null: the rest,
    who get the winner)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"],
                                               name="recipient_once")]
        indexes = [models.Index(fields=["campaign", "variant"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.contact_id}"


class TestSend(models.Model):
    """A test send: to whom, by whom; its broadcast is marked is_test and never reported."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tests")
    broadcast = models.ForeignKey("messaging.Broadcast", null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    sent_by = models.CharField(max_length=150)
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"test {self.campaign_id} by {self.sent_by}"


class ShopDate(models.Model):
    """The shop's own occasion (a sale, its birthday) or a quiet day it adds."""

    class Calendar(models.TextChoices):
        JALALI = "jalali", _("Jalali")
        GREGORIAN = "gregorian", _("Gregorian")

    name = models.CharField(_("name"), max_length=100)
    date = models.DateField(_("date"))
    quiet = models.BooleanField(_("quiet: no marketing"), default=False)
    yearly = models.BooleanField(_("every year"), default=False)
    calendar = models.CharField(_("calendar"), max_length=10, choices=Calendar.choices,
                                default=Calendar.JALALI)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return self.name
