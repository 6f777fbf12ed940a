"""The person's own changes: preference centre, pause, frequency, unsubscribe."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import normalise_text
from peyvand.consent import ledger
from peyvand.consent.actions.common import (
    FREQUENCY_ORDER,
    PAUSE_WEEKS,
    UNSUBSCRIBE_REASONS,
    ConsentInvalid,
)
from peyvand.consent.ledger import Change
from peyvand.consent.models import (
    Action,
    Channel,
    ConsentState,
    Format,
    Frequency,
    Source,
    Status,
    Topic,
)
from peyvand.contacts.actions import do_update_contact
from peyvand.contacts.models import Contact

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
