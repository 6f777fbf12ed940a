"""Every write of the permission floor. Consent itself changes only through `ledger.append`.

Four kinds of writers:
- the person, through a sign-up form, a confirmation, the preference centre, an unsubscribe
  link or an SMS keyword (no Actor: the signed link or the form is their authority);
- staff (Actor with consent.reduce), who may only ever reduce contact, and may have the
  person's preference link mailed to them (consent.send_link), never see it;
- an owner importing subscribers from another tool with an attestation (consent.import),
  which only ever fills gaps;
- the system (bounces, complaints) for messaging to call.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.text import slugify
from django.utils.translation import gettext as _

from peyvand.base import ratelimit
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import (
    InvalidValue,
    ascii_digits,
    normalise_email,
    normalise_phone,
    normalise_text,
)
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.base.signing import LinkInvalid, make_token, read_token
from peyvand.consent import ledger
from peyvand.consent.ledger import Change
from peyvand.consent.links import preferences_token
from peyvand.consent.models import (
    Action,
    Attestation,
    Channel,
    ConsentChange,
    ConsentState,
    ConsentText,
    Format,
    Frequency,
    IdentityRule,
    IncentiveKind,
    LinkReason,
    LinkSent,
    Signup,
    SignupForm,
    SmsInbound,
    Source,
    Status,
    SuppressionReason,
    Topic,
)
from peyvand.consent.queries import CHANNEL_IDENTITY, PROVES
from peyvand.contacts.actions import (
    ContactInvalid,
    check_contact_data,
    do_create_contact,
    do_update_contact,
    do_upsert_contact,
    find_owners,
)
from peyvand.contacts.fields import parse_field_value
from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity
from peyvand.contacts.timeline import append_event

FREQUENCY_ORDER: list[str] = [Frequency.WEEKLY, Frequency.MONTHLY, Frequency.QUARTERLY,
                   Frequency.ALERTS_ONLY]
PAUSE_WEEKS = (2, 4, 8, 12)
UNSUBSCRIBE_REASONS = ("too_many", "not_relevant", "never_signed_up", "other")

CONFIRM_MAX_AGE = dt.timedelta(days=7)
CODE_TTL = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
CODES_PER_SIGNUP = 3
STARTED_MAX_AGE = dt.timedelta(days=1)
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConsentInvalid(ContactInvalid):
    """Input the permission floor refuses; `errors` maps each field to the reason."""

    def __str__(self) -> str:
        return " ".join(str(v) for v in self.errors.values())


class ConsentRefused(ConsentInvalid):
    """A change that is not the actor's to make (staff adding consent back, …)."""

    def __init__(self, message: str, field_name: str = "action"):
        super().__init__({field_name: message})


class SignupThrottled(Exception):
    """Too many sign-ups from one address in the window; answer 429."""


# --- topics -------------------------------------------------------------------------------------

def _text(raw: dict, name: str, limit: int, errors: dict, *, required: bool = False) -> str:
    value = normalise_text(str(raw.get(name) or ""))
    if required and not value:
        errors[name] = _("This field is required.")
    elif len(value) > limit:
        errors[name] = _("At most %(count)d characters.") % {"count": limit}
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


@transaction.atomic
def do_save_topic(actor: Actor, raw: dict[str, Any], topic: Topic | None = None) -> Topic:
    """Create a topic, or change the one given (only the keys present in `raw`)."""
    require(actor, "forms.manage")
    errors: dict[str, str] = {}
    given = (lambda name: name in raw) if topic else (lambda name: True)
    values: dict[str, Any] = {}
    if given("key"):
        key = str(raw.get("key") or "").strip().lower()
        if not _KEY.match(key):
            errors["key"] = _("Use lower-case Latin letters, digits, - and _ (e.g. offers).")
        elif Topic.objects.filter(key=key).exclude(pk=topic.pk if topic else 0).exists():
            errors["key"] = _("A topic with this key exists already.")
        values["key"] = key
    for name in ("name_fa", "name_en"):
        if given(name):
            values[name] = _text(raw, name, 100, errors, required=True)
    if given("description"):
        values["description"] = _text(raw, "description", 300, errors)
    if given("default_frequency"):
        frequency = str(raw.get("default_frequency") or Frequency.MONTHLY)
        if frequency not in Frequency.values:
            errors["default_frequency"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(Frequency.values)}
        values["default_frequency"] = frequency
    for name in ("default_opt_in", "active"):
        if name in raw:
            values[name] = _flag(raw[name])
    if "position" in raw:
        try:
            values["position"] = max(0, int(ascii_digits(str(raw["position"]))))
        except ValueError:
            errors["position"] = _("A whole number.")
    if errors:
        raise ConsentInvalid(errors)
    if topic is None:
        topic = Topic.objects.create(**values)
    else:
        for name, value in values.items():
            setattr(topic, name, value)
        topic.save()
    return topic


@transaction.atomic
def do_delete_topic(actor: Actor, topic: Topic) -> str:
    """Delete a topic nobody ever consented to; one with history is only retired."""
    require(actor, "forms.manage")
    used = ConsentChange.objects.filter(topic=topic).exists() or topic.forms.exists()
    if used:
        topic.active = False
        topic.save(update_fields=["active"])
        return "retired"
    topic.delete()
    return "deleted"


# --- sign-up forms ------------------------------------------------------------------------------

def default_consent_text(language: str) -> str:
    with translation.override(language):
        return _("I want to receive the messages I chose above. I can change my choices or "
                 "unsubscribe at any time with the link in every message.")


def _keys(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value)
    return [str(v).strip() for v in value if str(v).strip()]


@transaction.atomic
def do_save_form(actor: Actor, raw: dict[str, Any], form: SignupForm | None = None) -> SignupForm:
    """Create or change a sign-up form. A changed consent text becomes a new version; the
    versions shown before stay, referenced by the consents given under them."""
    require(actor, "forms.manage")
    errors: dict[str, str] = {}
    given = (lambda name: name in raw) if form else (lambda name: True)
    values: dict[str, Any] = {}
    if given("slug"):
        slug = slugify(str(raw.get("slug") or raw.get("name") or ""))[:64]
        if not slug:
            errors["slug"] = _("Give the form an address name (Latin letters, e.g. spring).")
        elif SignupForm.objects.filter(slug=slug).exclude(pk=form.pk if form else 0).exists():
            errors["slug"] = _("Another form uses this address name.")
        values["slug"] = slug
    if given("name"):
        values["name"] = _text(raw, "name", 100, errors, required=True)
    for name in ("title_fa", "title_en"):
        if given(name):
            values[name] = _text(raw, name, 200, errors, required=True)
    if given("identity"):
        identity = str(raw.get("identity") or IdentityRule.EMAIL)
        if identity not in IdentityRule.values:
            errors["identity"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(IdentityRule.values)}
        values["identity"] = identity
    for name in ("ask_first_name", "ask_last_name", "active"):
        if name in raw:
            values[name] = _flag(raw[name])
    if given("incentive_kind"):
        kind = str(raw.get("incentive_kind") or IncentiveKind.NONE)
        if kind not in IncentiveKind.values:
            errors["incentive_kind"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(IncentiveKind.values)}
        values["incentive_kind"] = kind
    for name in ("incentive_fa", "incentive_en"):
        if given(name):
            values[name] = _text(raw, name, 300, errors)
    if values.get("incentive_kind", getattr(form, "incentive_kind", "none")) != "none":
        for name in ("incentive_fa", "incentive_en"):
            if not values.get(name, getattr(form, name, "")):
                errors[name] = _("Say what the incentive is, in both languages.")
    if given("channels"):
        channels = list(dict.fromkeys(_keys(raw.get("channels"))))
        wrong = [c for c in channels if c not in Channel.values]
        if wrong or not channels:
            errors["channels"] = _("Offer at least one channel of: %(choices)s.") % {
                "choices": ", ".join(Channel.values)}
        values["channels"] = [c for c in Channel.values if c in channels]
    identity = values.get("identity", getattr(form, "identity", IdentityRule.EMAIL))
    channels = values.get("channels", getattr(form, "channels", []))
    if identity == IdentityRule.EMAIL and any(c in (Channel.SMS, Channel.PHONE)
                                              for c in channels):
        errors.setdefault("channels", _("SMS and phone calls need a mobile number: let the "
                                        "form ask for an e-mail address or a mobile number."))
    if identity == IdentityRule.PHONE and Channel.EMAIL in channels:
        errors.setdefault("channels", _("E-mail needs an e-mail address: let the form ask for "
                                        "an e-mail address or a mobile number."))
    topics = None
    if given("topics"):
        keys = _keys(raw.get("topics"))
        topics = list(Topic.objects.filter(key__in=keys, active=True))
        missing = sorted(set(keys) - {t.key for t in topics})
        if missing:
            errors["topics"] = _("There is no active topic “%(key)s”.") % {"key": missing[0]}
        elif not topics:
            errors["topics"] = _("Offer at least one topic.")
    custom = None
    if given("custom_fields"):
        keys = _keys(raw.get("custom_fields"))
        custom = list(CustomField.objects.filter(key__in=keys))
        missing = sorted(set(keys) - {f.key for f in custom})
        if missing:
            errors["custom_fields"] = _("There is no custom field “%(key)s”.") % {
                "key": missing[0]}
    texts = {}
    for language in ("fa", "en"):
        name = f"consent_text_{language}"
        if given(name):
            text = str(raw.get(name) or "").replace("\x00", "").strip()
            if not text:
                errors[name] = _("The consent text is required in both languages.")
            elif len(text) > 2000:
                errors[name] = _("At most %(count)d characters.") % {"count": 2000}
            texts[language] = text
    if errors:
        raise ConsentInvalid(errors)

    if form is None:
        form = SignupForm.objects.create(**values)
    else:
        for name, value in values.items():
            setattr(form, name, value)
        form.save()
    if topics is not None:
        form.topics.set(topics)
    if custom is not None:
        form.custom_fields.set(custom)
    for language, text in texts.items():
        current = form.current_text(language)
        if current is None or current.text != text:
            ConsentText.objects.create(form=form, language=language, text=text,
                                       version=(current.version + 1) if current else 1,
                                       created_by=actor.label)
    return form


@transaction.atomic
def do_delete_form(actor: Actor, form: SignupForm) -> str:
    """Delete a form nobody signed up with; one with sign-ups is only closed."""
    require(actor, "forms.manage")
    if form.signups.exists() or ConsentChange.objects.filter(form=form).exists():
        form.active = False
        form.save(update_fields=["active"])
        return "closed"
    form.texts.all().delete()
    form.delete()
    return "deleted"


# --- submissions --------------------------------------------------------------------------------

@dataclass
class SignupRequest:
    """Where a submission came from, as the page or API handler saw it."""

    ip: str | None = None
    user_agent: str = ""
    language: str = "fa"
    started: str = ""  # the signed timestamp the form was shown with
    honeypot: str = ""
    via: str = "page"
    link_base: str = ""  # scheme://host for links in the confirmation
    text_version: int | None = None  # the consent text version the form showed
    actor: Actor | None = None  # the API token's user, when a shop's system submits it


@dataclass
class SignupResult:
    # For the record, never for the caller's answer: "pending", "subscribed" (nothing new to
    # confirm), "ignored" (spam, or every address given is someone else's).
    status: str
    signup: Signup | None = None
    contact: Contact | None = None
    email_sent: bool = False  # an e-mail address was given for a channel it proves
    code_token: str = ""  # for the page/API that asks for the SMS code
    code_to: str = ""
    pending: list[str] = field(default_factory=list)


def start_token(form: SignupForm) -> str:
    """The signed moment a form was shown; submissions need it (minimum fill time)."""
    return make_token("signup_started", {"f": form.slug, "t": round(time.time(), 3)})


def check_rate(ip: str | None) -> None:
    """Count one submission from `ip`; SignupThrottled past the limit in the window."""
    limit = settings.CONSENT_SIGNUP_LIMIT
    window = settings.CONSENT_SIGNUP_WINDOW
    if ratelimit.hit("consent:signup:ip", ip or "-", window) > limit:
        raise SignupThrottled(_("Too many sign-ups from your network. Please try again later."))


def check_started(form: SignupForm, token: str) -> None:
    """Refuse a submission without the form's signed start time, or sent too fast."""
    try:
        data = read_token("signup_started", token, STARTED_MAX_AGE)
    except LinkInvalid:
        raise ConsentInvalid({"form": _("Please check your details and send the form again.")})
    if data.get("f") != form.slug:
        raise ConsentInvalid({"form": _("Please check your details and send the form again.")})
    elapsed = time.time() - float(data.get("t") or 0)
    if elapsed < settings.CONSENT_MIN_FILL_SECONDS:
        raise ConsentInvalid({"form": _("That was quick! Please check your details and send "
                                        "the form again.")})


@dataclass
class _Clean:
    email: str = ""
    phone: str = ""
    scalars: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    topics: list[Topic] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


def offered_channels(form: SignupForm) -> list[str]:
    return [c for c in Channel.values if c in (form.channels or [])]


def check_signup(form: SignupForm, raw: dict[str, Any]) -> _Clean:
    """Validate a submission against the form; ConsentInvalid names every wrong field."""
    errors: dict[str, str] = {}
    clean = _Clean()
    email, phone = str(raw.get("email") or "").strip(), str(raw.get("phone") or "").strip()
    if email:
        try:
            clean.email = normalise_email(email, "email")
        except InvalidValue as exc:
            errors["email"] = str(exc.message)
    if phone:
        try:
            clean.phone = normalise_phone(phone, "phone")
        except InvalidValue as exc:
            errors["phone"] = str(exc.message)
    if form.identity == IdentityRule.EMAIL and not email:
        errors["email"] = _("Your e-mail address is required.")
    elif form.identity == IdentityRule.PHONE and not phone:
        errors["phone"] = _("Your mobile number is required.")
    elif form.identity == IdentityRule.EITHER and not email and not phone:
        errors["email"] = _("Give an e-mail address or a mobile number.")
    for name, asked in (("first_name", form.ask_first_name), ("last_name", form.ask_last_name)):
        if asked and raw.get(name):
            value = normalise_text(str(raw[name]))
            if len(value) > 150:
                errors[name] = _("At most %(count)d characters.") % {"count": 150}
            clean.scalars[name] = value
    given_fields = raw.get("fields") or {}
    if not isinstance(given_fields, dict):
        errors["fields"] = _("Fields must be an object of key: value.")
        given_fields = {}
    allowed = {f.key: f for f in form.custom_fields.all()}
    for key, value in given_fields.items():
        if key not in allowed:
            errors[f"fields.{key}"] = _("This form does not ask for “%(key)s”.") % {"key": key}
            continue
        try:
            parsed = parse_field_value(allowed[key], value)
        except InvalidValue as exc:
            errors[f"fields.{key}"] = str(exc.message)
            continue
        if parsed is not None:
            clean.fields[key] = parsed

    offered_topics = list(form.topics.filter(active=True))
    if raw.get("topics") is None:
        clean.topics = [t for t in offered_topics if t.default_opt_in]
    else:
        wanted = set(_keys(raw.get("topics")))
        unknown = wanted - {t.key for t in offered_topics}
        if unknown:
            errors["topics"] = _("This form does not offer “%(key)s”.") % {
                "key": sorted(unknown)[0]}
        clean.topics = [t for t in offered_topics if t.key in wanted]
    if not clean.topics and "topics" not in errors:
        errors["topics"] = _("Choose at least one topic.")

    offered = offered_channels(form)
    wanted_channels = offered if raw.get("channels") is None else _keys(raw.get("channels"))
    unknown = set(wanted_channels) - set(offered)
    if unknown:
        errors["channels"] = _("This form does not offer “%(key)s”.") % {
            "key": sorted(unknown)[0]}
    have: dict[str, bool] = {Identity.Kind.EMAIL: bool(email), Identity.Kind.PHONE: bool(phone)}
    chosen = [c for c in offered if c in wanted_channels]
    # A ticked channel without its address is dropped, as long as another one remains.
    reachable = [c for c in chosen if c not in CHANNEL_IDENTITY or have[CHANNEL_IDENTITY[c]]]
    if not chosen and "channels" not in errors:
        errors["channels"] = _("Choose at least one way to hear from us.")
    elif not reachable and "channels" not in errors:
        needs_phone = any(CHANNEL_IDENTITY.get(c) == Identity.Kind.PHONE for c in chosen)
        errors["channels"] = (_("Give a mobile number for SMS or calls.") if needs_phone
                              else _("Give an e-mail address to receive e-mail."))
    clean.channels = reachable
    if errors:
        raise ConsentInvalid(errors)
    return clean


def _signup_contact(form: SignupForm, clean: _Clean, language: str) -> Contact:
    """The contact a submission is about: the one holding its address, else a new one.

    Public input is not trusted to change a known person: it fills blanks only, and an
    address that belongs to someone else is left out rather than merging two people.
    """
    actor = Actor.system(f"form:{form.slug}")
    keys = []
    if clean.email:
        keys.append((Identity.Kind.EMAIL, "", clean.email))
    if clean.phone:
        keys.append((Identity.Kind.PHONE, "", clean.phone))
    owners = find_owners(keys)
    owner = next((owners[k] for k in keys if k in owners), None)
    if owner is None:
        raw: dict[str, Any] = {**clean.scalars, "language": language, "source": "form",
                               "fields": clean.fields}
        if clean.email:
            raw["email"] = clean.email
        if clean.phone:
            raw["phone"] = clean.phone
        return do_create_contact(actor, check_contact_data(raw, require_identity=True))
    contact = Contact.objects.get(pk=owner)
    raw = {name: value for name, value in clean.scalars.items()
           if value and not getattr(contact, name)}
    for kind, _source, value in keys:
        if owners.get((kind, "", value)) in (None, owner):
            raw.setdefault("emails" if kind == Identity.Kind.EMAIL else "phones", []).append(value)
        else:  # someone else's address: not attached, its channels are not signed up
            clean.channels = [c for c in clean.channels if CHANNEL_IDENTITY.get(c) != kind]
    have = set(FieldValue.objects.filter(contact=contact).values_list("field__key", flat=True))
    fields_ = {k: v for k, v in clean.fields.items() if k not in have}
    if fields_:
        raw["fields"] = fields_
    return do_upsert_contact(actor, check_contact_data(raw)).contact


def _code_hash(nonce: str, code: str) -> str:
    return salted_hmac("peyvand.consent.code", f"{nonce}:{code}").hexdigest()


def _throttled_address(address: str) -> bool:
    """At most a few confirmations a day to one address, whoever asks for them."""
    return ratelimit.hit("consent:confirm", address, 24 * 3600) \
        > settings.CONSENT_CONFIRMATIONS_PER_DAY


def confirm_path(signup: Signup) -> str:
    return reverse("consent:confirm", args=[make_token("confirm", {"n": signup.nonce})])


def code_token(signup: Signup) -> str:
    return make_token("signup_code", {"n": signup.nonce})


def _send_code(signup: Signup, contact: Contact, to: str, language: str, *,
               notice: bool = False) -> None:
    """Text a new code for the sign-up; `notice`: the number is subscribed already, and the
    text says so (the code lets the page that asks for it go on as for anyone)."""
    from peyvand.consent.tasks import send_confirmation_sms_task

    code = f"{secrets.randbelow(10**6):06d}"
    signup.code_hash = _code_hash(signup.nonce, code)
    signup.code_expires_at = timezone.now() + CODE_TTL
    signup.code_attempts = 0
    signup.codes_sent += 1
    signup.save(update_fields=["code_hash", "code_expires_at", "code_attempts", "codes_sent"])
    with translation.override(language):
        if notice:
            text = _("You are already subscribed; nothing needs confirming. Your code: "
                     "%(code)s") % {"code": code}
        else:
            text = _("Your confirmation code: %(code)s") % {"code": code}
    key = f"signup:{signup.pk}:code:{signup.codes_sent}"
    enqueue_on_commit(send_confirmation_sms_task, contact.pk, text, to, key, notice)


@transaction.atomic
def signup_changes(signup: Signup, topics: list[Topic],
                   subscribed: set[tuple[str, int | None]] | None = None) -> list[Change]:
    """The opt-ins a sign-up records: each channel it names, and each topic on each.

    `subscribed`: (channel, topic id) rows the person holds already; their opt-in is
    recorded without a format or frequency, so a form filled in by anyone cannot change
    what the person chose."""
    subscribed = subscribed or set()
    common: dict[str, Any] = {"signup": signup.pk, "incentive": signup.incentive_kind,
                              "language": signup.language}
    if signup.incentive_text:
        common["incentive_text"] = signup.incentive_text
    changes = []
    for channel in signup.channels:
        channel_details = dict(common)
        if channel == Channel.EMAIL and (channel, None) not in subscribed:
            channel_details["format"] = Format.HTML
        changes.append(Change(Action.OPT_IN, channel, None, channel_details))
        for topic in topics:
            topic_details = dict(common)
            if (channel, topic.pk) not in subscribed:
                topic_details["frequency"] = topic.default_frequency
            changes.append(Change(Action.OPT_IN, channel, topic.pk, topic_details))
    return changes


def _pending_channels(contact_id: int, channels: list[str]) -> list[str]:
    """Channels with something awaiting the person's confirmation: the channel, or a topic
    added to a channel they are subscribed to."""
    return sorted(set(ConsentState.objects.filter(
        contact_id=contact_id, channel__in=channels, status=Status.PENDING)
        .values_list("channel", flat=True)))


def do_submit_signup(form: SignupForm, raw: dict[str, Any], request: SignupRequest) \
        -> SignupResult:
    """A person signs up through a form (hosted page, embedded snippet or API).

    Spam checks first (rate per IP, honeypot, minimum fill time), then validation; consent is
    recorded as pending and a confirmation goes out after commit. Nothing is sent to them
    but that confirmation until they confirm.

    What the caller learns depends only on what was typed, never on who is subscribed
    (`SignupResult.answer`): someone already subscribed gets, instead of a confirmation, an
    e-mail saying so with their preference link (or the SMS code, saying so), and an address
    that belongs to another person's record is left alone without saying it.
    """
    if not form.active:
        raise ConsentInvalid({"form": _("This form no longer accepts sign-ups.")})
    check_rate(request.ip)
    if request.honeypot:
        return SignupResult(status="ignored")  # a bot: answer as if it worked, record nothing
    check_started(form, request.started)
    clean = check_signup(form, raw)
    language = request.language if request.language in ("fa", "en") else "fa"
    asked_channels = list(clean.channels)
    contact = _signup_contact(form, clean, language)
    wants_email = bool(clean.email and set(asked_channels) & PROVES[Identity.Kind.EMAIL])
    wants_code = bool(clean.phone and set(asked_channels) & {Channel.SMS, Channel.PHONE})
    if not clean.channels:
        # Every address given belongs to someone else's record: do not touch it, and answer
        # as for anyone (a code token that leads nowhere).
        return SignupResult(status="ignored", email_sent=wants_email,
                            code_token=make_token("signup_code", {
                                "n": secrets.token_urlsafe(16)}) if wants_code else "")
    text = form.current_text(language)
    if request.text_version and (text is None or text.version != request.text_version):
        # The page was shown with an older wording: that one is what the person agreed to.
        text = form.texts.filter(language=language, version=request.text_version).first() \
            or text
    incentive = form.incentive(language)
    signup = Signup.objects.create(
        form=form, contact=contact, nonce=secrets.token_urlsafe(16),
        incentive_kind=form.incentive_kind, incentive_text=incentive, language=language,
        channels=clean.channels, topics=[t.key for t in clean.topics], via=request.via,
        ip=request.ip or None)
    subscribed = {key for key, row in current_states(contact.pk).items()
                  if row.status == Status.IN}
    if request.actor is not None:
        # A sign-up a shop's system sent with its API token: the token's user answers for it.
        source, actor_label = Source.API, request.actor.label
    else:
        source, actor_label = Source.FORM, f"form:{form.slug}"
    ledger.append(contact, signup_changes(signup, clean.topics, subscribed), source=source,
                  actor_label=actor_label, form=form, text=text, ip=request.ip,
                  user_agent=request.user_agent, actor=request.actor,
                  provenance={"via": request.via})
    pending = _pending_channels(contact.pk, clean.channels)
    result = SignupResult(status="pending" if pending else "subscribed", signup=signup,
                          contact=contact, pending=pending)
    if not pending:
        Signup.objects.filter(pk=signup.pk).update(confirmed_at=timezone.now())
    if clean.email and set(clean.channels) & PROVES[Identity.Kind.EMAIL] \
            and not _throttled_address(clean.email):
        from peyvand.consent.tasks import (
            send_confirmation_email_task,
            send_subscribed_notice_task,
        )

        title = form.title(language)
        email = clean.email
        if set(pending) & PROVES[Identity.Kind.EMAIL]:
            link = request.link_base.rstrip("/") + confirm_path(signup)
            enqueue_on_commit(send_confirmation_email_task, contact.pk, link, language, email,
                              title, f"signup:{signup.pk}:link")
        else:
            sent = LinkSent.objects.create(contact=contact, nonce=secrets.token_urlsafe(16),
                                           reason=LinkReason.SUBSCRIBED)
            link = request.link_base.rstrip("/") + reverse(
                "consent:preferences", args=[preferences_token(contact.pk, sent.nonce)])
            enqueue_on_commit(send_subscribed_notice_task, contact.pk, link, language, email,
                              title, f"signup:{signup.pk}:notice")
    if clean.phone and set(clean.channels) & {Channel.SMS, Channel.PHONE}:
        if not _throttled_address(clean.phone):
            notice = not set(pending) & {Channel.SMS, Channel.PHONE}
            _send_code(signup, contact, clean.phone, language, notice=notice)
            result.code_to = clean.phone
        result.code_token = code_token(signup)
    result.email_sent = wants_email
    return result


# --- confirmation ---------------------------------------------------------------------------

@dataclass
class ConfirmResult:
    status: str  # "confirmed", "already", "nothing" (unsubscribed since, or nothing pending)
    signup: Signup
    channels: list[str] = field(default_factory=list)


def signup_for_token(purpose: str, token: str, max_age: dt.timedelta) -> Signup:
    """The sign-up a confirm/code token stands for; LinkInvalid when there is none."""
    data = read_token(purpose, token, max_age)
    signup = (Signup.objects.select_related("form", "contact")
              .filter(nonce=str(data.get("n") or "")).first())
    if signup is None or signup.contact.erased_at is not None:
        raise LinkInvalid
    return signup


def _confirm(signup: Signup, proven: str, *, ip: str | None, user_agent: str,
             at: dt.datetime | None = None) -> ConfirmResult:
    channels = [c for c in signup.channels if c in PROVES[proven]]
    pending = set(_pending_channels(signup.contact_id, channels))
    if not pending:
        if signup.confirmed_at:
            return ConfirmResult("already", signup)
        return ConfirmResult("nothing", signup)
    changes = [Change(Action.CONFIRM, c, None, {"signup": signup.pk, "by": proven})
               for c in channels if c in pending]
    # The person confirms, with the link or code only their address received.
    ledger.append(signup.contact, changes, source=Source.FORM, actor_label=PERSON,
                  form=signup.form, text=signup.form.current_text(signup.language), ip=ip,
                  user_agent=user_agent, at=at,
                  provenance={"link": "confirm" if proven == Identity.Kind.EMAIL else "code"})
    if signup.confirmed_at is None:
        signup.confirmed_at = at or timezone.now()
        signup.save(update_fields=["confirmed_at"])
    return ConfirmResult("confirmed", signup, sorted(pending))


@transaction.atomic
def do_confirm_email(token: str, *, ip: str | None = None, user_agent: str = "") \
        -> ConfirmResult:
    """The person opened the link in their confirmation e-mail and pressed the button."""
    signup = signup_for_token("confirm", token, CONFIRM_MAX_AGE)
    return _confirm(signup, Identity.Kind.EMAIL, ip=ip, user_agent=user_agent)


def do_confirm_code(token: str, code: str, *, ip: str | None = None, user_agent: str = "") \
        -> ConfirmResult:
    """The person typed the code we texted them (any digit script, spaces allowed)."""
    signup = signup_for_token("signup_code", token, STARTED_MAX_AGE)
    error = ""
    # A wrong try must count even though the call fails: commit it, then raise.
    with transaction.atomic():
        signup = Signup.objects.select_for_update(of=("self",)).select_related("form", "contact") \
            .get(pk=signup.pk)
        typed = re.sub(r"\s+", "", ascii_digits(str(code or "")))
        if not signup.code_hash or signup.code_attempts >= CODE_ATTEMPTS:
            error = _("This code can no longer be used. Ask for a new one.")
        elif signup.code_expires_at is None or signup.code_expires_at < timezone.now():
            error = _("This code has expired. Ask for a new one.")
        elif not constant_time_compare(_code_hash(signup.nonce, typed), signup.code_hash):
            signup.code_attempts += 1
            signup.save(update_fields=["code_attempts"])
            left = CODE_ATTEMPTS - signup.code_attempts
            error = (_("Wrong code. %(count)d tries left.") % {"count": left} if left > 0
                     else _("Wrong code, and no tries are left. Ask for a new one."))
        else:
            signup.code_hash = ""
            signup.save(update_fields=["code_hash"])
            return _confirm(signup, Identity.Kind.PHONE, ip=ip, user_agent=user_agent)
    raise ConsentInvalid({"code": error})


@transaction.atomic
def do_resend_code(token: str) -> Signup:
    signup = signup_for_token("signup_code", token, STARTED_MAX_AGE)
    signup = (Signup.objects.select_for_update(of=("self",)).select_related("contact")
              .get(pk=signup.pk))
    if signup.codes_sent >= CODES_PER_SIGNUP:
        raise ConsentInvalid({"code": _("No more codes can be sent for this sign-up. Sign up "
                                        "again later.")})
    phone = (Identity.objects.filter(contact=signup.contact, kind=Identity.Kind.PHONE)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    if not phone:
        raise LinkInvalid
    _send_code(signup, signup.contact, phone, signup.language)
    return signup


# --- the person's own changes (preference centre, unsubscribe, SMS keywords) ------------------

# Ledger rows the person made through a link only they were sent.
PERSON = "contact"


def current_states(contact_id: int) -> dict[tuple[str, int | None], ConsentState]:
    return {(s.channel, s.topic_id): s
            for s in ConsentState.objects.filter(contact_id=contact_id)}


def subscribed_channels(contact_id: int) -> list[str]:
    states = current_states(contact_id)
    return [c for c in Channel.values
            if (c, None) in states and states[(c, None)].status == Status.IN]


@transaction.atomic
def do_save_preferences(contact: Contact, *, topics: dict[int, str | None],
                        format: str | None = None, channels_off: list[str] | None = None,
                        language: str | None = None, ip: str | None = None,
                        user_agent: str = "", link: dict | None = None) -> int:
    """Apply the preference centre: `topics` maps each active topic id to the frequency
    wanted, or None for "not this topic". Acts on the channels the person is subscribed to.
    Returns how many ledger rows were written."""
    states = current_states(contact.pk)
    active = {t.pk: t for t in Topic.objects.filter(active=True)}
    changes: list[Change] = []
    offs = [c for c in (channels_off or []) if c in Channel.values]
    for channel in subscribed_channels(contact.pk):
        if channel in offs:
            changes.append(Change(Action.OPT_OUT, channel, None, {"reason": "preferences"}))
            continue
        for topic_id, topic in active.items():
            wanted = topics.get(topic_id)
            row = states.get((channel, topic_id))
            if wanted and wanted not in Frequency.values:
                raise ConsentInvalid({f"topic_{topic.key}": _("Unknown frequency.")})
            if wanted and (row is None or row.status != Status.IN):
                changes.append(Change(Action.OPT_IN, channel, topic_id, {"frequency": wanted}))
            elif wanted and row is not None and row.frequency != wanted:
                changes.append(Change(Action.PREFERENCE_CHANGE, channel, topic_id,
                                      {"frequency": wanted}))
            elif not wanted and row is not None and row.status != Status.OUT:
                changes.append(Change(Action.OPT_OUT, channel, topic_id,
                                      {"reason": "preferences"}))
        if channel == Channel.EMAIL and format:
            if format not in Format.values:
                raise ConsentInvalid({"format": _("Unknown format.")})
            if states[(channel, None)].format != format:
                changes.append(Change(Action.PREFERENCE_CHANGE, channel, None,
                                      {"format": format}))
    if changes:
        ledger.append(contact, changes, source=Source.PREFERENCES,
                      actor_label=PERSON, ip=ip, user_agent=user_agent, provenance=link)
    if language and language in ("fa", "en") and language != contact.language:
        do_update_contact(Actor.system("preference-centre"), contact, {"language": language})
    return len(changes)


def _active_channels(contact_id: int, channels: list[str] | None) -> list[str]:
    """Channels the person is subscribed to or awaiting confirmation on."""
    states = current_states(contact_id)
    wanted = channels or Channel.values
    return [c for c in Channel.values if c in wanted and (c, None) in states
            and states[(c, None)].status != Status.OUT]


@transaction.atomic
def do_pause(contact: Contact, weeks: int, *, source: str = Source.PREFERENCES,
             ip: str | None = None, user_agent: str = "", actor_label: str = "",
             link: dict | None = None) -> dt.datetime:
    """Pause every channel the person is on for `weeks` weeks."""
    if weeks not in PAUSE_WEEKS:
        raise ConsentInvalid({"weeks": _("Choose 2, 4, 8 or 12 weeks.")})
    until = timezone.now() + dt.timedelta(weeks=weeks)
    changes = [Change(Action.PAUSE, c, None, {"paused_until": until.isoformat(), "weeks": weeks})
               for c in _active_channels(contact.pk, None)]
    if not changes:
        raise ConsentInvalid({"weeks": _("You are not subscribed to anything to pause.")})
    ledger.append(contact, changes, source=source, actor_label=actor_label or PERSON,
                  ip=ip, user_agent=user_agent, provenance=link)
    return until


@transaction.atomic
def do_resume(contact: Contact, *, ip: str | None = None, user_agent: str = "",
              link: dict | None = None) -> int:
    """End a pause early: the person's own act, from the preference centre."""
    now = timezone.now()
    states = current_states(contact.pk)
    paused = {c: states[(c, None)].paused_until for c in Channel.values if (c, None) in states}
    changes = [Change(Action.RESUME, c, None, {}) for c, until in paused.items()
               if until is not None and until > now]
    if changes:
        ledger.append(contact, changes, source=Source.PREFERENCES, actor_label=PERSON,
                      ip=ip, user_agent=user_agent, provenance=link)
    return len(changes)


@transaction.atomic
def do_reduce_frequency(contact: Contact, *, ip: str | None = None, user_agent: str = "",
                        link: dict | None = None) -> int:
    """The opt-down offer "fewer messages": every topic one step less often."""
    changes = []
    for (channel, topic_id), row in current_states(contact.pk).items():
        if topic_id is None or row.status == Status.OUT:
            continue
        if row.frequency in (Frequency.WEEKLY, Frequency.MONTHLY):
            lower = FREQUENCY_ORDER[FREQUENCY_ORDER.index(row.frequency) + 1]
            changes.append(Change(Action.PREFERENCE_CHANGE, channel, topic_id,
                                  {"frequency": lower, "reason": "opt_down"}))
    if changes:
        ledger.append(contact, changes, source=Source.PREFERENCES, actor_label=PERSON,
                      ip=ip, user_agent=user_agent, provenance=link)
    return len(changes)


def can_reduce_frequency(contact_id: int) -> bool:
    return ConsentState.objects.filter(
        contact_id=contact_id, topic__isnull=False, status__in=[Status.IN, Status.PENDING],
        frequency__in=[Frequency.WEEKLY, Frequency.MONTHLY]).exists()


@transaction.atomic
def do_unsubscribe(contact: Contact, channels: list[str] | None = None, *,
                   source: str = Source.UNSUBSCRIBE, reason: str = "", reason_text: str = "",
                   campaign: str = "", ip: str | None = None, user_agent: str = "",
                   link: dict | None = None) -> list[str]:
    """The person leaves `channels` (None: every channel). Returns the channels recorded.

    Always recorded, whatever the person's consent was (none, awaiting confirmation, left
    already): the opt-out suppresses the channel until their own confirmed sign-up, so no
    import or staff member can subscribe them there again."""
    if reason and reason not in UNSUBSCRIBE_REASONS:
        raise ConsentInvalid({"reason": _("Unknown reason.")})
    details: dict[str, Any] = {}
    if reason:
        details["reason"] = reason
    text = normalise_text(reason_text or "")[:500]
    if text and reason == "other":
        details["reason_text"] = text
    if campaign:
        details["campaign"] = str(campaign)[:64]
    wanted = Channel.values if channels is None else channels
    left = [c for c in Channel.values if c in wanted]
    if left:
        ledger.append(contact, [Change(Action.OPT_OUT, c, None, details) for c in left],
                      source=source, actor_label=PERSON, ip=ip, user_agent=user_agent,
                      provenance=link)
    return left


_STOP = {"11", "لغو", "stop", "لغو11", "11لغو"}
_RESUME = {"12"}


def parse_sms_keyword(text: str) -> str | None:
    """"stop" for «۱۱», «11», «لغو», STOP, «لغو ۱۱» (any digits, spacing, case), "resume" for
    «۱۲»/12, else None."""
    compact = re.sub(r"\s+", "", normalise_text(ascii_digits(str(text or ""))).casefold())
    if compact in _STOP:
        return "stop"
    if compact in _RESUME:
        return "resume"
    return None


def sms_gateway(token: str) -> str | None:
    """The name of the gateway a hook token belongs to, or None."""
    if not token:
        return None
    configured = settings.PEYVAND_SMS_INBOUND_TOKEN
    if configured and constant_time_compare(configured, token):
        return "default"
    row = SmsInbound.objects.filter(token=token, active=True).values_list("name", flat=True)
    return row.first()


@transaction.atomic
def do_sms_inbound(gateway: str, sender: str, text: str) -> str:
    """An SMS a person sent us: stop or resume words change their SMS consent.

    Returns what happened: "opted_out", "resumed", "not_resumed" (their last opt-out was not
    their own SMS), "unchanged", "ignored" (not a keyword) or "unknown" (no such number)."""
    keyword = parse_sms_keyword(text)
    if keyword is None:
        return "ignored"
    try:
        phone = normalise_phone(sender, "from")
    except InvalidValue:
        return "unknown"
    owner = Identity.objects.filter(kind=Identity.Kind.PHONE, value=phone) \
        .values_list("contact_id", flat=True).first()
    if owner is None:
        return "unknown"
    contact = Contact.objects.get(pk=owner)
    row = ConsentState.objects.filter(contact=contact, channel=Channel.SMS,
                                      topic__isnull=True).first()
    label = f"sms:{gateway}"
    keyword_text = normalise_text(str(text))[:40]
    if keyword == "stop":
        # Recorded even when already out: the proof that they asked.
        was_out = row is not None and row.status == Status.OUT
        ledger.append(contact, [Change(Action.OPT_OUT, Channel.SMS, None,
                                       {"reason": "sms_stop", "keyword": keyword_text})],
                      source=Source.SMS_KEYWORD, actor_label=label)
        return "unchanged" if was_out else "opted_out"
    if row is None or row.status != Status.OUT:
        return "unchanged"
    if row.out_source != Source.SMS_KEYWORD:
        return "not_resumed"
    ledger.append(contact, [Change(Action.RESUME, Channel.SMS, None, {"keyword": keyword_text})],
                  source=Source.SMS_KEYWORD, actor_label=label)
    return "resumed"


# --- the system: bounces and complaints (messaging calls these) --------------------------------

@transaction.atomic
def record_bounce(contact_id: int, channel: str, hard: bool, details: dict | None = None) \
        -> ConsentChange | None:
    """A message could not be delivered. A hard bounce suppresses the channel; a soft one
    changes no consent (messaging retries) and returns None."""
    if not hard:
        return None
    rows = ledger.append(contact_id, [Change(Action.OPT_OUT, channel, None,
                                             {"reason": "hard_bounce", **(details or {})})],
                         source=Source.BOUNCE, actor_label="system:bounce")
    return rows[0]


@transaction.atomic
def record_complaint(contact_id: int, channel: str, details: dict | None = None) \
        -> ConsentChange:
    """The person marked a message as spam: suppress the channel."""
    rows = ledger.append(contact_id, [Change(Action.OPT_OUT, channel, None,
                                             {"reason": "complaint", **(details or {})})],
                         source=Source.COMPLAINT, actor_label="system:complaint")
    return rows[0]


# --- staff: reduce only --------------------------------------------------------------------------

STAFF_ACTIONS = ("opt_out", "pause", "preference_change")


def _refuse(message: str, field_name: str = "action") -> ConsentRefused:
    return ConsentRefused(message, field_name)


@transaction.atomic
def do_staff_change(actor: Actor, contact: Contact, raw: dict[str, Any]) -> ConsentChange:
    """A staff member records a change a person asked for (by phone, in the shop, …).

    Only toward less contact: an opt-out, a (longer) pause, a lower frequency or another
    format. Consent is never added back for someone; that is the person's own act.
    """
    require(actor, "consent.reduce")
    if contact.erased_at:
        raise ConsentInvalid({"contact": _("This contact was erased and cannot be changed.")})
    action = str(raw.get("action") or "")
    channel = str(raw.get("channel") or "")
    if action in ("opt_in", "confirm", "resume"):
        raise _refuse(_("Staff may only reduce contact. Subscribing someone, confirming or "
                        "resuming for them is the person's own act: send them the sign-up "
                        "form or their preference link."))
    if action not in STAFF_ACTIONS:
        raise _refuse(_("Choose one of: %(choices)s.") % {"choices": ", ".join(STAFF_ACTIONS)})
    if channel not in Channel.values:
        raise _refuse(_("Choose one of: %(choices)s.") % {"choices": ", ".join(Channel.values)},
                      "channel")
    topic = None
    if raw.get("topic"):
        topic = Topic.objects.filter(key=str(raw["topic"])).first()
        if topic is None:
            raise _refuse(_("There is no topic “%(key)s”.") % {"key": raw["topic"]}, "topic")
    states = current_states(contact.pk)
    row = states.get((channel, topic.pk if topic else None))
    note = normalise_text(str(raw.get("note") or ""))[:500]
    details: dict[str, Any] = {"reason": "staff", "via": actor.via}
    if note:
        details["note"] = note
    if action == "opt_out":
        if row is not None and row.status == Status.OUT:
            raise _refuse(_("Already unsubscribed: nothing to reduce."))
    elif row is None or row.status == Status.OUT:
        raise _refuse(_("There is no subscription here to change."))
    elif action == "pause":
        if topic is not None:
            raise _refuse(_("Pauses apply to a whole channel."), "topic")
        until = _pause_until(raw)
        if row.paused_until and until <= row.paused_until:
            raise _refuse(_("A pause can only be made longer by staff; ending it early is the "
                            "person's own act."), "paused_until")
        details["paused_until"] = until.isoformat()
    else:  # preference_change
        frequency = str(raw.get("frequency") or "")
        fmt = str(raw.get("format") or "")
        if not frequency and not fmt:
            raise _refuse(_("Give a frequency or a format."), "frequency")
        if frequency:
            if frequency not in Frequency.values:
                raise _refuse(_("Choose one of: %(choices)s.")
                              % {"choices": ", ".join(Frequency.values)}, "frequency")
            if topic is None:
                raise _refuse(_("Frequencies are chosen per topic."), "topic")
            current = row.frequency or Frequency.WEEKLY
            if FREQUENCY_ORDER.index(frequency) <= FREQUENCY_ORDER.index(current):
                raise _refuse(_("Staff may only make messages less frequent (now: %(now)s).")
                              % {"now": Frequency(current).label}, "frequency")
            details["frequency"] = frequency
        if fmt:
            if fmt not in Format.values or channel != Channel.EMAIL or topic is not None:
                raise _refuse(_("A format is chosen for the e-mail channel: html or text."),
                              "format")
            details["format"] = fmt
    if action == "pause":
        changes = [Change(Action.PAUSE, channel, None, details)]
    else:
        changes = [Change(action, channel, topic.pk if topic else None, details)]
    rows = ledger.append(contact, changes, source=Source.STAFF, actor_label=actor.label,
                         actor=actor)
    record_audit(actor, "consent.reduce", target_type="contact", target_id=contact.pk,
                 summary=f"{action} {channel}{'/' + topic.key if topic else ''}",
                 details={k: v for k, v in details.items() if k != "note"} | {
                     "action": action, "channel": channel,
                     "topic": topic.key if topic else None})
    return rows[0]


# At most this many preference links mailed by staff to one person a day.
LINKS_PER_DAY = 3


def mask_address(address: str) -> str:
    """a•••@example.com: enough for staff to recognise which address, not to copy it."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


@transaction.atomic
def do_send_preference_link(actor: Actor, contact: Contact) -> LinkSent:
    """Mail the person their own preference link, at their request (by phone, in the shop).

    Staff never see the link: it goes to the person's e-mail address through the outbound
    path, and whatever is changed through it is recorded as the person's act, through a link
    this member of staff had sent."""
    require(actor, "consent.send_link")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased_at:
        raise ConsentInvalid({"contact": _("This contact was erased and cannot be changed.")})
    from peyvand.consent.delivery import primary_address

    address = primary_address(contact, Identity.Kind.EMAIL)
    if not address:
        raise _refuse(_("This person has no e-mail address to send the link to."), "contact")
    states = current_states(contact.pk)
    email = states.get((Channel.EMAIL, None))
    if email is not None and email.suppression in (SuppressionReason.HARD_BOUNCE,
                                                   SuppressionReason.COMPLAINT):
        raise _refuse(_("Their e-mail address bounced or they marked our mail as spam: no "
                        "e-mail goes to it."), "contact")
    if not any(row.status != Status.OUT for (_c, topic_id), row in states.items()
               if topic_id is None):
        raise _refuse(_("This person is not subscribed to anything, so there is nothing to "
                        "change. To come back, they sign up again through a form."), "contact")
    since = timezone.now() - dt.timedelta(days=1)
    if LinkSent.objects.filter(contact=contact, reason=LinkReason.STAFF,
                               created_at__gte=since).count() >= LINKS_PER_DAY:
        raise _refuse(_("Their preference link was sent %(count)d times today already.")
                      % {"count": LINKS_PER_DAY}, "contact")
    sent = LinkSent.objects.create(contact=contact, nonce=secrets.token_urlsafe(16),
                                   reason=LinkReason.STAFF, sent_by=actor.label)
    from peyvand.consent.links import sent_preferences_url
    from peyvand.consent.tasks import send_preference_link_task

    link = sent_preferences_url(contact.pk, sent.nonce)
    language, key = contact.language, f"prefs-link:{sent.pk}"
    enqueue_on_commit(send_preference_link_task, contact.pk, link, language, address, key)
    masked = mask_address(address)
    record_audit(actor, "consent.send_link", target_type="contact", target_id=contact.pk,
                 summary=_("Preference link sent to %(address)s") % {"address": masked},
                 details={"to": masked})
    append_event(contact.pk, "consent.link_sent", {"to": masked}, actor=actor)
    return sent


def _pause_until(raw: dict[str, Any]) -> dt.datetime:
    weeks = raw.get("weeks")
    if weeks not in (None, ""):
        try:
            weeks = int(ascii_digits(str(weeks)))
        except ValueError:
            weeks = 0
        if weeks not in PAUSE_WEEKS:
            raise _refuse(_("Choose 2, 4, 8 or 12 weeks."), "weeks")
        return timezone.now() + dt.timedelta(weeks=weeks)
    raise _refuse(_("Say for how many weeks: 2, 4, 8 or 12."), "weeks")


# --- subscribers brought from another tool (imports calls these) -------------------------------

# What another tool said about a row, in the words imports reads it into.
IMPORT_STATUSES = ("subscribed", "unsubscribed", "bounced", "complained", "not_subscribed")
_IMPORT_SUPPRESSION = {"unsubscribed": SuppressionReason.OPTED_OUT,
                       "bounced": SuppressionReason.HARD_BOUNCE,
                       "complained": SuppressionReason.COMPLAINT}
# Among several opt-outs of one channel in a file, the one that says most.
_SUPPRESSION_WEIGHT = {SuppressionReason.OPTED_OUT: 0, SuppressionReason.COMPLAINT: 1,
                       SuppressionReason.HARD_BOUNCE: 2}
ATTESTATION_MIN_LENGTH = 20


@dataclass(frozen=True)
class ImportedConsent:
    """One row of an import: what the other tool said about one contact on one channel."""

    row: int
    contact_id: int
    channel: str
    status: str  # one of IMPORT_STATUSES
    topic_ids: tuple[int, ...] = ()
    opted_in_at: dt.datetime | None = None
    evidence: str = ""
    source_status: str = ""  # the status as the file wrote it


@dataclass(frozen=True)
class ImportOutcome:
    """What became of a row: subscribed, opted_out, unchanged (already so here) or
    not_subscribed (`reason` says why)."""

    row: int
    outcome: str
    reason: str = ""


def check_attestation(text: str) -> str:
    """The attestation as it will be kept; ConsentInvalid when it says too little."""
    text = (text or "").replace("\x00", "").strip()
    if len(normalise_text(text)) < ATTESTATION_MIN_LENGTH:
        raise ConsentInvalid({"attestation": _(
            "Write the attestation in a sentence or two (at least %(count)d characters): "
            "how and when these people agreed to hear from you.")
            % {"count": ATTESTATION_MIN_LENGTH}})
    if len(text) > 2000:
        raise ConsentInvalid({"attestation": _("At most %(count)d characters.")
                              % {"count": 2000}})
    return text


@transaction.atomic
def do_attest_import(actor: Actor, text: str, *, evidence: str = "",
                     filename: str = "") -> Attestation:
    """The owner declares that the people of an import consented in another tool."""
    require(actor, "consent.import")
    text = check_attestation(text)
    attestation = Attestation.objects.create(
        text=text, evidence=normalise_text(evidence or "")[:300], filename=filename[:255],
        attested_by=actor.user, actor_label=actor.label)
    record_audit(actor, "consent.import", target_type="attestation",
                 target_id=attestation.pk, summary=filename[:300] or _("Import"),
                 details={"evidence": attestation.evidence})
    return attestation


def _ever_left(contact_ids: list[int]) -> dict[tuple[int, str], dt.datetime]:
    """(contact, channel) -> when the channel was first left here (opt-out, bounce,
    complaint), by these contacts or by an erased person who had one of their addresses."""
    from peyvand.consent.erased import erased_opt_outs, first_left

    out = erased_opt_outs(contact_ids)
    for key, at in first_left(contact_ids).items():
        out[key] = min(at, out.get(key, at))
    return out


def do_import_consent(actor: Actor, attestation: Attestation,
                      entries: list[ImportedConsent]) -> list[ImportOutcome]:
    """Record what an attested import says, contact by contact; one outcome per entry.

    Opt-outs (unsubscribed, bounced, complained) are always recorded: they only reduce
    contact. A subscription is recorded only where nothing here says otherwise: never for a
    channel ever left here (whatever happened since: only the person's own sign-up brings
    them back), never over a sign-up awaiting the person's confirmation, never over a topic
    they chose or left, and only on a channel they have an address for. The original opt-in
    date and the evidence stay in each row; the attestation names who vouched for it."""
    require(actor, "consent.import")
    by_contact: dict[int, list[ImportedConsent]] = {}
    for entry in entries:
        if entry.status not in IMPORT_STATUSES or entry.channel not in Channel.values:
            raise ValueError(f"row {entry.row}: unknown status or channel")
        by_contact.setdefault(entry.contact_id, []).append(entry)
    ids = list(by_contact)
    left = _ever_left(ids)
    kinds = set(Identity.objects.filter(contact_id__in=ids)
                .values_list("contact_id", "kind"))
    states: dict[int, dict[tuple[str, int | None], ConsentState]] = {}
    for state in ConsentState.objects.filter(contact_id__in=ids):
        states.setdefault(state.contact_id, {})[(state.channel, state.topic_id)] = state
    erased = set(Contact.objects.filter(pk__in=ids, erased_at__isnull=False)
                 .values_list("pk", flat=True))
    outcomes: list[ImportOutcome] = []
    for contact_id, rows in by_contact.items():
        if contact_id in erased:
            outcomes += [ImportOutcome(e.row, "not_subscribed",
                                       _("This contact was erased.")) for e in rows]
            continue
        outcomes += _import_one(actor, attestation, contact_id, rows,
                                states.get(contact_id, {}), left, kinds)
    return sorted(outcomes, key=lambda o: o.row)


def _entry_details(entry: ImportedConsent) -> dict[str, Any]:
    details: dict[str, Any] = {"import_row": entry.row}
    if entry.source_status:
        details["source_status"] = entry.source_status[:64]
    if entry.opted_in_at is not None:
        details["opted_in_at"] = entry.opted_in_at.isoformat()
    if entry.evidence:
        details["evidence"] = entry.evidence[:300]
    return details


@transaction.atomic
def _import_one(actor: Actor, attestation: Attestation, contact_id: int,
                rows: list[ImportedConsent], states: dict[tuple[str, int | None], Any],
                left: dict[tuple[int, str], dt.datetime],
                kinds: set[tuple[int, str]]) -> list[ImportOutcome]:
    outcomes: list[ImportOutcome] = []
    changes: list[Change] = []
    for channel in Channel.values:
        on_channel = [e for e in rows if e.channel == channel]
        if not on_channel:
            continue
        row = states.get((channel, None))
        outs = [e for e in on_channel if e.status in _IMPORT_SUPPRESSION]
        ins = [e for e in on_channel if e.status == "subscribed"]
        for entry in on_channel:
            if entry.status == "not_subscribed":
                outcomes.append(ImportOutcome(entry.row, "not_subscribed", _(
                    "The file says “%(status)s”: that is no consent, so none was recorded.")
                    % {"status": entry.source_status or entry.status}))
        if outs:
            strongest = max(outs, key=lambda e: _SUPPRESSION_WEIGHT[
                _IMPORT_SUPPRESSION[e.status]])
            if row is not None and row.status == Status.OUT:
                outcomes += [ImportOutcome(e.row, "unchanged") for e in outs]
            else:
                changes.append(Change(Action.OPT_OUT, channel, None, {
                    **_entry_details(strongest), "reason": "import",
                    "suppression": _IMPORT_SUPPRESSION[strongest.status]}))
                outcomes += [ImportOutcome(e.row, "opted_out") for e in outs]
            outcomes += [ImportOutcome(e.row, "not_subscribed", _(
                "Another row of the file unsubscribes this person on this channel."))
                for e in ins]
            continue
        if not ins:
            continue
        first = ins[0]
        since = left.get((contact_id, channel))
        needs = CHANNEL_IDENTITY.get(channel)
        reason = ""
        if since is not None:
            reason = _("They left this channel here on %(date)s (an unsubscribe, a bounce or "
                       "a complaint): an import never subscribes them again; only their own "
                       "sign-up can.") % {"date": since.date().isoformat()}
        elif row is not None and row.status == Status.PENDING:
            reason = _("They signed up here and have not confirmed yet: their own "
                       "confirmation decides.")
        elif needs and (contact_id, needs) not in kinds:
            reason = _("No address for this channel: nothing to subscribe.")
        if reason:
            outcomes += [ImportOutcome(e.row, "not_subscribed", reason) for e in ins]
            continue
        topic_ids = list(dict.fromkeys(t for e in ins for t in e.topic_ids))
        new_topics = [t for t in topic_ids if (channel, t) not in states]
        if row is None:
            changes.append(Change(Action.OPT_IN, channel, None, _entry_details(first)))
        if row is None or new_topics:
            topics = {t.pk: t for t in Topic.objects.filter(pk__in=new_topics)}
            changes += [Change(Action.OPT_IN, channel, t, {
                **_entry_details(first), "frequency": topics[t].default_frequency})
                for t in new_topics if t in topics]
            outcomes += [ImportOutcome(e.row, "subscribed") for e in ins]
        else:
            outcomes += [ImportOutcome(e.row, "unchanged") for e in ins]
    if changes:
        ledger.append(contact_id, changes, source=Source.IMPORT, actor_label=actor.label,
                      actor=actor, attestation=attestation)
    return outcomes


# --- proof of consent (E1) ----------------------------------------------------------------------

PROOF_COLUMNS = ["at", "channel", "topic", "action", "source", "form", "text_version",
                 "text_language", "text", "ip", "user_agent", "actor", "details", "attestation"]


def proof_of_consent(contact: Contact) -> dict[str, Any]:
    rows = (ConsentChange.objects.filter(contact=contact)
            .select_related("topic", "form", "text", "attestation").order_by("at", "id"))
    history = []
    for r in rows:
        attested = r.attestation
        history.append({
            "at": r.at.isoformat(), "channel": r.channel,
            "topic": r.topic.key if r.topic else None, "action": r.action, "source": r.source,
            "form": r.form.slug if r.form else None,
            "text_version": r.text.version if r.text else None,
            "text_language": r.text.language if r.text else None,
            "text": r.text.text if r.text else None,
            "ip": r.ip, "user_agent": r.user_agent, "actor": r.actor_label,
            "details": r.details,
            # An import: who vouched that the person consented elsewhere, and in what words.
            "attestation": {"text": attested.text, "evidence": attested.evidence,
                            "file": attested.filename, "by": attested.actor_label,
                            "at": attested.created_at.isoformat()} if attested else None})
    current = []
    for s in ConsentState.objects.filter(contact=contact).select_related("topic") \
            .order_by("channel", "topic__key"):
        current.append({
            "channel": s.channel, "topic": s.topic.key if s.topic else None,
            "status": s.status, "frequency": s.frequency, "format": s.format,
            "paused_until": s.paused_until.isoformat() if s.paused_until else None,
            "suppression": s.suppression,
            "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None})
    return {"contact_id": contact.pk, "generated_at": timezone.now().isoformat(),
            "current": current, "history": history}


@transaction.atomic
def do_export_proof(actor: Actor, contact: Contact, fmt: str = "json") -> dict[str, Any]:
    """Everything the ledger proves about one person's consent; audited."""
    require(actor, "consent.export")
    if fmt not in ("json", "csv"):
        raise ConsentInvalid({"format": _("Choose json or csv.")})
    data = proof_of_consent(contact)
    record_audit(actor, "consent.export", target_type="contact", target_id=contact.pk,
                 summary=_("Proof of consent export"), details={"format": fmt,
                                                               "rows": len(data["history"])})
    return data


def proof_csv(data: dict[str, Any]) -> str:
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PROOF_COLUMNS)
    for row in data["history"]:
        values = []
        for name in PROOF_COLUMNS:
            value = row.get(name)
            if name in ("details", "attestation") and value is not None:
                value = json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
            value = "" if value is None else str(value)
            # A cell starting with = + - @ is a formula to spreadsheets: keep it text.
            if value[:1] in ("=", "+", "-", "@"):
                value = "'" + value
            values.append(value)
        writer.writerow(values)
    return out.getvalue()



# --- SMS gateways -------------------------------------------------------------------------------

@transaction.atomic
def do_add_sms_gateway(actor: Actor, name: str) -> SmsInbound:
    """Register a gateway that posts incoming SMS; its secret URL token is made here."""
    require(actor, "sources.manage")
    name = slugify(name or "")[:64]
    if not name:
        raise ConsentInvalid({"name": _("Give the gateway a short Latin name, e.g. kavenegar.")})
    if SmsInbound.objects.filter(name=name).exists():
        raise ConsentInvalid({"name": _("A gateway with this name exists already.")})
    gateway = SmsInbound.objects.create(name=name, token=secrets.token_urlsafe(24))
    record_audit(actor, "consent.sms_gateway", target_type="sms_gateway", target_id=gateway.pk,
                 summary=name)
    return gateway
