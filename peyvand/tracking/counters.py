"""Opens and clicks per sending, counted as the drain stores them: what the campaign report
reads instead of scanning a million events.

The drain (`events._store`) calls `count_stored` in the transaction that stores the hits, so
a batch that commits has committed its counts and a retried batch (the hit ids are unique)
counts nothing twice. Each number is kept by `upsert_add` (INSERT … ON CONFLICT DO UPDATE
SET n = n + excluded.n, RETURNING the new value), which concurrent drains on PostgreSQL apply
one after the other on each row, rows taken in key order:

- `MessageTally` per outbox message: opens, human opens, clicks, human clicks. A message is
  "opened" (by a person) when its human opens go from 0 to more, "machine-opened" while it
  has opens and no human one, "clicked" when its human clicks go from 0 to more: the new
  value returned by the upsert says whether this change crossed zero, so a race never
  counts a message twice.
- `LinkTally` per (message, link): human clicks; a link's people follow the same way.
- `SourceCounter`, `SourceLink`, `SourceHour` per sending: the sums the report reads.

Unique counts are per message (one per recipient and channel), not per person: a merge moves
events to another contact but never to another message, so it changes nothing here. Hits on
messages the outbox does not know are not counted (no sending to count them for).

Later changes to stored hits follow through the same path, as a hit taken away (-1) and put
back as it now is (+1): `count_reflagged` (the drain finds a burst of clicks over every link
and flags hits it had stored as a machine's), `before_erasure` (an erasure empties the links
a person followed: their clicks move to the link "", and links nobody else followed go),
`forget_messages` (a merge drops the merged contact's copy of a message the survivor also
got: its hits stop counting, as in a recount, which reads only messages the outbox has).
The rows to change are read `FOR UPDATE`, so an erasure and a drain flagging the same hit
see each other's result.

`recount(source)` computes the same numbers from the rows, `rebuild_counters(sources)`
rewrites them from the rows (and fills `local_hour` where it is missing); drains wait for a
rebuild (a PostgreSQL advisory lock, shared by counting writers, exclusive for a rebuild;
SQLite runs one writer at a time anyway).

A little over 400 lines on purpose: the increments, the recount that checks them and the
rebuild say the same definitions three ways and are read together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q

from peyvand.base.dates import zone_of
from peyvand.tracking import outbox
from peyvand.tracking.models import (
    LinkTally,
    MessageTally,
    SourceCounter,
    SourceHour,
    SourceLink,
    TrackingEvent,
)

OPEN, CLICK = TrackingEvent.Kind.OPEN, TrackingEvent.Kind.CLICK
TOTALS = ("opens", "human_opens", "opened", "machine_opened", "clicks", "human_clicks",
          "clicked")
CHUNK = 500  # rows per INSERT statement
LOCK_KEY = 0x70657976616E64  # PostgreSQL advisory lock: counting writers / a rebuild


def url_key(url: str) -> str:
    """A link's key in the tallies: URLs can be longer than an index entry may be."""
    return hashlib.md5(url.encode("utf-8"), usedforsecurity=False).hexdigest()


def local_hour(at: dt.datetime, zone: str | None) -> int:
    """The hour of the day at `at` in the time zone `zone` (the site's when unknown)."""
    return at.astimezone(zone_of(zone)).hour


def counting_lock(exclusive: bool = False) -> None:
    """Writers of counts share the lock, a rebuild takes it alone (until the transaction
    ends). Nothing on SQLite, whose transactions write one at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)" if exclusive
                           else "SELECT pg_advisory_xact_lock_shared(%s)", [LOCK_KEY])


def upsert_add(model: Any, key: Sequence[str], rows: list[dict[str, Any]],
               add: Sequence[str], returning: Sequence[str] = ()) -> list[tuple]:
    """Insert `rows`, or add their `add` columns to the rows already there (the other columns
    keep what they had); returns the `returning` columns as they are now. The one place the
    counters are written: INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n, which
    PostgreSQL and SQLite both speak. Rows go in key order so two writers lock alike."""
    if not rows:
        return []
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = list(rows[0])
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    tail = (f" ON CONFLICT ({', '.join(qn(k) for k in key)}) DO UPDATE SET "
            + ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in add))
    if returning:
        tail += " RETURNING " + ", ".join(qn(c) for c in returning)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            cursor.execute(f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) "
                           f"VALUES {', '.join([one] * len(chunk))}{tail}",
                           [row[c] for row in chunk for c in columns])
            if returning:
                found.extend(cursor.fetchall())
    return found


@dataclasses.dataclass(frozen=True)
class Hit:
    """What of a stored event its counts depend on."""

    message_id: int
    kind: str
    url: str
    hour: int | None
    machine: bool

    @classmethod
    def of(cls, event: TrackingEvent) -> Hit:
        return cls(event.message_id, event.kind, event.url, event.local_hour, event.machine)


# --- changes -------------------------------------------------------------------------------------

def count_stored(events: Iterable[TrackingEvent]) -> None:
    """The drain has just stored `events` (in this transaction): count them."""
    hits = [Hit.of(e) for e in events]
    if hits:
        counting_lock()
        _apply([(h, 1) for h in hits], outbox.sources_of({h.message_id for h in hits}))


def count_reflagged(events: Iterable[TrackingEvent]) -> None:
    """Stored human hits that are now a machine's (their rows read FOR UPDATE, as they were
    before the update)."""
    changes = []
    for event in events:
        hit = Hit.of(event)
        changes += [(hit, -1), (dataclasses.replace(hit, machine=True), 1)]
    _apply_counted(changes)


def before_erasure(contact_id: int) -> None:
    """The erasure is about to empty the links this person followed: their human clicks
    move to the link "" (totals and hours do not change), and a link nobody else followed
    is forgotten (a link may carry the person's address)."""
    counting_lock()  # before any row lock, as every counting writer: no deadlock with a rebuild
    changes = []
    for event in (TrackingEvent.objects.select_for_update()
                  .filter(contact_id=contact_id, kind=CLICK, machine=False).exclude(url="")
                  .only("message_id", "kind", "url", "local_hour", "machine")):
        hit = Hit.of(event)
        changes += [(hit, -1), (dataclasses.replace(hit, url=""), 1)]
    _apply_counted(changes)
    # A link only they followed (one made for them: ?u=their address) goes altogether.
    keys = {url_key(hit.url) for hit, sign in changes if sign < 0}
    LinkTally.objects.filter(message_id__in={h.message_id for h, _ in changes},
                             url_key__in=keys, human_clicks=0).delete()
    SourceLink.objects.filter(url_key__in=keys, clicks=0, clickers=0).delete()


def forget_messages(message_ids: set[int]) -> None:
    """Messages the outbox no longer has: their hits stop counting."""
    if not message_ids:
        return
    counting_lock()
    events = (TrackingEvent.objects.select_for_update().filter(message_id__in=message_ids)
              .only("message_id", "kind", "url", "local_hour", "machine"))
    _apply_counted([(Hit.of(e), -1) for e in events])
    MessageTally.objects.filter(message_id__in=message_ids).delete()
    LinkTally.objects.filter(message_id__in=message_ids).delete()


def _apply_counted(changes: list[tuple[Hit, int]]) -> None:
    """Changes to hits counted before: their sending is the one they were counted for."""
    if changes:
        counting_lock()
        ids = {h.message_id for h, _ in changes}
        _apply(changes, dict(MessageTally.objects.filter(message_id__in=ids)
                             .values_list("message_id", "source")))


def _apply(changes: list[tuple[Hit, int]], sources: dict[int, str]) -> None:
    per_message: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_link: dict[tuple[int, str], int] = defaultdict(int)
    urls: dict[str, str] = {}
    per_hour: dict[tuple[str, str, int], int] = defaultdict(int)
    for hit, sign in changes:
        source = sources.get(hit.message_id)
        if source is None:
            continue
        human = 0 if hit.machine else sign
        tally = per_message[hit.message_id]
        if hit.kind == OPEN:
            tally[0] += sign
            tally[1] += human
        else:
            tally[2] += sign
            tally[3] += human
            if human:
                key = url_key(hit.url)
                per_link[(hit.message_id, key)] += human
                urls[key] = hit.url
        if human and hit.hour is not None:
            per_hour[(source, hit.kind, hit.hour)] += human
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTALS, 0))
    _count_messages(per_message, sources, totals)
    links = _count_links(per_link, sources)
    upsert_add(SourceLink, ("source", "url_key"),
               [{"source": s, "url_key": k, "url": urls[k], "clicks": c, "clickers": p}
                for (s, k), (c, p) in links.items() if c or p], add=("clicks", "clickers"))
    upsert_add(SourceHour, ("source", "kind", "hour"),
               [{"source": s, "kind": k, "hour": h, "hits": n}
                for (s, k, h), n in per_hour.items() if n], add=("hits",))
    upsert_add(SourceCounter, ("source",),
               [{"source": s, **t} for s, t in totals.items() if any(t.values())], add=TOTALS)


def _count_messages(per_message: dict[int, list[int]], sources: dict[int, str],
                    totals: dict[str, dict[str, int]]) -> None:
    after = upsert_add(
        MessageTally, ("message_id",),
        [{"message_id": m, "source": sources[m], "opens": d[0], "human_opens": d[1],
          "clicks": d[2], "human_clicks": d[3]} for m, d in per_message.items() if any(d)],
        add=("opens", "human_opens", "clicks", "human_clicks"),
        returning=("message_id", "opens", "human_opens", "human_clicks"))
    for message_id, opens, human_opens, human_clicks in after:
        d = per_message[message_id]
        was_opens, was_human, was_clicks = opens - d[0], human_opens - d[1], human_clicks - d[3]
        t = totals[sources[message_id]]
        t["opens"] += d[0]
        t["human_opens"] += d[1]
        t["clicks"] += d[2]
        t["human_clicks"] += d[3]
        t["opened"] += (human_opens > 0) - (was_human > 0)
        t["machine_opened"] += ((opens > 0 and human_opens == 0)
                                - (was_opens > 0 and was_human == 0))
        t["clicked"] += (human_clicks > 0) - (was_clicks > 0)


def _count_links(per_link: dict[tuple[int, str], int], sources: dict[int, str]) \
        -> dict[tuple[str, str], list[int]]:
    """(source, url key) -> [human clicks, people] added by these changes."""
    after = upsert_add(
        LinkTally, ("message_id", "url_key"),
        [{"message_id": m, "url_key": k, "source": sources[m], "human_clicks": n}
         for (m, k), n in per_link.items() if n],
        add=("human_clicks",), returning=("message_id", "url_key", "human_clicks"))
    links: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for message_id, key, now in after:
        added = per_link[(message_id, key)]
        entry = links[(sources[message_id], key)]
        entry[0] += added
        entry[1] += (now > 0) - (now - added > 0)
    return links


# --- reading and recounting ----------------------------------------------------------------------

def read(sources: list[str]) -> dict[str, Any]:
    """The counters of these sendings added together (each message belongs to one)."""
    out: dict[str, Any] = dict.fromkeys(TOTALS, 0)
    for row in SourceCounter.objects.filter(source__in=sources).values(*TOTALS):
        for name in TOTALS:
            out[name] += row[name]
    links: dict[str, list] = {}
    for key, url, clicks, clickers in (SourceLink.objects.filter(source__in=sources,
                                                                 clicks__gt=0)
                                       .values_list("url_key", "url", "clicks", "clickers")):
        entry = links.setdefault(key, [url, 0, 0])
        entry[1] += clicks
        entry[2] += clickers
    out["links"] = _sorted_links((url, c, p) for url, c, p in links.values())
    out["hours"] = _hours(SourceHour.objects.filter(source__in=sources)
                          .values_list("kind", "hour", "hits"))
    return out


def recount(source: str) -> dict[str, Any]:
    """The numbers `read([source])` gives, counted from the events of its messages."""
    events = TrackingEvent.objects.filter(message_id__in=outbox.with_sources([source]))
    human = Q(machine=False)
    out = events.aggregate(
        opens=Count("pk", filter=Q(kind=OPEN)),
        human_opens=Count("pk", filter=Q(kind=OPEN) & human),
        opened=Count("message_id", filter=Q(kind=OPEN) & human, distinct=True),
        any_opened=Count("message_id", filter=Q(kind=OPEN), distinct=True),
        clicks=Count("pk", filter=Q(kind=CLICK)),
        human_clicks=Count("pk", filter=Q(kind=CLICK) & human),
        clicked=Count("message_id", filter=Q(kind=CLICK) & human, distinct=True))
    out["machine_opened"] = out.pop("any_opened") - out["opened"]
    out["links"] = _sorted_links(
        events.filter(human, kind=CLICK).values("url").order_by("url")
        .annotate(c=Count("pk"), p=Count("message_id", distinct=True))
        .values_list("url", "c", "p"))
    out["hours"] = _hours(events.filter(human, local_hour__isnull=False)
                          .values("kind", "local_hour").order_by("kind", "local_hour")
                          .annotate(n=Count("pk")).values_list("kind", "local_hour", "n"))
    return out


def _sorted_links(rows: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    links = [{"url": url, "clicks": clicks, "unique": people} for url, clicks, people in rows]
    return sorted(links, key=lambda link: (-link["clicks"], -link["unique"], link["url"]))


def _hours(rows: Iterable[tuple[str, int | None, int]]) -> dict[str, list[int]]:
    hours = {OPEN.value: [0] * 24, CLICK.value: [0] * 24}
    for kind, hour, n in rows:
        if hour is not None:
            hours[kind][hour] += n
    return hours


# --- rebuilding ----------------------------------------------------------------------------------

def rebuild_counters(sources: list[str] | None = None) -> int:
    """Rewrite the counters of `sources` (None: every sending) from the events; returns how
    many sendings have counters now. Drains wait meanwhile (PostgreSQL)."""
    with transaction.atomic():
        counting_lock(exclusive=True)
        fill_local_hours(sources)
        for model in (MessageTally, LinkTally, SourceLink, SourceHour, SourceCounter):
            rows = model.objects.all()
            (rows if sources is None else rows.filter(source__in=sources)).delete()
        where, params = _where_sources(sources)
        joined = (f"FROM {_qn(TrackingEvent._meta.db_table)} e "
                  f"JOIN {_qn(outbox.table())} m ON m.id = e.message_id {where}")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_qn(MessageTally._meta.db_table)} (message_id, source, opens, "
                "human_opens, clicks, human_clicks) SELECT e.message_id, m.source, "
                "SUM(CASE WHEN e.kind = %s THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN e.kind = %s AND e.machine = %s THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN e.kind = %s THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN e.kind = %s AND e.machine = %s THEN 1 ELSE 0 END) "
                f"{joined} GROUP BY e.message_id, m.source",
                [OPEN, OPEN, False, CLICK, CLICK, False, *params])
            cursor.execute(
                f"INSERT INTO {_qn(SourceHour._meta.db_table)} (source, kind, hour, hits) "
                f"SELECT m.source, e.kind, e.local_hour, COUNT(*) {joined} "
                f"{'AND' if where else 'WHERE'} e.machine = %s AND e.local_hour IS NOT NULL "
                "GROUP BY m.source, e.kind, e.local_hour", [*params, False])
            cursor.execute(
                f"SELECT e.message_id, m.source, e.url, COUNT(*) {joined} "
                f"{'AND' if where else 'WHERE'} e.kind = %s AND e.machine = %s "
                "GROUP BY e.message_id, m.source, e.url", [*params, CLICK, False])
            clicked = cursor.fetchall()
            _rebuild_links(clicked)
            tally_where = "" if sources is None else where.replace("m.source", "source")
            cursor.execute(
                f"INSERT INTO {_qn(SourceCounter._meta.db_table)} (source, {', '.join(TOTALS)}) "
                "SELECT source, SUM(opens), SUM(human_opens), "
                "SUM(CASE WHEN human_opens > 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN opens > 0 AND human_opens = 0 THEN 1 ELSE 0 END), "
                "SUM(clicks), SUM(human_clicks), "
                "SUM(CASE WHEN human_clicks > 0 THEN 1 ELSE 0 END) "
                f"FROM {_qn(MessageTally._meta.db_table)} {tally_where} GROUP BY source",
                params)
        return SourceCounter.objects.filter(
            **({} if sources is None else {"source__in": sources})).count()


def _rebuild_links(clicked: list[tuple[int, str, str, int]]) -> None:
    tallies: list[LinkTally] = []
    links: dict[tuple[str, str], SourceLink] = {}
    for message_id, source, url, n in clicked:
        key = url_key(url)
        tallies.append(LinkTally(message_id=message_id, url_key=key, source=source,
                                 human_clicks=n))
        link = links.setdefault((source, key), SourceLink(source=source, url_key=key, url=url))
        link.clicks += n
        link.clickers += 1
    LinkTally.objects.bulk_create(tallies, batch_size=CHUNK)
    SourceLink.objects.bulk_create(list(links.values()), batch_size=CHUNK)


def fill_local_hours(sources: list[str] | None = None) -> int:
    """Give events stored before local hours were kept their hour in their contact's time
    zone (the site's for an event without contact); returns how many."""
    events = TrackingEvent.objects.filter(local_hour__isnull=True)
    if sources is not None:
        events = events.filter(message_id__in=outbox.with_sources(sources))
    by_hour: dict[int, list[int]] = defaultdict(list)
    for pk, at, zone in events.values_list("pk", "at", "contact__timezone").iterator(CHUNK):
        by_hour[local_hour(at, zone)].append(pk)
    for hour, pks in by_hour.items():
        for start in range(0, len(pks), CHUNK):
            TrackingEvent.objects.filter(pk__in=pks[start:start + CHUNK]).update(
                local_hour=hour)
    return sum(len(pks) for pks in by_hour.values())


def _where_sources(sources: list[str] | None) -> tuple[str, list[str]]:
    if sources is None:
        return "", []
    if not sources:
        return "WHERE 1 = 0", []
    return f"WHERE m.source IN ({', '.join(['%s'] * len(sources))})", list(sources)


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)
