"""From spooled hits to TrackingEvent rows: who, which message and link, what kind of reader.

`drain_spool()` is the only writer of TrackingEvent. It runs from a Huey periodic task (and
`peyvand tracking drain`), flags machine hits, marks the first open of each message by its
person as the unique open, and in the same transaction adds that open and every human click
to the contact's timeline and interest profile. The fast path only appends hits: counting
them once is the drain's work.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections import Counter, defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction

from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event
from peyvand.tracking import counters, last_engagement, outbox, spool
from peyvand.tracking.links import KIND_CLICK, KIND_OPEN
from peyvand.tracking.models import TrackingEvent, UaClass

# --- who is reading --------------------------------------------------------------------------

_BOT = re.compile(
    r"bot\b|crawl|spider|scan|preview|proofpoint|mimecast|barracuda|symantec|messagelabs|"
    r"trendmicro|fortinet|sophos|forcepoint|ironport|safelinks|urldefense|python-|"
    r"go-http-client|\bcurl/|\bwget/|libwww|java/|okhttp|headlesschrome|phantomjs|"
    r"httpclient|aiohttp|node-fetch|axios|postman|wrk\b",
    re.IGNORECASE)
_MOBILE = re.compile(r"iphone|ipad|ipod|android|mobile|windows phone", re.IGNORECASE)
_BROWSER = re.compile(r"mozilla/|opera|outlook|thunderbird|microsoft office|webkit|gecko",
                      re.IGNORECASE)


def classify_ua(user_agent: str) -> str:
    ua = (user_agent or "").strip()
    if not ua:
        return UaClass.UNKNOWN
    # Apple Mail Privacy Protection fetches every image through a proxy sending exactly this.
    if ua == "Mozilla/5.0":
        return UaClass.APPLE_MPP
    if _BOT.search(ua):
        return UaClass.BOT
    if _MOBILE.search(ua):
        return UaClass.MOBILE
    # Gmail's image proxy ("via ggpht.com GoogleImageProxy") fetches when a person opens.
    if _BROWSER.search(ua):
        return UaClass.BROWSER
    return UaClass.UNKNOWN


def machine_reason(kind: str, ua_class: str, seconds_after_send: float | None) -> str:
    """Why a hit is a machine's, or "" for a person's (as far as anyone can tell)."""
    if ua_class == UaClass.BOT:
        return "scanner"
    if kind == KIND_OPEN and ua_class == UaClass.APPLE_MPP:
        return "privacy-proxy"
    limit = (settings.TRACKING_MACHINE_OPEN_SECONDS if kind == KIND_OPEN
             else settings.TRACKING_MACHINE_CLICK_SECONDS)
    if seconds_after_send is not None and 0 <= seconds_after_send < limit:
        return "too-fast"
    return ""


# --- the drain ----------------------------------------------------------------------------------

_drain_lock = threading.Lock()
BURST_LINKS = 3  # distinct links clicked within BURST_SECONDS: a scanner following them all
BURST_SECONDS = 2.0


def drain_spool(batch: int = 2000) -> int:
    """Move every spooled hit into TrackingEvent exactly once; returns how many were added."""
    added = 0
    with _drain_lock:
        for path, offset, rows, done in spool.batches(batch):
            if rows:
                for attempt in range(3):
                    try:
                        added += _store(rows)
                        break
                    except IntegrityError:  # another process drained some meanwhile
                        if attempt == 2:
                            raise
            spool.save_offset(path, offset)
            if done:
                spool.finish(path)
    return added


@transaction.atomic
def _store(rows: list[tuple]) -> int:
    counters.counting_lock()  # first: a rebuild of the counters runs alone (PostgreSQL)
    hit_ids = [r[0] for r in rows]
    seen = set(TrackingEvent.objects.filter(hit_id__in=hit_ids)
               .values_list("hit_id", flat=True))
    unique = []
    for row in rows:  # a line written twice (a retried write) is still one hit
        if row[0] not in seen:
            seen.add(row[0])
            unique.append(row)
    rows = unique
    if not rows:
        return 0
    facts = outbox.facts({r[2] for r in rows})
    wanted = {r[3] or (facts.get(r[2], (None, None))[0] or 0) for r in rows}
    people = list(Contact.objects.filter(pk__in=wanted)
                  .values_list("pk", "erased_at", "timezone"))
    zones = {pk: zone for pk, _erased, zone in people}
    live = {pk for pk, erased_at, _zone in people if erased_at is None}
    # An erased person's late hits count for the message, without the link or its topic.
    erased = set(zones) - live
    events = []
    for hit_id, kind, message_id, contact_id, issued, url, topic, ua, at in rows:
        outbox_contact, sent_at = facts.get(message_id, (None, None))
        contact_id = contact_id or outbox_contact or 0
        when = dt.datetime.fromtimestamp(at, tz=dt.UTC)
        sent = sent_at or dt.datetime.fromtimestamp(issued, tz=dt.UTC)
        ua_class = classify_ua(ua)
        reason = machine_reason(kind, ua_class, (when - sent).total_seconds())
        events.append(TrackingEvent(
            hit_id=hit_id, kind=TrackingEvent.Kind.OPEN if kind == KIND_OPEN
            else TrackingEvent.Kind.CLICK, message_id=message_id,
            contact_id=contact_id if contact_id in live else None,
            url=url if kind == KIND_CLICK and contact_id not in erased else "",
            topic=topic if contact_id not in erased else "", at=when, ua_class=ua_class,
            machine=bool(reason), machine_reason=reason,
            local_hour=counters.local_hour(when, zones.get(contact_id))))
    _flag_bursts(events)
    _mark_unique_opens(events)
    TrackingEvent.objects.bulk_create(events)  # IntegrityError if another drain got there
    last_engagement.note_stored(events)
    counters.count_stored(events)  # in this transaction: the counts commit with the rows
    _follow_up(events)
    return len(events)


def _mark_unique_opens(events: list[TrackingEvent]) -> None:
    """The earliest open of each (message, contact) not counted yet becomes its unique open;
    every other open stays a hit. A drain racing this one on the same person and message
    trips the unique constraint, and drain_spool tries again with what that one stored."""
    opens = [e for e in events if e.kind == TrackingEvent.Kind.OPEN]
    if not opens:
        return
    counted: set[tuple[int, int | None]] = set(TrackingEvent.objects.filter(
        kind=TrackingEvent.Kind.OPEN, unique_open=True,
        message_id__in={e.message_id for e in opens}).values_list("message_id", "contact_id"))
    for event in sorted(opens, key=lambda e: e.at):
        key = (event.message_id, event.contact_id)
        if key not in counted:
            counted.add(key)
            event.unique_open = True


def _flag_bursts(events: list[TrackingEvent]) -> None:
    """Clicks on many different links of one message within a blink: a link scanner."""
    clicks = defaultdict(list)
    for event in events:
        if event.kind == TrackingEvent.Kind.CLICK:
            clicks[event.message_id].append(event)
    window = dt.timedelta(seconds=BURST_SECONDS)
    stored: list[TrackingEvent] = []  # drained earlier, flagged now
    for message_id, batch in clicks.items():
        earlier = list(TrackingEvent.objects.filter(
            message_id=message_id, kind=TrackingEvent.Kind.CLICK,
            at__range=(min(e.at for e in batch) - window, max(e.at for e in batch) + window)))
        timeline = sorted(batch + earlier, key=lambda e: e.at)
        urls: Counter = Counter()
        left, flagged_to = 0, -1
        for right, event in enumerate(timeline):  # a sliding window, linear in the clicks
            urls[event.url] += 1
            while event.at - timeline[left].at > window:
                urls[timeline[left].url] -= 1
                if not urls[timeline[left].url]:
                    del urls[timeline[left].url]
                left += 1
            if len(urls) >= BURST_LINKS:
                for hit in timeline[max(left, flagged_to + 1):right + 1]:
                    if not hit.machine:
                        hit.machine, hit.machine_reason = True, "all-links"
                        if hit.pk:
                            stored.append(hit)
                flagged_to = right
    _reflag(stored)


def _reflag(stored: list[TrackingEvent]) -> None:
    """Hits drained earlier that a burst shows to be a scanner's: their timeline entry stays,
    they are no longer counted human. Read again under a row lock and only those still
    human are changed, so a drain racing this one (or an erasure) never counts one twice."""
    if not stored:
        return
    rows = list(TrackingEvent.objects.select_for_update().order_by("pk")
                .filter(pk__in=[e.pk for e in stored], machine=False)
                .only("message_id", "kind", "url", "local_hour", "machine", "contact_id"))
    TrackingEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
        machine=True, machine_reason="all-links")
    counters.count_reflagged(rows)
    last_engagement.recount(r.contact_id for r in rows if r.contact_id)


def _follow_up(events: list[TrackingEvent]) -> None:
    """Timeline and interests: the unique open of a message, every human click."""
    from peyvand.tracking.interests import add_click, decayed

    opened = [e for e in events if e.unique_open and e.contact_id]
    for event in sorted(opened, key=lambda e: e.at):
        assert event.contact_id is not None  # (opened has contacts)
        append_event(event.contact_id, "message.opened",
                     {"message_id": event.message_id, "machine": event.machine,
                      "reader": event.ua_class}, at=event.at)
    interests: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    for event in events:
        if event.kind == TrackingEvent.Kind.CLICK and event.contact_id and not event.machine:
            append_event(event.contact_id, "message.clicked",
                         {"message_id": event.message_id, "url": event.url,
                          "topic": event.topic}, at=event.at)
            if event.topic:
                interests[(event.contact_id, event.topic)].append(event.at)
    # One update per person and topic for the whole batch: each click decayed to the latest.
    for (contact_id, topic), times in interests.items():
        latest = max(times)
        add_click(contact_id, topic, latest,
                  weight=sum(decayed(1.0, at, latest) for at in times))
    _call_event_hooks(events)


def _call_event_hooks(events: list[TrackingEvent]) -> None:
    """Tell the floors above (journeys waiting on an open or a click) once the drain has
    committed: human events only, each unique open and every click."""
    from peyvand.tracking.hooks import EVENT_HOOKS

    told = [(e.contact_id, "opened" if e.kind == TrackingEvent.Kind.OPEN else "clicked",
             e.message_id) for e in events if e.contact_id and not e.machine
            and (e.unique_open or e.kind == TrackingEvent.Kind.CLICK)]
    if not told:
        return
    for hook in EVENT_HOOKS:
        for contact_id, kind, message_id in told:
            transaction.on_commit(functools.partial(hook, contact_id, kind, message_id, False),
                                  robust=True)


def move_rows(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: events follow the person; interests are added together."""
    from peyvand.tracking.interests import merge_interests
    from peyvand.tracking.models import BounceReport, SmsSend

    # Messaging's hook (a floor below, so it ran first) dropped the merged contact's copy of
    # a message the survivor also got: its hits stop counting for the sending.
    mine = set(TrackingEvent.objects.filter(contact_id=merged_id)
               .values_list("message_id", flat=True).order_by().distinct())
    counters.forget_messages(mine - set(outbox.sources_of(mine)))
    # One unique open per message and person: the survivor's own stays when both have one.
    TrackingEvent.objects.filter(
        contact_id=merged_id, unique_open=True,
        message_id__in=TrackingEvent.objects.filter(contact_id=survivor_id, unique_open=True)
        .values("message_id")).update(unique_open=False)
    TrackingEvent.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    last_engagement.recount([survivor_id, merged_id])
    BounceReport.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    SmsSend.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    merge_interests(survivor_id, merged_id)
