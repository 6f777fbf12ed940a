"""Reads of the permission floor: may we contact this person, what did they choose, reports.

`consent_decision` is what messaging's OutboundGate (issue 5) asks before every message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.consent.models import (
    Channel,
    ConsentChange,
    ConsentState,
    Format,
    Frequency,
    Signup,
    SignupForm,
    Status,
    Suppression,
    SuppressionReason,
    Topic,
)
from peyvand.contacts.models import Contact, Identity

# marketing: needs consent for the topic; alert: the same, but "alerts only" is enough;
# transactional (receipts, delivery notes): no consent asked, but never to an address that
# hard-bounced or a person who complained;
# confirmation: the double opt-in message itself, only while a confirmation is pending.
MESSAGE_CLASSES = ("marketing", "alert", "transactional", "confirmation")
# A channel needs this kind of address; direct mail goes to a postal address kept elsewhere.
CHANNEL_IDENTITY: dict[str, str] = {Channel.EMAIL: Identity.Kind.EMAIL,
                                     Channel.SMS: Identity.Kind.PHONE,
                                     Channel.PHONE: Identity.Kind.PHONE}
# Which channels a confirmation proves: an e-mail link proves the inbox, a code the mobile.
PROVES: dict[str, set[str]] = {Identity.Kind.EMAIL: {Channel.EMAIL, Channel.DIRECT_MAIL},
                               Identity.Kind.PHONE: {Channel.SMS, Channel.PHONE,
                                                     Channel.DIRECT_MAIL}}


@dataclass(frozen=True)
class Decision:
    """Whether one message may go out, and why (a stable reason code, in English)."""

    allowed: bool
    reason: str
    frequency: str = ""  # the person's chosen frequency for this topic, for the gate's caps
    format: str = ""  # e-mail: "html" or "text" as the person prefers
    paused_until: dt.datetime | None = None

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def withdrawn(self) -> bool:
        """Refused because the person took back or lost what they had agreed to (opted out,
        suppressed, the topic retired); not for never agreed, unconfirmed, a topic not
        chosen, a pause or a preference, which may still change to a yes."""
        return not self.allowed and self.reason not in NOT_WITHDRAWN


# Refusal reasons that are no withdrawal (Decision.withdrawn).
NOT_WITHDRAWN = frozenset({"no_consent", "unconfirmed", "nothing_to_confirm", "topic_not_chosen",
                           "paused", "alerts_only", "format"})


def _topic_id(topic: Any) -> tuple[int | None, bool]:
    """(topic id, known and active) for a Topic, a key, an id or None."""
    if topic is None or topic == "":
        return None, True
    if isinstance(topic, Topic):
        return topic.pk, topic.active
    qs = Topic.objects.filter(pk=topic) if isinstance(topic, int) else \
        Topic.objects.filter(key=str(topic))
    row = qs.values_list("pk", "active").first()
    if row is None:
        return None, False
    return row[0], row[1]


def consent_decision(contact_id: int, channel: str, topic: Any = None, fmt: str | None = None,
                     message_class: str = "marketing") -> Decision:
    """May a message of `message_class` about `topic` go to this contact on `channel`?

    Reasons when refused: unknown_contact, erased, unknown_channel, unknown_topic,
    topic_retired, no_consent, unconfirmed, opted_out, hard_bounce, complaint, paused,
    topic_not_chosen, alerts_only, format (the person prefers the other format: see .format),
    nothing_to_confirm. When allowed: ok, transactional, confirmation.
    """
    return consent_decisions([contact_id], channel, topic, fmt, message_class)[contact_id]


def consent_decisions(contact_ids: Iterable[int], channel: str, topic: Any = None,
                      fmt: str | None = None, message_class: str = "marketing") \
        -> dict[int, Decision]:
    """consent_decision for many contacts at once, in a fixed number of queries (a sender
    asks for a whole claimed batch)."""
    ids = list(dict.fromkeys(contact_ids))
    if message_class not in MESSAGE_CLASSES:
        raise ValueError(f"message_class must be one of {MESSAGE_CLASSES}")
    if fmt and channel == Channel.EMAIL and fmt not in Format.values:
        raise ValueError("fmt must be html or text")
    if channel not in Channel.values:
        return dict.fromkeys(ids, Decision(False, "unknown_channel"))
    topic_id, active = _topic_id(topic)
    if topic not in (None, "") and topic_id is None:
        erased = _erasures(ids)
        return {c: Decision(False, "unknown_contact" if c not in erased else
                            "erased" if erased[c] is not None else "unknown_topic")
                for c in ids}
    # One query for a usual batch: each consent row brings its contact's erasure along, and
    # only contacts without rows are looked up on their own.
    erased = {}
    states: dict[int, dict[int | None, _State]] = {}
    rows = Q(topic__isnull=True)  # the channel's row, and the topic's when one is asked
    if topic_id is not None:
        rows |= Q(topic_id=topic_id)
    for contact_id, erased_at, row_topic, *values in _state_rows().filter(
            rows, contact_id__in=ids, channel=channel):
        erased[contact_id] = erased_at
        states.setdefault(contact_id, {})[row_topic] = _State(*values)
    missing = [c for c in ids if c not in erased]
    if missing:
        erased.update(_erasures(missing))
    live = [c for c in ids if c in erased and erased[c] is None]
    confirmable: set[int] = set()
    if message_class == "confirmation":
        # Sent to an address, it may confirm any channel that address proves (a texted code
        # confirms phone calls too), or a topic added to a channel already subscribed.
        proves = PROVES.get(CHANNEL_IDENTITY.get(channel, ""), {channel})
        confirmable = set(ConsentState.objects.filter(
            contact_id__in=live, channel__in=proves,
            status=Status.PENDING).order_by().values_list("contact_id", flat=True))
    now = timezone.now()
    out: dict[int, Decision] = {}
    for c in ids:
        if c not in erased:
            out[c] = Decision(False, "unknown_contact")
        elif erased[c] is not None:
            out[c] = Decision(False, "erased")
        else:
            out[c] = _decide(states.get(c, {}), channel, topic_id, active, fmt,
                             message_class, c in confirmable, now)
    return out


def _erasures(contact_ids: list[int]) -> dict[int, dt.datetime | None]:
    """erased_at of each contact that exists."""
    return dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "erased_at"))


@cache
def _state_rows() -> QuerySet:
    """The query consent_decisions narrows for every batch, built once (a sender asks for
    every chunk of messages, and building a query costs more than running it; .filter()
    copies it). No ordering: the model's default joins contacts and topics to sort."""
    return ConsentState.objects.order_by().values_list(
        "contact_id", "contact__erased_at", "topic_id", *_State._fields)


class _State(NamedTuple):
    """The columns of a ConsentState row that a decision reads (rows, not model instances:
    the sender asks for every chunk of messages)."""

    status: str
    suppression: str
    format: str
    frequency: str
    paused_until: dt.datetime | None


def _decide(rows: dict[int | None, _State], channel: str, topic_id: int | None,
            active: bool, fmt: str | None, message_class: str, confirmable: bool,
            now: dt.datetime) -> Decision:
    """One live contact's answer from their consent rows (channel-wide and the topic's)."""
    chan = rows.get(None)
    topic_row = rows.get(topic_id) if topic_id is not None else None

    if message_class == "transactional":
        # An opt-out stops marketing, not a receipt; a dead address or a complaint (the
        # person called our mail spam) stops everything.
        if chan is not None and chan.suppression in (SuppressionReason.HARD_BOUNCE,
                                                     SuppressionReason.COMPLAINT):
            return Decision(False, chan.suppression)
        return Decision(True, "transactional", format=chan.format if chan else "")
    if message_class == "confirmation":
        if confirmable:
            return Decision(True, "confirmation", format=chan.format if chan else "")
        return Decision(False, "nothing_to_confirm")

    if chan is None:
        return Decision(False, "no_consent")
    frequency = (topic_row.frequency if topic_row else "") or chan.frequency

    def decide(allowed: bool, reason: str) -> Decision:
        return Decision(allowed, reason, frequency=frequency, format=chan.format,
                        paused_until=chan.paused_until)

    if chan.status == Status.PENDING:
        return decide(False, "unconfirmed")
    if chan.suppression:
        return decide(False, chan.suppression)
    if chan.status == Status.OUT:
        return decide(False, "opted_out")
    if chan.paused_until and chan.paused_until > now:
        return decide(False, "paused")
    if topic_id is not None:
        if not active:
            return decide(False, "topic_retired")
        if topic_row is None or topic_row.status == Status.OUT:
            return decide(False, "topic_not_chosen")
        if topic_row.status == Status.PENDING:
            return decide(False, "unconfirmed")
    if message_class == "marketing" and frequency == Frequency.ALERTS_ONLY:
        return decide(False, "alerts_only")
    if fmt and channel == Channel.EMAIL and chan.format and fmt != chan.format:
        return decide(False, "format")
    return decide(True, "ok")


# --- one contact --------------------------------------------------------------------------------

def consent_overview(actor: Actor, contact: Contact) -> dict[str, Any]:
    """The contact's current consent: per channel, with its topics and suppression."""
    require(actor, "consent.view")
    states = list(ConsentState.objects.filter(contact=contact).select_related("topic"))
    now = timezone.now()
    channels = []
    for channel, label in Channel.choices:
        chan = next((s for s in states if s.channel == channel and s.topic_id is None), None)
        topics = sorted((s for s in states if s.channel == channel and s.topic_id),
                        key=lambda s: (s.topic.position if s.topic else 0, s.topic_id))
        channels.append({
            "channel": channel,
            "label": label,
            "status": chan.status if chan else "none",
            "frequency": chan.frequency if chan else "",
            "format": chan.format if chan else "",
            "paused_until": chan.paused_until if chan and chan.paused_until
            and chan.paused_until > now else None,
            "suppressed": bool(chan and chan.suppression),
            "suppression": chan.suppression if chan else "",
            "confirmed_at": chan.confirmed_at if chan else None,
            "changed_at": chan.changed_at if chan else None,
            "topics": [{"topic": s.topic.key, "topic_obj": s.topic, "status": s.status,
                        "frequency": s.frequency} for s in topics if s.topic],
        })
    return {"contact_id": contact.pk, "channels": channels}


def consent_history(actor: Actor, contact: Contact) -> QuerySet:
    require(actor, "consent.view")
    return (ConsentChange.objects.filter(contact=contact)
            .select_related("topic", "form", "text", "attestation").order_by("-at", "-id"))


# --- lists and reports --------------------------------------------------------------------------

def topics_list(actor: Actor, *, include_retired: bool = True) -> QuerySet:
    require(actor, "consent.view")
    qs = Topic.objects.all()
    return qs if include_retired else qs.filter(active=True)


def forms_list(actor: Actor) -> QuerySet:
    require(actor, "consent.view")
    return SignupForm.objects.prefetch_related("topics").annotate(
        signup_count=Count("signups", distinct=True))


def access_form(actor: Actor, slug_or_pk: Any) -> SignupForm:
    from django.http import Http404

    require(actor, "consent.view")
    qs = SignupForm.objects.all()
    form = qs.filter(pk=int(slug_or_pk)).first() if str(slug_or_pk).isdigit() else \
        qs.filter(slug=str(slug_or_pk)).first()
    if form is None:
        raise Http404
    return form


def suppression_list(actor: Actor, *, channel: str = "", reason: str = "") -> QuerySet:
    require(actor, "consent.view")
    qs = Suppression.objects.select_related("contact")
    if channel:
        qs = qs.filter(channel=channel)
    if reason:
        qs = qs.filter(suppression=reason)
    return qs


def incentive_report(actor: Actor, form: SignupForm | None = None) -> list[dict[str, Any]]:
    """Per form and incentive: sign-ups, how many confirmed, and the confirmation rate."""
    require(actor, "consent.view")
    qs = Signup.objects.all()
    if form is not None:
        qs = qs.filter(form=form)
    rows = (qs.values("form_id", "form__slug", "form__name", "incentive_kind")
            .annotate(signups=Count("id"), confirmed=Count("confirmed_at"))
            .order_by("form__name", "incentive_kind"))
    report = []
    for r in rows:
        report.append({
            "form_id": r["form_id"], "form": r["form__slug"], "form_name": r["form__name"],
            "incentive_kind": r["incentive_kind"], "signups": r["signups"],
            "confirmed": r["confirmed"],
            "rate": round(r["confirmed"] / r["signups"], 4) if r["signups"] else None,
        })
    return report
