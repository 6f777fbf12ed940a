"""A person submitting a sign-up form: checks, the contact, the confirmation mail or code.

Just over 400 lines: the checks, the throttles and the confirmation sent are one submission's
path, read in order."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from peyvand.base import ratelimit
from peyvand.base.actor import Actor
from peyvand.base.normalise import InvalidValue, normalise_email, normalise_phone, normalise_text
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.signing import LinkInvalid, make_token, read_token
from peyvand.consent import ledger
from peyvand.consent.actions.common import (
    CODE_TTL,
    STARTED_MAX_AGE,
    ConsentInvalid,
    SignupThrottled,
)
from peyvand.consent.actions.forms import key_list
from peyvand.consent.actions.preferences import current_states
from peyvand.consent.ledger import Change
from peyvand.consent.links import preferences_token
from peyvand.consent.models import (
    Action,
    Channel,
    ConsentState,
    Format,
    IdentityRule,
    LinkReason,
    LinkSent,
    Signup,
    SignupForm,
    Source,
    Status,
    Topic,
)
from peyvand.consent.queries import CHANNEL_IDENTITY, PROVES
from peyvand.contacts.actions import (
    check_contact_data,
    do_create_contact,
    do_upsert_contact,
    find_owners,
)
from peyvand.contacts.fields import parse_field_value
from peyvand.contacts.models import Contact, FieldValue, Identity

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
        wanted = set(key_list(raw.get("topics")))
        unknown = wanted - {t.key for t in offered_topics}
        if unknown:
            errors["topics"] = _("This form does not offer “%(key)s”.") % {
                "key": sorted(unknown)[0]}
        clean.topics = [t for t in offered_topics if t.key in wanted]
    if not clean.topics and "topics" not in errors:
        errors["topics"] = _("Choose at least one topic.")

    offered = offered_channels(form)
    wanted_channels = offered if raw.get("channels") is None else key_list(raw.get("channels"))
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


def code_hash(nonce: str, code: str) -> str:
    return salted_hmac("peyvand.consent.code", f"{nonce}:{code}").hexdigest()


def _throttled_address(address: str) -> bool:
    """At most a few confirmations a day to one address, whoever asks for them."""
    return ratelimit.hit("consent:confirm", address, 24 * 3600) \
        > settings.CONSENT_CONFIRMATIONS_PER_DAY


def confirm_path(signup: Signup) -> str:
    return reverse("consent:confirm", args=[make_token("confirm", {"n": signup.nonce})])


def code_token(signup: Signup) -> str:
    return make_token("signup_code", {"n": signup.nonce})


def send_code(signup: Signup, contact: Contact, to: str, language: str, *,
               notice: bool = False) -> None:
    """Text a new code for the sign-up; `notice`: the number is subscribed already, and the
    text says so (the code lets the page that asks for it go on as for anyone)."""
    from peyvand.consent.tasks import send_confirmation_sms_task

    code = f"{secrets.randbelow(10**6):06d}"
    signup.code_hash = code_hash(signup.nonce, code)
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


def pending_channels(contact_id: int, channels: list[str]) -> list[str]:
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
    pending = pending_channels(contact.pk, clean.channels)
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
            send_code(signup, contact, clean.phone, language, notice=notice)
            result.code_to = clean.phone
        result.code_token = code_token(signup)
    result.email_sent = wants_email
    return result
