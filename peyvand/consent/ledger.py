"""The consent ledger: the one way consent changes, and the one fold that derives state.

`append` writes ledger rows and, in the same transaction, folds them into the `ConsentState`
cache with `apply` — the same function `replay` uses from an empty state, so the cache is
always the ledger replayed. Nothing else writes ConsentState.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from peyvand.base.actor import Actor
from peyvand.consent.models import (
    Action,
    Attestation,
    Channel,
    ConsentChange,
    ConsentState,
    ConsentText,
    ContactKey,
    LinkSent,
    Signup,
    SignupForm,
    Source,
    Status,
    SuppressionReason,
    Topic,
)
from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event

Key = tuple[str, int | None]  # (channel, topic id or None for the channel as a whole)

# Opt-ins whose source proves the person acts on their own address: no confirmation needed.
PROVEN_SOURCES = frozenset({Source.PREFERENCES})
# Opt-ins an owner attested were given elsewhere (an import): subscribed at once, but only
# where nothing is recorded here that says otherwise (see `apply`).
ATTESTED_SOURCES = frozenset({Source.IMPORT})
_SUPPRESSION: dict[str, str] = {Source.BOUNCE: SuppressionReason.HARD_BOUNCE,
                Source.COMPLAINT: SuppressionReason.COMPLAINT}
TIMELINE_KIND: dict[str, str] = {
    Action.OPT_IN: "consent.opt_in",
    Action.CONFIRM: "consent.confirmed",
    Action.OPT_OUT: "consent.opt_out",
    Action.PAUSE: "consent.paused",
    Action.PREFERENCE_CHANGE: "consent.changed",
    Action.RESUME: "consent.changed",
}


@dataclass
class Row:
    """The derived state of one (channel, topic) of a contact."""

    status: str
    frequency: str = ""
    format: str = ""
    paused_until: dt.datetime | None = None
    suppression: str = ""
    out_source: str = ""
    form_id: int | None = None
    confirmed_at: dt.datetime | None = None
    changed_at: dt.datetime | None = None
    last_change_id: int | None = None


ROW_FIELDS = [f.name for f in fields(Row)]


@dataclass(frozen=True)
class Change:
    """One change to append: what happens to which channel (and topic)."""

    action: str
    channel: str
    topic_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _moment(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def apply(state: dict[Key, Row], change: Any) -> list[Key]:
    """Fold one ledger row (a ConsentChange, or anything with its attributes) into `state`.

    Returns the keys whose row changed. Pure: depends on nothing but its arguments.
    """
    channel, topic_id, action = change.channel, change.topic_id, change.action
    details = change.details or {}
    key: Key = (channel, topic_id)
    on_channel = sorted((k for k in state if k[0] == channel), key=lambda k: (k[1] is not None,
                                                                                k[1] or 0))
    touched: list[Key] = []

    if action == Action.OPT_IN:
        if change.source in ATTESTED_SOURCES and _refused_by_record(state, key):
            return []
        row = state.get(key) or Row(status=Status.PENDING)
        if row.status != Status.IN:
            row.status = Status.IN if change.source in PROVEN_SOURCES | ATTESTED_SOURCES \
                else Status.PENDING
            row.form_id = change.form_id or row.form_id
            if row.status == Status.IN:
                row.confirmed_at = change.at
        if details.get("frequency"):
            row.frequency = details["frequency"]
        if details.get("format"):
            row.format = details["format"]
        state[key] = row
        touched.append(key)
    elif action == Action.CONFIRM:
        keys = on_channel if topic_id is None else [k for k in on_channel if k == key]
        for k in keys:
            row = state[k]
            if row.status == Status.PENDING:
                row.status = Status.IN
                row.confirmed_at = change.at
                if k[1] is None:
                    row.suppression = ""
                touched.append(k)
    elif action == Action.OPT_OUT:
        if topic_id is None:
            reason = _suppression_of(change)
            row = state.get(key) or Row(status=Status.OUT)
            if not (row.status == Status.OUT and row.suppression
                    and reason == SuppressionReason.OPTED_OUT):
                # A further opt-out of a channel already left is kept as proof but changes
                # nothing: the first one's source stands (SMS «۱۲» revives only what the
                # person's own «۱۱» stopped). A bounce or complaint always says more.
                row.status = Status.OUT
                row.paused_until = None
                row.suppression = reason
                row.out_source = change.source
                state[key] = row
                touched.append(key)
            # Topics already left keep the source they were left by (SMS 12 must not revive them).
            for k in on_channel:
                if k[1] is not None and state[k].status != Status.OUT:
                    state[k].status = Status.OUT
                    state[k].out_source = change.source
                    touched.append(k)
        else:
            row = state.get(key) or Row(status=Status.OUT)
            row.status = Status.OUT
            row.out_source = change.source
            state[key] = row
            touched.append(key)
    elif action == Action.PREFERENCE_CHANGE:
        if key in state:
            row = state[key]
            if details.get("frequency"):
                row.frequency = details["frequency"]
            if details.get("format"):
                row.format = details["format"]
            touched.append(key)
    elif action == Action.PAUSE:
        if key in state:
            state[key].paused_until = _moment(details.get("paused_until"))
            touched.append(key)
    elif action == Action.RESUME:
        if key in state:
            state[key].paused_until = None
            touched.append(key)
        if change.source == Source.SMS_KEYWORD and topic_id is None:
            # «۱۲» revives exactly what the person's own «۱۱» stopped.
            for k in on_channel:
                row = state[k]
                if row.status == Status.OUT and row.out_source == Source.SMS_KEYWORD:
                    row.status = Status.IN
                    row.out_source = ""
                    if k[1] is None:
                        row.suppression = ""
                    touched.append(k)
    else:
        raise ValueError(f"unknown consent action {action!r}")

    for k in dict.fromkeys(touched):
        state[k].changed_at = change.at
        state[k].last_change_id = change.id
    return list(dict.fromkeys(touched))


def _suppression_of(change: Any) -> str:
    """Why an opt-out of a whole channel suppresses it: its source, or for an import the
    status the other tool gave (unsubscribed, cleaned/bounced, complained)."""
    if change.source in _SUPPRESSION:
        return _SUPPRESSION[change.source]
    given = (change.details or {}).get("suppression")
    if change.source == Source.IMPORT and given in SuppressionReason.values:
        return given
    return SuppressionReason.OPTED_OUT


def _refused_by_record(state: dict[Key, Row], key: Key) -> bool:
    """An attested opt-in (an import) only fills a gap: never over a row that exists (a
    channel left, suppressed, awaiting the person's own confirmation, or a topic they chose
    or left), and a topic only on a channel subscribed and not suppressed."""
    if key in state:
        return True
    if key[1] is None:
        return False
    channel_row = state.get((key[0], None))
    return channel_row is None or channel_row.status != Status.IN or bool(channel_row.suppression)


def replay(changes: Iterable[Any]) -> dict[Key, Row]:
    """The state a sequence of ledger rows (in ledger order) leads to, from nothing."""
    state: dict[Key, Row] = {}
    for change in changes:
        apply(state, change)
    return state


def ledger_rows(contact_id: int):
    return ConsentChange.objects.filter(contact_id=contact_id).order_by("at", "id")


def replay_contact(contact_id: int) -> dict[Key, Row]:
    return replay(ledger_rows(contact_id))


def _row_of(state: ConsentState) -> Row:
    return Row(**{name: getattr(state, name) for name in ROW_FIELDS})


def cached_state(contact_id: int) -> dict[Key, Row]:
    """The ConsentState cache of a contact, in the shape `replay` returns."""
    return {(s.channel, s.topic_id): _row_of(s)
            for s in ConsentState.objects.filter(contact_id=contact_id)}


def _write(contact_id: int, state: dict[Key, Row], keys: Iterable[Key],
           existing: dict[Key, ConsentState]) -> None:
    for key in keys:
        row = state[key]
        values = {name: getattr(row, name) for name in ROW_FIELDS}
        obj = existing.get(key)
        if obj is None:
            obj = ConsentState(contact_id=contact_id, channel=key[0], topic_id=key[1], **values)
            obj.save()
            existing[key] = obj
        else:
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save(update_fields=ROW_FIELDS)


@transaction.atomic
def append(contact: Contact | int, changes: Sequence[Change], *, source: str, actor_label: str,
           form: SignupForm | None = None, text: ConsentText | None = None,
           ip: str | None = None, user_agent: str = "", at: dt.datetime | None = None,
           actor: Actor | None = None, attestation: Attestation | None = None,
           provenance: dict[str, Any] | None = None) -> list[ConsentChange]:
    """Record `changes` for one contact and update its derived state, in one transaction.

    Every row shares the source, form, text, attestation, IP, user agent, actor and time
    given, and `provenance` (how the change reached us: the link used, who sent it) in its
    details. Appends a timeline entry. `at` may not be earlier than the contact's last
    ledger row: the ledger's order is the order things happened.
    """
    contact_id = contact if isinstance(contact, int) else contact.pk
    if not changes:
        return []
    if source not in Source.values:
        raise ValueError(f"unknown consent source {source!r}")
    for change in changes:
        if change.action not in Action.values:
            raise ValueError(f"unknown consent action {change.action!r}")
        if change.channel not in Channel.values:
            raise ValueError(f"unknown channel {change.channel!r}")
    # One writer per contact at a time (PostgreSQL); SQLite's IMMEDIATE transactions already are.
    locked = Contact.objects.select_for_update().filter(pk=contact_id).values_list("pk", flat=True)
    if not list(locked):
        raise Contact.DoesNotExist(f"no contact #{contact_id}")
    at = at or timezone.now()
    last = ConsentChange.objects.filter(contact_id=contact_id).order_by("-at", "-id") \
        .values_list("at", flat=True).first()
    if last is not None and at < last:
        raise ValueError("a consent change cannot be dated before the contact's last one")

    states = ConsentState.objects.select_for_update(of=("self",)).filter(contact_id=contact_id)
    existing = {(s.channel, s.topic_id): s for s in states}
    state = {key: _row_of(obj) for key, obj in existing.items()}
    was_in = {key for key, row in state.items() if row.status == Status.IN}
    rows: list[ConsentChange] = []
    touched: list[Key] = []
    for change in changes:
        row = ConsentChange(
            contact_id=contact_id, channel=change.channel, topic_id=change.topic_id,
            action=change.action, source=source, form=form, text=text,
            attestation=attestation, ip=ip or None, user_agent=(user_agent or "")[:300],
            actor_label=actor_label[:150], at=at,
            details={**(provenance or {}), **(change.details or {})})
        row.save()
        rows.append(row)
        touched += apply(state, row)
    _write(contact_id, state, dict.fromkeys(touched), existing)

    actions = {c.action for c in changes}
    kind = TIMELINE_KIND[changes[0].action] if len(actions) == 1 else "consent.changed"
    topic_ids = {c.topic_id for c in changes if c.topic_id}
    topics = sorted(Topic.objects.filter(pk__in=topic_ids).values_list("key", flat=True)) \
        if topic_ids else []
    data: dict[str, Any] = {
        "actions": sorted(actions),
        "channels": sorted({c.channel for c in changes}),
        "topics": topics,
        "source": source,
    }
    for name in ("reason", "paused_until", "frequency", "format"):
        values = {str(c.details[name]) for c in changes if c.details.get(name)}
        if len(values) == 1:
            data[name] = values.pop()
    append_event(contact_id, kind, data, actor=actor, at=at)
    _signups_confirmed(contact_id, source, at, state, was_in, touched)
    return rows


def _signups_confirmed(contact_id: int, source: str, at: dt.datetime, state: dict[Key, Row],
                       was_in: set[Key], touched: list[Key]) -> None:
    """Tell SIGNUP_CONFIRMED_HOOKS, after commit, of each (channel, topic) this append
    subscribed: confirmed now (a confirmation, or an opt-in needing none). An import's
    attested opt-in is no sign-up here, and a «۱۲» resume keeps the old confirmation."""
    if source in ATTESTED_SOURCES:
        return
    confirmed = [key for key in dict.fromkeys(touched) if key not in was_in
                 and state[key].status == Status.IN and state[key].confirmed_at == at]
    if not confirmed:
        return
    from peyvand.consent.hooks import SIGNUP_CONFIRMED_HOOKS

    ids = {key[1] for key in confirmed if key[1] is not None}
    keys = dict(Topic.objects.filter(pk__in=ids).values_list("pk", "key")) if ids else {}
    for hook in SIGNUP_CONFIRMED_HOOKS:
        for channel, topic_id in confirmed:
            transaction.on_commit(functools.partial(
                hook, contact_id, channel, keys.get(topic_id) if topic_id else None),
                robust=True)


@transaction.atomic
def rebuild(contact_id: int) -> dict[Key, Row]:
    """Write the cache of a contact from its whole ledger (after a merge moved rows)."""
    state = replay_contact(contact_id)
    locked = ConsentState.objects.select_for_update(of=("self",)).filter(contact_id=contact_id)
    existing = {(s.channel, s.topic_id): s for s in locked}
    for key in set(existing) - set(state):
        existing.pop(key).delete()
    _write(contact_id, state, state.keys(), existing)
    return state


# --- hooks the contacts floor calls -----------------------------------------------------------

@transaction.atomic
def move_consent_rows(survivor_id: int, merged_id: int) -> None:
    """A merge: the merged contact's ledger, keys and sign-ups become the survivor's."""
    ConsentChange.objects.filter(contact_id=merged_id)._reassign(survivor_id)
    ConsentState.objects.filter(contact_id=merged_id).delete()
    ContactKey.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    LinkSent.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    Signup.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    rebuild(survivor_id)


@transaction.atomic
def forget_devices(contact_id: int) -> None:
    """Erasure: the ledger stays (proof and counts) minus the IP and user agent; every public
    link of the person stops working."""
    ConsentChange.objects.filter(contact_id=contact_id)._anonymise()
    Signup.objects.filter(contact_id=contact_id).update(ip=None, code_hash="")
    ContactKey.objects.filter(contact_id=contact_id).delete()
    LinkSent.objects.filter(contact_id=contact_id).delete()

