"""Subscriptions in a contact file: the columns and options that say who consented, on which
channel, to which topics, since when, and what another tool (listmonk, Mailchimp, Mautic …)
said about them.

Only the file side lives here: reading a status, a channel, topics and an opt-in date out of
cells, and checking what the importer said for the whole file. What gets recorded is
consent's to decide (`consent.actions.do_import_consent`): opt-outs always, a subscription
only where nothing here says otherwise, and only under an owner's attestation.

Nothing is guessed: consent columns are never matched from headers, and a status this
module does not know rejects the row, naming the statuses it knows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_text
from peyvand.base.roles import require
from peyvand.consent.models import Channel, Topic
from peyvand.imports.mapping import CONSENT_PREFIX, CONSENT_TARGETS, header_key

PREFIX = CONSENT_PREFIX
FIELDS = tuple(t[len(PREFIX):] for t in CONSENT_TARGETS)

# What other tools write, read into consent's words (consent.actions.IMPORT_STATUSES).
# listmonk: subscription_status confirmed / unconfirmed / unsubscribed, status blocklisted;
# Mailchimp: subscribed / unsubscribed / cleaned / pending / transactional / archived;
# Mautic: do-not-contact reasons unsubscribed / bounced / manual.
STATUS_WORDS: dict[str, list[str]] = {
    "subscribed": ["subscribed", "confirmed", "opted in", "opt-in", "optin", "مشترک",
                   "عضو", "تایید شده"],
    "unsubscribed": ["unsubscribed", "opted out", "opt-out", "optout", "blocklisted",
                     "blacklisted", "blocked", "do not contact", "donotcontact", "dnc",
                     "manual", "لغو اشتراک", "لغو شده", "لغو"],
    "bounced": ["cleaned", "bounced", "bounce", "hard bounce", "برگشتی"],
    "complained": ["complained", "complaint", "spam", "abuse", "spam complaint"],
    # Known, and no consent: a sign-up never confirmed, a receipt-only address, removed.
    "not_subscribed": ["unconfirmed", "pending", "transactional", "nonsubscribed",
                       "non-subscribed", "not subscribed", "archived", "در انتظار تایید"],
}
CHANNEL_WORDS: dict[str, list[str]] = {
    Channel.EMAIL: ["email", "e-mail", "mail", "ایمیل", "پست الکترونیک", "رایانامه"],
    Channel.SMS: ["sms", "text", "پیامک", "اس ام اس"],
    Channel.PHONE: ["phone", "call", "calls", "تلفن", "تماس"],
    Channel.DIRECT_MAIL: ["direct mail", "direct_mail", "post", "postal", "پست"],
}


def _table(words: dict[str, list[str]]) -> dict[str, str]:
    return {header_key(w): value for value, spelled in words.items()
            for w in [value, *spelled]}


_STATUSES = _table(STATUS_WORDS)
_CHANNELS = _table(CHANNEL_WORDS)


def status_of(text: str) -> str | None:
    """consent's status for a status word of any tool, or None when unknown."""
    return _STATUSES.get(header_key(str(text or "")))


def channel_of(text: str) -> str | None:
    return _CHANNELS.get(header_key(str(text or "")))


def known_statuses() -> str:
    return ", ".join(w for words in STATUS_WORDS.values() for w in words if w.isascii())


def opted_in_at(cell: Any, field_name: str = PREFIX + "opted_in_at") -> dt.datetime | None:
    """The opt-in moment a cell gives: an ISO or "2024-05-01 10:22:11" time (Mailchimp's
    OPTIN_TIME, listmonk's created_at), a Jalali or Gregorian date, or an Excel date."""
    moment: dt.datetime | None
    if isinstance(cell, dt.datetime):
        moment = cell
    elif isinstance(cell, dt.date):
        moment = dt.datetime.combine(cell, dt.time.min)
    else:
        text = ascii_digits(str(cell or "")).strip()
        if not text:
            return None
        try:
            moment = parse_datetime(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None:
            day = parse_date(text, field_name)  # InvalidValue names the column
            moment = dt.datetime.combine(day, dt.time.min) if day else None
        if moment is None:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now() + dt.timedelta(days=1):
        raise InvalidValue(field_name, _("The opt-in date %(value)s is in the future.")
                           % {"value": moment.date().isoformat()}, cell)
    return moment


class SubscriptionsInvalid(Invalid):
    """What the importer said about subscriptions cannot be used; `errors` by field."""

    def __str__(self) -> str:
        return " ".join(str(reason) for reason in self.errors.values())


@dataclass
class Subscriptions:
    """What the importer says for the whole file (CLI options, wizard fields, API form)."""

    attestation: str = ""
    evidence: str = ""  # where the consent comes from: the tool, the list, the export date
    status: str = ""  # every row's status, for a file without a status column
    channel: str = ""  # every row's channel, for a file without a channel column
    topics: list[str] = field(default_factory=list)  # topic keys every subscriber joins

    def given(self) -> bool:
        return bool(self.attestation or self.evidence or self.status or self.channel
                    or self.topics)

    def as_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> Subscriptions | None:
        return cls(**params) if params else None


@dataclass
class Plan:
    """Checked subscriptions of one import: which column holds what, or the file's value."""

    subscriptions: Subscriptions
    columns: dict[str, int]  # field -> column index
    status: str = ""
    channel: str = ""
    topics: list[Topic] = field(default_factory=list)
    topic_ids: dict[str, int] = field(default_factory=dict)  # every active topic, by key


@dataclass
class RowConsent:
    """What one row says: consent's status and channel, topics, opt-in date, evidence."""

    status: str
    source_status: str
    channel: str
    topic_ids: tuple[int, ...]
    opted_in_at: dt.datetime | None
    evidence: str


def check_subscriptions(actor: Actor, targets: list[str],
                        subscriptions: Subscriptions | None) -> Plan | None:
    """The plan for the consent columns and options of an import, or None without any.

    Only an owner may import consent, and only with an attestation. SubscriptionsInvalid
    says what is missing or wrong."""
    columns = {t[len(PREFIX):]: i for i, t in enumerate(targets) if t.startswith(PREFIX)}
    subscriptions = subscriptions or Subscriptions()
    if not columns and not subscriptions.given():
        return None
    require(actor, "consent.import")
    errors: dict[str, str] = {}
    if not subscriptions.attestation.strip():
        errors["attestation"] = _(
            "Importing subscriptions needs your attestation: say how and when these people "
            "agreed to hear from you (for example “They subscribed through the double opt-in "
            "form of our old listmonk, list Newsletter, 2021–2024”).")
    status = ""
    if subscriptions.status:
        status = status_of(subscriptions.status) or ""
        if not status:
            errors["status"] = _("Unknown status “%(value)s”; use one of: %(known)s.") % {
                "value": subscriptions.status, "known": known_statuses()}
        elif "status" in columns:
            errors["status"] = _("The file has a status column: leave the status for the "
                                 "whole file empty.")
    elif "status" not in columns:
        errors["status"] = _("Say what the file's status is: map its status column, or give "
                             "one status for every row (e.g. subscribed).")
    channel = ""
    if subscriptions.channel:
        channel = channel_of(subscriptions.channel) or ""
        if not channel:
            errors["channel"] = _("Unknown channel “%(value)s”; use one of: %(choices)s.") % {
                "value": subscriptions.channel, "choices": ", ".join(Channel.values)}
        elif "channel" in columns:
            errors["channel"] = _("The file has a channel column: leave the channel for the "
                                  "whole file empty.")
    elif "channel" not in columns:
        errors["channel"] = _("Say which channel the subscriptions are for: map a channel "
                              "column, or choose one for every row (e.g. email).")
    active = {t.key: t for t in Topic.objects.filter(active=True)}
    keys = [k.strip() for k in subscriptions.topics if k and k.strip()]
    missing = [k for k in keys if k not in active]
    if missing:
        errors["topics"] = _("There is no active topic “%(key)s”.") % {"key": missing[0]}
    elif keys and "topics" in columns:
        errors["topics"] = _("The file has a topics column: leave the topics for the whole "
                             "file empty.")
    if errors:
        raise SubscriptionsInvalid(errors)
    return Plan(subscriptions, columns, status=status, channel=channel,
                topics=[active[k] for k in dict.fromkeys(keys)],
                topic_ids={k: t.pk for k, t in active.items()})


def _text(cell: Any) -> str:
    return cell.isoformat() if isinstance(cell, dt.date) else str(cell or "")


def read_row(plan: Plan, cells: list[Any]) -> tuple[RowConsent | None, dict[str, str]]:
    """What one row says about consent, or the errors that reject it (by mapping target)."""
    errors: dict[str, str] = {}

    def cell(name: str) -> str:
        index = plan.columns.get(name)
        return normalise_text(_text(cells[index])) if index is not None else ""

    raw_status = cell("status") if "status" in plan.columns else plan.subscriptions.status
    status = status_of(raw_status) if raw_status else None
    if not raw_status:
        errors[PREFIX + "status"] = _("The subscription status is empty; give one of: "
                                      "%(known)s.") % {"known": known_statuses()}
    elif status is None:
        errors[PREFIX + "status"] = _("Unknown subscription status “%(value)s”; use one of: "
                                      "%(known)s.") % {"value": raw_status,
                                                       "known": known_statuses()}
    channel = plan.channel
    if "channel" in plan.columns:
        channel = channel_of(cell("channel")) or ""
        if not channel:
            errors[PREFIX + "channel"] = _("Unknown channel “%(value)s”; use one of: "
                                           "%(choices)s.") % {"value": cell("channel"),
                                                              "choices": ", ".join(
                                                                  Channel.values)}
    topic_ids = tuple(t.pk for t in plan.topics)
    if "topics" in plan.columns:
        keys = [k.strip() for k in cell("topics").replace("،", ",").replace(";", ",")
                .split(",") if k.strip()]
        unknown = [k for k in keys if k not in plan.topic_ids]
        if unknown:
            errors[PREFIX + "topics"] = _("There is no active topic “%(key)s”.") % {
                "key": unknown[0]}
        topic_ids = tuple(dict.fromkeys(plan.topic_ids[k] for k in keys
                                        if k in plan.topic_ids))
    moment = None
    if "opted_in_at" in plan.columns:
        try:
            moment = opted_in_at(cells[plan.columns["opted_in_at"]])
        except InvalidValue as exc:
            errors[PREFIX + "opted_in_at"] = str(exc.message)
    if errors or status is None:
        return None, errors
    return RowConsent(status, raw_status, channel, topic_ids, moment,
                      cell("evidence")[:300]), {}
