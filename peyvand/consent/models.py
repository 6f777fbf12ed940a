"""Permission: the consent ledger and what is derived from it, topics, sign-up forms.

`ConsentChange` is the ledger: append-only, the only truth. `ConsentState` is a cache of the
ledger folded per (contact, channel, topic), written only by `consent.ledger.append` in the
same transaction as the rows it derives from. `Suppression` is a view of that cache.

Over ~400 lines on purpose: every table of the permission floor, in Django's one models
module per app. The ledger, its cache and the suppressions derived from it, and the topics
and forms they point to, are read together.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from peyvand.contacts.models import Contact, CustomField


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    DIRECT_MAIL = "direct_mail", _("Direct mail")
    PHONE = "phone", _("Phone calls")


class Frequency(models.TextChoices):
    # Ordered from most to least contact: staff may only move a preference down this list.
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    ALERTS_ONLY = "alerts_only", _("Alerts only")


class Format(models.TextChoices):
    HTML = "html", _("HTML")
    TEXT = "text", _("Plain text")


class Action(models.TextChoices):
    OPT_IN = "opt_in", _("Opted in")
    CONFIRM = "confirm", _("Confirmed")
    OPT_OUT = "opt_out", _("Opted out")
    PREFERENCE_CHANGE = "preference_change", _("Preference changed")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")


class Source(models.TextChoices):
    FORM = "form", _("Sign-up form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    STAFF = "staff", _("Staff")
    SMS_KEYWORD = "sms_keyword", _("SMS keyword")
    BOUNCE = "bounce", _("Bounce")
    COMPLAINT = "complaint", _("Complaint")
    # The person's own acts through a signed link.
    PREFERENCES = "preferences", _("Preference centre")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    ONE_CLICK = "one_click", _("One-click unsubscribe")


class Status(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    IN = "in", _("Subscribed")
    OUT = "out", _("Unsubscribed")


class SuppressionReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("Opted out")
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Complaint")


# Why people leave or change: unsubscribe-page choices, then what other sources record.
REASON_LABELS = {
    "too_many": _("Too many messages"),
    "not_relevant": _("Not relevant to me"),
    "never_signed_up": _("I never signed up"),
    "other": _("Other"),
    "sms_stop": _("SMS stop word"),
    "complaint": _("Spam complaint"),
    "one_click": _("One-click unsubscribe"),
    "preferences": _("Preference centre"),
    "staff": _("Recorded by staff"),
    "hard_bounce": _("Hard bounce"),
    "import": _("Unsubscribed in another tool (import)"),
    "unspecified": _("Not given"),
}


class IncentiveKind(models.TextChoices):
    NONE = "none", _("None")
    FREE = "free", _("Free (a gift or content)")
    WIN = "win", _("Win (a prize draw)")
    SAVE = "save", _("Save (a discount)")


class IdentityRule(models.TextChoices):
    EMAIL = "email", _("E-mail address")
    PHONE = "phone", _("Mobile number")
    EITHER = "either", _("E-mail address or mobile number")


class Topic(models.Model):
    """What a message is about (news, products, offers, events …), defined by the owner."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name_fa = models.CharField(_("name (Persian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    default_opt_in = models.BooleanField(_("ticked by default on sign-up forms"), default=False)
    default_frequency = models.CharField(_("default frequency"), max_length=16,
                                         choices=Frequency.choices, default=Frequency.MONTHLY)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.key

    def name(self, language: str) -> str:
        return self.name_fa if language == "fa" else self.name_en


class SignupForm(models.Model):
    """A sign-up form the owner builds: hosted page, embeddable snippet and API endpoint."""

    slug = models.SlugField(_("address name"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    title_fa = models.CharField(_("title (Persian)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    identity = models.CharField(_("required contact detail"), max_length=8,
                                choices=IdentityRule.choices, default=IdentityRule.EMAIL)
    ask_first_name = models.BooleanField(_("ask for the first name"), default=False)
    ask_last_name = models.BooleanField(_("ask for the last name"), default=False)
    custom_fields = models.ManyToManyField(CustomField, blank=True, related_name="+",
                                           verbose_name=_("custom fields asked"))
    topics = models.ManyToManyField(Topic, related_name="forms", verbose_name=_("topics offered"))
    channels = models.JSONField(_("channels offered"), default=list)
    incentive_kind = models.CharField(_("incentive"), max_length=8, choices=IncentiveKind.choices,
                                      default=IncentiveKind.NONE)
    incentive_fa = models.CharField(_("incentive text (Persian)"), max_length=300, blank=True)
    incentive_en = models.CharField(_("incentive text (English)"), max_length=300, blank=True)
    active = models.BooleanField(_("accepting sign-ups"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.slug

    def title(self, language: str) -> str:
        return self.title_fa if language == "fa" else self.title_en

    def incentive(self, language: str) -> str:
        if self.incentive_kind == IncentiveKind.NONE:
            return ""
        return self.incentive_fa if language == "fa" else self.incentive_en

    def current_text(self, language: str) -> ConsentText | None:
        return self.texts.filter(language=language).order_by("-version").first()


class ConsentText(models.Model):
    """One version of the consent wording of a form in one language; never edited."""

    form = models.ForeignKey(SignupForm, on_delete=models.PROTECT, related_name="texts")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["form", "language", "-version"]
        constraints = [models.UniqueConstraint(fields=["form", "language", "version"],
                                               name="consent_text_version_once")]

    def __str__(self) -> str:
        return f"{self.form_id}/{self.language}/v{self.version}"


class Attestation(models.Model):
    """What an owner declared when importing subscribers from another tool: that these
    people gave their consent there. Every ledger row of that import points here, so the
    proof names who attested what, when, for which file. Never edited."""

    text = models.TextField()
    evidence = models.CharField(max_length=300, blank=True)  # the tool, list, export …
    filename = models.CharField(max_length=255, blank=True)
    attested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150)  # still names them after the user is gone
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.created_at:%Y-%m-%d}"


class LedgerImmutable(Exception):
    """Something tried to change or delete a consent ledger row."""


# Keys of ConsentChange.details holding what someone typed (a staff note, the person's own
# reason or SMS words): erasure removes them with the IP and user agent. Codes, dates and
# ids stay as proof. A new key holding typed text belongs here.
FREE_TEXT_DETAILS = ("note", "reason_text", "keyword")


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutable("the consent ledger is append-only")

    def delete(self):
        raise LedgerImmutable("the consent ledger is append-only")

    # The two sanctioned rewrites, used only by consent.ledger: the same person's rows after a
    # merge, and erasure of what identifies a device.
    def _reassign(self, contact_id: int) -> int:
        return super().update(contact_id=contact_id)

    def _anonymise(self) -> int:
        count = super().update(ip=None, user_agent="")
        for pk, details in self.values_list("pk", "details"):
            kept = {k: v for k, v in (details or {}).items() if k not in FREE_TEXT_DETAILS}
            if kept != (details or {}):
                models.QuerySet.update(self.filter(pk=pk), details=kept)
        return count


class ConsentChange(models.Model):
    """One change of consent, as it happened: the ledger. Append-only."""

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="consent_changes")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")  # null: the channel as a whole, every topic
    action = models.CharField(max_length=24, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    form = models.ForeignKey(SignupForm, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    text = models.ForeignKey(ConsentText, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    # An import: the owner's attestation that the consent was given elsewhere.
    attestation = models.ForeignKey(Attestation, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField(db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["contact", "at", "id"]),
                   models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} #{self.contact_id} {self.channel} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise LedgerImmutable("the consent ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutable("the consent ledger is append-only")


class ConsentState(models.Model):
    """The ledger folded per (contact, channel, topic); rebuilt by replaying the ledger."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_states")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices)
    frequency = models.CharField(max_length=16, choices=Frequency.choices, blank=True)
    format = models.CharField(max_length=8, choices=Format.choices, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    # Set on the channel row by an opt-out, hard bounce or complaint; only the person's own
    # confirmed opt-in (or SMS 12 after their own SMS stop) clears it.
    suppression = models.CharField(max_length=16, choices=SuppressionReason.choices, blank=True)
    out_source = models.CharField(max_length=16, blank=True)  # source of the last opt-out
    form = models.ForeignKey(SignupForm, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")  # where the person joined
    confirmed_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField()
    last_change = models.ForeignKey(ConsentChange, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["contact", "channel", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"],
                                    condition=Q(topic__isnull=True),
                                    name="consent_state_channel_once"),
            models.UniqueConstraint(fields=["contact", "channel", "topic"],
                                    condition=Q(topic__isnull=False),
                                    name="consent_state_topic_once"),
        ]
        indexes = [models.Index(fields=["channel", "topic", "status"])]

    def __str__(self) -> str:
        return f"#{self.contact_id} {self.channel}/{self.topic_id or '*'} {self.status}"


class SuppressionManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(topic__isnull=True).exclude(suppression="")


class Suppression(ConsentState):
    """Channels a contact may not be sent marketing on, with the reason; from the ledger."""

    objects: ClassVar[SuppressionManager] = SuppressionManager()  # type: ignore[assignment]

    class Meta:
        proxy = True
        ordering = ["-changed_at", "-id"]


class ContactKey(models.Model):
    """A random key standing for a contact in public links, so no link shows an id.

    Deleted on erasure (every link of that person stops working); moved on merge.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.contact_id}"


class LinkReason(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Signed up again while subscribed")
    STAFF = "staff", _("Sent by staff at the person's request")


class LinkSent(models.Model):
    """A preference link mailed to the person outside a message. Its token carries `nonce`,
    so every change made through it says in the ledger how the link reached them."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    reason = models.CharField(max_length=16, choices=LinkReason.choices)
    sent_by = models.CharField(max_length=150, blank=True)  # the staff member, if any
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.contact_id} {self.reason}"


class Signup(models.Model):
    """One sign-up form submission: which form and incentive brought whom, and whether they
    confirmed. Its consent rows are in the ledger."""

    form = models.ForeignKey(SignupForm, on_delete=models.PROTECT, related_name="signups")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)  # stands for the sign-up in links
    incentive_kind = models.CharField(max_length=8, choices=IncentiveKind.choices)
    incentive_text = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    channels = models.JSONField(default=list)
    topics = models.JSONField(default=list)  # topic keys
    via = models.CharField(max_length=8, default="page")  # page / api
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Mobile sign-ups: a 6-digit code, only its HMAC kept.
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    codes_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.form_id}:{self.contact_id}"


class SmsInbound(models.Model):
    """An SMS gateway allowed to post incoming messages (stop words) to its secret URL."""

    name = models.SlugField(max_length=64, unique=True)
    token = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ErasedOptOut(models.Model):
    """An address that left a channel here (unsubscribe, bounce, complaint) and whose person
    was then erased: only a digest of it, so that no import subscribes it again (the person's
    own sign-up still can). Holds no contact and no address."""

    digest = models.CharField(max_length=64)  # consent.erased.address_digest
    channel = models.CharField(max_length=16, choices=Channel.choices)
    left_at = models.DateTimeField()  # when the channel was first left

    class Meta:
        constraints = [models.UniqueConstraint(fields=["digest", "channel"],
                                               name="erased_opt_out_once")]

    def __str__(self) -> str:
        return f"{self.channel} {self.digest[:8]}…"
