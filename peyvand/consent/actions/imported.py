"""Subscribers brought from another tool, under an owner's attestation (imports calls these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require
from peyvand.consent import ledger
from peyvand.consent.actions.common import ConsentInvalid
from peyvand.consent.ledger import Change
from peyvand.consent.models import (
    Action,
    Attestation,
    Channel,
    ConsentState,
    Source,
    Status,
    SuppressionReason,
    Topic,
)
from peyvand.consent.queries import CHANNEL_IDENTITY
from peyvand.contacts.models import Contact, Identity

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
