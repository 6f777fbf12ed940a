"""Messaging rows: templates, strategy rules, broadcasts and the outbox every message passes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class MessageClass(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    ALERT = "alert", _("Alert")
    TRANSACTIONAL = "transactional", _("Transactional")
    # Double opt-in: goes only while a subscription waits for confirmation on that address.
    CONFIRMATION = "confirmation", _("Confirmation")


# What a template or a broadcast may be: confirmations are written by Peyvand alone.
AUTHORED_CLASSES = (MessageClass.MARKETING, MessageClass.ALERT, MessageClass.TRANSACTIONAL)


class MessageTemplate(models.Model):
    class Language(models.TextChoices):
        FA = "fa", _("Persian")
        EN = "en", _("English")

    name = models.CharField(_("name"), max_length=100, unique=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices,
                                default=Language.FA)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices,
                               default=Channel.EMAIL)
    topic = models.CharField(_("topic"), max_length=64, blank=True)
    message_class = models.CharField(_("message class"), max_length=16,
                                     choices=MessageClass.choices, default=MessageClass.MARKETING)
    content_type = models.CharField(_("content type"), max_length=64, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("plain text"), blank=True)
    # A designed e-mail (messaging.blocks): its html and text are made from these on save.
    # Empty for a template written as HTML.
    blocks = models.JSONField(_("blocks"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def carries_consent_links(self, message_class: str) -> bool:
        return carries_consent_links(self, message_class)


def carries_consent_links(content, message_class: str) -> bool:
    """Whether messages of this class with this content (a template or a snapshot) carry the
    contact's consent links: every non-transactional one (unsubscribe header and footer),
    others when they use preferences_url or unsubscribe_url."""
    return message_class != MessageClass.TRANSACTIONAL or "_url" in (
        content.subject + content.html + content.text)


class ContentSnapshot(models.Model):
    """A template's words frozen: what an approval approved and what the sender renders, so
    editing the template afterwards changes nothing already approved or queued. Never
    changed or deleted; one row per (template, content)."""

    digest = models.CharField(max_length=64)  # sha256 of the fields below (content.py)
    template = models.ForeignKey(MessageTemplate, null=True, on_delete=models.SET_NULL,
                                 related_name="snapshots")
    template_name = models.CharField(max_length=100)  # kept when the template is deleted
    language = models.CharField(max_length=8)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    topic = models.CharField(max_length=64, blank=True)
    message_class = models.CharField(max_length=16, choices=MessageClass.choices)
    content_type = models.CharField(max_length=64, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    # A campaign variant's own sender name (an A/B test of it); "": the sending settings'.
    from_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "digest"],
                                               name="snapshot_once_per_content")]
        indexes = [models.Index(fields=["digest"])]

    def __str__(self) -> str:
        return f"{self.template_name} {self.digest[:12]}"

    def carries_consent_links(self, message_class: str) -> bool:
        return carries_consent_links(self, message_class)


class StrategyRule(models.Model):
    """A contact-strategy rule the OutboundGate applies to non-transactional messages."""

    class Kind(models.TextChoices):
        CAP = "cap", _("At most N messages per period")  # F1
        SPACING = "spacing", _("Minimum time between two messages")  # F2
        CONTENT_CAP = "content_cap", _("At most N of one content type per period")  # F3
        QUIET = "quiet", _("Quiet hours")  # F6

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Empty: every channel together (the overall cap / spacing across channels).
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    content_type = models.CharField(_("content type"), max_length=64, blank=True)
    max_count = models.PositiveIntegerField(_("at most"), null=True, blank=True)
    period_hours = models.PositiveIntegerField(_("period (hours)"), null=True, blank=True)
    spacing_minutes = models.PositiveIntegerField(_("spacing (minutes)"), null=True, blank=True)
    quiet_start = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "channel", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel or '*'}"


class SendingSettings(models.Model):
    """The UI's SMTP settings row (one); PEYVAND_SMTP_URL in the environment wins over it."""

    smtp_url = models.CharField(_("SMTP URL"), max_length=500, blank=True)
    from_address = models.CharField(_("From address"), max_length=320, blank=True)
    from_name = models.CharField(_("From name"), max_length=100, blank=True)
    connections = models.PositiveSmallIntegerField(_("SMTP connections"), default=10)
    rate_per_second = models.PositiveIntegerField(_("messages per second (0: no limit)"),
                                                  default=0)
    domain_rate_per_second = models.PositiveIntegerField(
        _("messages per second per recipient domain (0: no limit)"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.smtp_url.rpartition("@")[2] or "catcher"


def broadcast_source(pk: int) -> str:
    """The outbox source of broadcast `pk`'s messages (one per broadcast, so its numbers)."""
    return f"broadcast:{pk}"


class Broadcast(models.Model):
    class Status(models.TextChoices):
        AWAITING = "awaiting_approval", _("Awaiting approval")
        QUEUED = "queued", _("Queued")
        REJECTED = "rejected", _("Rejected")
        # Stopped before every message left (a campaign cancelled): the rest are cancelled.
        CANCELLED = "cancelled", _("Cancelled")

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT,
                                 related_name="broadcasts")
    tag = models.ForeignKey("contacts.Tag", null=True, on_delete=models.SET_NULL,
                            related_name="+")
    tag_name = models.CharField(max_length=64, blank=True)  # kept when the tag is deleted
    # Any other audience (messaging.audience): {"segments": [..], "exclude_tags": [..], …};
    # empty for a broadcast to one tag.
    audience_spec = models.JSONField(default=dict, blank=True)
    # Always marketing since broadcasts may be nothing else; older rows keep what they were.
    message_class = models.CharField(max_length=16, choices=MessageClass.choices,
                                     default=MessageClass.MARKETING)
    # Frozen at approval: the words approved and who they go to ({"tag_id", "tag_name"}, or
    # the audience spec with its names and the count of members resolved when queued).
    snapshot = models.ForeignKey(ContentSnapshot, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="broadcasts")
    audience = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.CharField(max_length=150)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    queued_count = models.PositiveIntegerField(default=0)
    no_address_count = models.PositiveIntegerField(default=0)
    # A campaign's timing (campaigns): none of its messages leaves before `send_after`; with
    # `local_hour`, each leaves at that hour of `local_date` in its contact's time zone.
    send_after = models.DateTimeField(null=True, blank=True)
    local_date = models.DateField(null=True, blank=True)
    local_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    # Test sends (to the sender or a seed list): marked in the subject, never reported.
    is_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.template_id} → {self.audience_label}"

    @property
    def source(self) -> str:
        return broadcast_source(self.pk)

    @property
    def audience_label(self) -> str:
        """Whom it goes to, in a line: the tag's name, or the parts of its audience."""
        if not self.audience_spec:
            return self.tag_name
        from peyvand.messaging.audience import audience_label

        return audience_label(self.audience_spec)


class OutboxMessage(models.Model):
    """One message to one contact on one channel from one source; its whole life."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Deferred")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        UNKNOWN = "unknown", _("Unknown (in flight at a crash)")
        # Its broadcast was cancelled before it left: never claimed again.
        CANCELLED = "cancelled", _("Cancelled")

    # "broadcast:12", "api:<key>" or "trigger:<name>:<key>" (single messages), later
    # campaign/journey steps
    source = models.CharField(max_length=64)
    broadcast = models.ForeignKey(Broadcast, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="messages")
    template = models.ForeignKey(MessageTemplate, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # The frozen words the sender renders (none for messages Peyvand writes itself).
    snapshot = models.ForeignKey(ContentSnapshot, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    to_address = models.CharField(max_length=320)
    topic = models.CharField(max_length=64, blank=True)
    message_class = models.CharField(max_length=16, choices=MessageClass.choices)
    content_type = models.CharField(max_length=64, blank=True)
    # A message written by Peyvand itself (a confirmation), not from a template: its words are
    # fixed when it is queued.
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The OutboundGate's last word on this row: allow / defer / deny, a code and its text.
    gate_verdict = models.CharField(max_length=8, blank=True)
    gate_reason = models.CharField(max_length=64, blank=True)
    gate_text = models.CharField(max_length=300, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_reply = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    # What this person received: the merge fields the snapshot read, as sent (canonical
    # JSON; personal data, blanked on erasure), and sha256(snapshot digest + that JSON).
    merge_data = models.TextField(blank=True)
    content_digest = models.CharField(max_length=64, blank=True)
    # Found in `sending` after a crash and sent again: the person may have it twice.
    resent_after_crash = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["source", "contact", "channel"],
                                               name="outbox_once_per_source")]
        indexes = [
            # the claim reads one state's due rows in (next_attempt_at, id) order
            models.Index(fields=["state", "next_attempt_at", "id"], name="outbox_due"),
            models.Index(fields=["contact", "sent_at"]),
            models.Index(fields=["broadcast", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.to_address} ({self.state})"
