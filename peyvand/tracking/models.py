"""What tracking keeps: hits on opens and clicks, interest scores, bounce reports, SMS sends
and their short links."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UaClass(models.TextChoices):
    BROWSER = "browser", _("Browser")
    MOBILE = "mobile", _("Mobile")
    APPLE_MPP = "apple-mail-privacy-proxy", _("Apple Mail privacy proxy")
    BOT = "bot", _("Scanner or bot")
    UNKNOWN = "unknown", _("Unknown")


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        CLICK = "click", _("Click")

    hit_id = models.CharField(max_length=32, unique=True)  # from the spool: drained once
    kind = models.CharField(max_length=8, choices=Kind.choices)
    message_id = models.BigIntegerField(db_index=True)  # messaging's OutboxMessage.pk
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="tracking_events")
    url = models.TextField(blank=True)
    topic = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)
    ua_class = models.CharField(max_length=32, choices=UaClass.choices,
                                default=UaClass.UNKNOWN)
    machine = models.BooleanField(default=False)  # scanner, privacy proxy or too fast
    machine_reason = models.CharField(max_length=32, blank=True)
    # The first open of a message by its person: a pixel loaded again (another look, another
    # device, a forwarded copy) is one more hit, never one more unique open. Set by the drain;
    # the database holds it to one per (message, contact) even when two drains race.
    unique_open = models.BooleanField(default=False)
    # The hour of the day (0-23) in the person's time zone when the hit was drained: the
    # report's "by hour, local time", fixed with the row so a later change of time zone or a
    # merge never moves a counted hit to another hour (tracking.counters).
    local_hour = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "kind", "at"]),
                   models.Index(fields=["message_id", "kind"]),
                   # Who opened or clicked in the last N days, people only (segments): one
                   # range of the index, read alone (bench/segments.py).
                   models.Index(fields=["kind", "at", "contact"], name="tracking_human_kind_at",
                                condition=models.Q(machine=False))]
        constraints = [models.UniqueConstraint(fields=["message_id", "contact"],
                                               condition=models.Q(unique_open=True),
                                               name="tracking_one_unique_open")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.message_id}"


class LastEngagement(models.Model):
    """When a person last opened and last clicked, people only (machine hits left out): one
    row per person, kept by the drain and re-counted from TrackingEvent when hits are
    re-flagged as a machine's or people merge (tracking.last_engagement). Segments read it
    for "clicked/opened within the last N days" and the last open or click date instead of
    making a year of hits unique per person (bench/segments.py)."""

    contact = models.OneToOneField("contacts.Contact", primary_key=True,
                                   on_delete=models.CASCADE, related_name="last_engagement")
    last_opened_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_clicked_at"], name="tracking_last_clicked"),
                   models.Index(fields=["last_opened_at"], name="tracking_last_opened")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.last_opened_at} / {self.last_clicked_at}"


class InterestScore(models.Model):
    """Human clicks on links tagged with a topic; `score` as of `updated`, decaying since."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE,
                                related_name="interests")
    topic = models.CharField(max_length=64)
    score = models.FloatField(default=0.0)
    updated = models.DateTimeField()

    class Meta:
        ordering = ["-score", "topic"]
        constraints = [models.UniqueConstraint(fields=["contact", "topic"],
                                               name="tracking_interest_unique")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.score:.2f}"


class BounceReport(models.Model):
    class Kind(models.TextChoices):
        HARD = "hard", _("Hard bounce")
        SOFT = "soft", _("Soft bounce")
        COMPLAINT = "complaint", _("Complaint")
        DELAYED = "delayed", _("Delayed (no action)")
        UNPARSED = "unparsed", _("Not understood")

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    message_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="bounce_reports")
    recipient = models.CharField(max_length=320, blank=True)
    status = models.CharField(max_length=16, blank=True)  # RFC 3463 code, e.g. 5.1.1
    diagnostic = models.TextField(blank=True)
    subject = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=16, blank=True)  # smtp, imap, pop, test
    raw = models.BinaryField(blank=True)  # kept only for reports we could not read
    problem = models.CharField(max_length=200, blank=True)
    suppressed = models.BooleanField(default=False)  # this report led to a suppression
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["contact", "kind", "received_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.recipient}"


class SmsSend(models.Model):
    """One SMS handed to a gateway; its delivery status is polled until final."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    gateway = models.CharField(max_length=16)
    provider_id = models.CharField(max_length=64, db_index=True)
    to = models.CharField(max_length=32)
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="sms_sends")
    message_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # (report)
    parts = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.provider_id}"


class CatcherSms(models.Model):
    """The SMS catcher gateway's store when peyvand.mailcatcher (CaughtSms) is not installed."""

    to = models.CharField(max_length=32)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.text[:40]}"


class ShortLink(models.Model):
    """One URL of one SMS as `/t/s/<code>` (tracking.sms_links): a sealed click token is
    far too long for an SMS, so the link names a row instead."""

    code = models.CharField(max_length=8, unique=True)  # random, from sms_links.ALPHABET
    message_id = models.BigIntegerField()  # messaging's OutboxMessage.pk
    # Null once the contact is gone (merged): a hit then takes the outbox row's contact,
    # which the merge moved to the survivor.
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="short_links")
    url = models.TextField()
    url_key = models.CharField(max_length=32)  # counters.url_key(url): URLs may be long
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The same (message, URL) gets the same code when the message is built again.
        constraints = [models.UniqueConstraint(fields=["message_id", "url_key"],
                                               name="tracking_short_link_once")]

    def __str__(self) -> str:
        return f"{self.code} #{self.message_id}"


# --- counters kept by the drain (tracking.counters): what the campaign report reads --------------

class MessageTally(models.Model):
    """One outbox message's opens and clicks as stored so far; whether it counts as opened by
    a person, opened by machines only, or clicked follows from these."""

    message_id = models.BigIntegerField(primary_key=True)
    source = models.CharField(max_length=64)
    opens = models.IntegerField(default=0)
    human_opens = models.IntegerField(default=0)
    clicks = models.IntegerField(default=0)
    human_clicks = models.IntegerField(default=0)

    class Meta:
        # A sending's clicked messages (attribution's candidates), one range of the index.
        indexes = [models.Index(fields=["source", "human_clicks"], name="tracking_tally_source")]

    def __str__(self) -> str:
        return f"#{self.message_id} {self.source}"


class LinkTally(models.Model):
    """Human clicks on one link of one message (its people per link follow)."""

    message_id = models.BigIntegerField()
    url_key = models.CharField(max_length=32)  # counters.url_key(url): URLs may be long
    source = models.CharField(max_length=64)
    human_clicks = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id", "url_key"],
                                               name="tracking_link_tally_once")]

    def __str__(self) -> str:
        return f"#{self.message_id} {self.url_key}"


class SourceCounter(models.Model):
    """One sending's totals. opened / machine_opened / clicked count messages (one per
    recipient and channel); the rest count hits."""

    source = models.CharField(max_length=64, primary_key=True)
    opens = models.BigIntegerField(default=0)
    human_opens = models.BigIntegerField(default=0)
    opened = models.BigIntegerField(default=0)
    machine_opened = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    human_clicks = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.source


class SourceLink(models.Model):
    """One link of a sending: human clicks on it and the messages (people) that made them."""

    source = models.CharField(max_length=64)
    url_key = models.CharField(max_length=32)
    url = models.TextField(blank=True)
    clicks = models.BigIntegerField(default=0)
    clickers = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "url_key"],
                                               name="tracking_source_link_once")]

    def __str__(self) -> str:
        return f"{self.source} {self.url[:60]}"


class SourceHour(models.Model):
    """Human opens or clicks of a sending in one hour of the day, the person's local time."""

    source = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=TrackingEvent.Kind.choices)
    hour = models.PositiveSmallIntegerField()
    hits = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "kind", "hour"],
                                               name="tracking_source_hour_once")]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.hour:02d}h"
