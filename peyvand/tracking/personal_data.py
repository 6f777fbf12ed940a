"""What tracking holds about a person: opens and clicks, interests, SMS sends, bounce reports;
for the subject-access export and erasure. Registered in contacts' hooks from
TrackingConfig.ready.

After an erasure, events keep their kind, time, local hour and reader class (message
statistics; the sending's link counters move the person's clicks to the link ""), SMS
sends their status, bounce reports their kind and status code; links followed, interests,
numbers, addresses and the reports' texts go. Hits still in the spool are stored (as the
erased contact's, without link) and their lines in the spool files written over.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from peyvand.base.scrub import Needles, blank_columns, stored_text_filter
from peyvand.tracking.counters import before_erasure
from peyvand.tracking.interests import decayed
from peyvand.tracking.models import (
    BounceReport,
    CatcherSms,
    InterestScore,
    SmsSend,
    TrackingEvent,
)
from peyvand.tracking.sms_links import erase_links

logger = logging.getLogger(__name__)

# Columns an erasure keeps; every other one (and any added later) is emptied.
EVENT_KEPT = ("hit_id", "kind", "message_id", "contact", "at", "ua_class", "machine",
              "machine_reason", "local_hour")
SMS_KEPT = ("gateway", "provider_id", "contact", "message_id", "parts", "status", "sent_at",
            "updated_at")
BOUNCE_KEPT = ("kind", "message_id", "contact", "status", "source", "suppressed",
               "received_at")


def export_sections(contact_id: int) -> dict[str, Any]:
    now = timezone.now()
    events = TrackingEvent.objects.filter(contact_id=contact_id).order_by("at", "id")
    interests = InterestScore.objects.filter(contact_id=contact_id).order_by("topic")
    sms = SmsSend.objects.filter(contact_id=contact_id).order_by("sent_at", "id")
    bounces = BounceReport.objects.filter(contact_id=contact_id).order_by("received_at", "id")
    return {
        "tracking_events": [{"kind": e.kind, "at": e.at, "message_id": e.message_id,
                             "url": e.url, "topic": e.topic, "reader": e.ua_class,
                             "machine": e.machine, "machine_reason": e.machine_reason}
                            for e in events],
        "interests": [{"topic": i.topic, "score": i.score, "updated": i.updated,
                       "score_now": round(decayed(i.score, i.updated, now), 3)}
                      for i in interests],
        "sms_sends": [{"to": s.to, "gateway": s.gateway, "message_id": s.message_id,
                       "parts": s.parts, "status": s.status, "sent_at": s.sent_at}
                      for s in sms],
        "bounces": [{"kind": b.kind, "recipient": b.recipient, "status": b.status,
                     "diagnostic": b.diagnostic, "subject": b.subject,
                     "received_at": b.received_at} for b in bounces],
    }


def addresses(contact_id: int) -> Iterable[str]:
    numbers = SmsSend.objects.filter(contact_id=contact_id).values_list("to", flat=True)
    recipients = BounceReport.objects.filter(contact_id=contact_id) \
        .values_list("recipient", flat=True)
    return {v for v in [*numbers, *recipients] if v}


def erase(contact_id: int) -> dict[str, int]:
    """contacts erase hook: the links someone followed, what they like, their numbers."""
    before_erasure(contact_id)  # their clicks stop counting for the links they followed
    done = {
        "tracking_events": blank_columns(TrackingEvent.objects.filter(contact_id=contact_id),
                                         EVENT_KEPT),
        "interests": InterestScore.objects.filter(contact_id=contact_id).delete()[0],
        "sms_sends": blank_columns(SmsSend.objects.filter(contact_id=contact_id), SMS_KEPT),
        "bounce_reports": blank_columns(BounceReport.objects.filter(contact_id=contact_id),
                                        BOUNCE_KEPT),
        # a short link's URL may carry the person's details (?u=their address)
        "sms_short_links": erase_links(contact_id),
    }
    transaction.on_commit(lambda: forget_spooled_hits(contact_id))
    return done


def erase_copies(needles: Needles, since: dt.datetime | None = None) -> dict[str, int]:
    """contacts erase-copies hook: reports not tied to a contact that name the person, and
    texts the SMS catcher kept for their numbers."""
    forms = needles.stored_forms()
    unlinked = BounceReport.objects.filter(contact__isnull=True)
    caught = CatcherSms.objects.filter(to__in=forms)
    if since:
        unlinked = unlinked.filter(received_at__gte=since)
        caught = caught.filter(created_at__gte=since)
    found = set(unlinked.filter(stored_text_filter(needles, "recipient"))
                .values_list("pk", flat=True))
    for pk, raw, text in unlinked.exclude(pk__in=found).values_list(
            "pk", "raw", "diagnostic").iterator():
        if needles.found_in(text) or (raw and needles.found_in(
                bytes(raw).decode("utf-8", "replace"))):
            found.add(pk)
    reports = blank_columns(BounceReport.objects.filter(pk__in=found), BOUNCE_KEPT)
    return {"bounce_reports": reports, "caught_sms": caught.delete()[0]}


def forget_spooled_hits(contact_id: int) -> None:
    """After the erasure commits: store what the spool holds (the drain keeps no link for an
    erased person), then write over the person's lines the drain has read."""
    from peyvand.tracking import spool
    from peyvand.tracking.events import drain_spool

    try:
        drain_spool()
        spool.blank_lines(contact_id)
    except Exception:  # noqa: BLE001 - the erasure has committed: tell the operator
        logger.exception("tracking spool: hits of erased contact #%s not written over",
                         contact_id)
