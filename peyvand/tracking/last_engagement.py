"""Each person's last human open and click (LastEngagement), kept equal to what TrackingEvent
says: the latest `at` of the person's open and click hits with machine = False.

Three writers change that answer, and each keeps the row:
- the drain stores hits (`note_stored`: the later of the kept and the new time);
- the drain re-flags stored clicks as a scanner's, and a merge moves hits to the survivor
  (`recount`: the latest again, from the person's hits);
- a contact deleted takes its row with it (the foreign key cascades).
An erasure keeps the hits' kind, time and machine flag, so the row stays as it is.
`rebuild()` counts every row from the hits (the migration, and after a bulk load).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Max, Q

from peyvand.tracking.models import LastEngagement, TrackingEvent

OPEN, CLICK = TrackingEvent.Kind.OPEN, TrackingEvent.Kind.CLICK
_TABLE = LastEngagement._meta.db_table
_COLUMNS = ("last_opened_at", "last_clicked_at")


def note_stored(events: Iterable[TrackingEvent]) -> None:
    """Hits just stored: each person's row moves to their latest human open and click."""
    latest: dict[int, list[Any]] = {}
    for event in events:
        if event.machine or not event.contact_id:
            continue
        row = latest.setdefault(event.contact_id, [None, None])
        i = 0 if event.kind == OPEN else 1
        if row[i] is None or event.at > row[i]:
            row[i] = event.at
    if latest:
        _upsert_later(latest)


def _upsert_later(latest: dict[int, list[Any]]) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    table = quote(_TABLE)
    later = ", ".join(
        f"{quote(c)} = CASE WHEN {table}.{quote(c)} IS NULL OR excluded.{quote(c)} > "
        f"{table}.{quote(c)} THEN excluded.{quote(c)} ELSE {table}.{quote(c)} END"
        for c in _COLUMNS)
    rows = sorted(latest.items())  # one lock order for concurrent drains
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({quote('contact_id')}, {quote(_COLUMNS[0])}, "
                f"{quote(_COLUMNS[1])}) VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))} "
                f"ON CONFLICT ({quote('contact_id')}) DO UPDATE SET {later}",
                [p for pk, (opened, clicked) in chunk
                 for p in (pk, adapt(opened), adapt(clicked))])


def _latest_from_hits(hits) -> Any:
    return hits.filter(machine=False, contact_id__isnull=False).values("contact_id").annotate(
        opened=Max("at", filter=Q(kind=OPEN)), clicked=Max("at", filter=Q(kind=CLICK)))


def recount(contact_ids: Iterable[int]) -> None:
    """These people's rows counted again from their hits (none left: no row). Their rows
    are locked first, so a drain storing a later hit for one of them meanwhile waits and
    then moves it later, rather than being undone by this count."""
    ids = sorted({pk for pk in contact_ids if pk})
    if not ids:
        return
    list(LastEngagement.objects.select_for_update().filter(contact_id__in=ids)
         .order_by("pk").values_list("pk", flat=True))
    latest = {row["contact_id"]: row
              for row in _latest_from_hits(TrackingEvent.objects.filter(contact_id__in=ids))}
    LastEngagement.objects.filter(contact_id__in=set(ids) - set(latest)).delete()
    LastEngagement.objects.bulk_create(
        [LastEngagement(contact_id=pk, last_opened_at=row["opened"],
                        last_clicked_at=row["clicked"]) for pk, row in sorted(latest.items())],
        update_conflicts=True, unique_fields=["contact"], update_fields=list(_COLUMNS))


def rebuild() -> int:
    """Every row counted from the hits in one INSERT … SELECT; returns how many."""
    LastEngagement.objects.all().delete()
    quote = connection.ops.quote_name
    events = quote(TrackingEvent._meta.db_table)
    sql = (f"INSERT INTO {quote(_TABLE)} ({quote('contact_id')}, {quote(_COLUMNS[0])}, "
           f"{quote(_COLUMNS[1])}) SELECT contact_id, "
           f"MAX(CASE WHEN kind = %s THEN at END), MAX(CASE WHEN kind = %s THEN at END) "
           f"FROM {events} WHERE machine = %s AND contact_id IS NOT NULL GROUP BY contact_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(OPEN), str(CLICK), False])
        return cursor.rowcount
