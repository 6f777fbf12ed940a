"""Benchmark: counting and materialising a 3-condition segment, against hand-written SQL.

    .venv/bin/python bench/segments.py [--contacts 1000000] [--orders 10000000]
                                       [--events 10000000] [--database-url URL] [--keep]
                                       [--reuse] [--repeat 5]
    .venv/bin/python bench/segments.py --sqlite        # 100,000 contacts, 1,000,000 orders
                                                       # and events, in a temporary SQLite

Creates a fresh database (default postgres://postgres@127.0.0.1:5432/peyvand_bench_segments;
dropped at the end unless --keep; `--reuse` measures again on a database a `--keep` run
left) and fills it in SQL (INSERT … SELECT over a number series, secondary indexes rebuilt
after the load, then VACUUM ANALYZE): N contacts; orders in time order over three years,
bought mostly by a heavy-tailed share of the contacts, 3% cancelled; tracking events in time
order over one year (35% clicks, 5% by machines), spread over contacts by another
heavy-tailed draw; and insights metrics for every customer, ~10% of them in the top tier.
Then, in a fresh child process (so its peak RSS is the measurement's alone):

  1. the segment "spent more than X in the last 365 days AND clicked any campaign in the
     last 90 days AND NOT in the most valuable tier", counted as Peyvand counts it
     (`audiences.queries.count_of(matching(rule))`) and by hand-written SQL, alternately,
     --repeat times each on a warm cache, both with the session settings Peyvand gives its
     segment queries (on PostgreSQL: jit off for the connection, work_mem 64MB in the
     query's transaction); medians, their ratio and both answers (they must agree);
  2. EXPLAIN (ANALYZE, BUFFERS) of both (EXPLAIN QUERY PLAN on SQLite), and whether each
     index this benchmark depends on appears in the plans;
  3. materialising membership (`audiences.actions.refresh_segment`) of the segment of every
     contact ({"all": []}) and of the 3-condition one: the first refresh (a baseline) and a
     second one (nothing changed: the steady state), each statement timed; against writing
     the same membership rows by hand (one INSERT … SELECT).

Goals (issue 16) on PostgreSQL at 1,000,000 contacts, 10,000,000 orders and 10,000,000
events: count <= 1.5 × the hand-written SQL and under 1 s; materialising 1,000,000 members
under 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/insights.py: the throw-away database and the peak RSS, measured the same way.
from insights import _bare, drop_database, peak_rss_mb, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peyvand_bench_segments"
NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)
DAY = 86400
ORDER_SPAN, EVENT_SPAN = 3 * 365 * DAY, 365 * DAY
# Chosen so that the answer is a few percent of the contacts (minor units, rial).
SPENT_OVER = 6_000_000
TABLES = ["contacts_contact", "commerce_order", "tracking_trackingevent",
          "insights_customermetrics"]
# Indexes the measured statements should use (name: what for); printed with the plans.
INDEXES = {
    "order_changed_since": "commerce 0005: customers whose orders changed since the build",
    "order_sales_by_time": "commerce 0004: a window of everyone's sales, read alone",
    "order_by_contact_time": "commerce 0003: sales per contact and time, read alone",
    "insights_cu_value_t_60ec17_idx": "insights 0002: contacts in a value tier",
}


def rule(spent_over: int) -> dict:
    return {"all": [
        {"field": "orders.total_spent", "op": "gt", "value": spent_over,
         "in_last": {"days": 365}},
        {"field": "engagement.clicked", "op": "within_last", "value": {"days": 90}},
        {"not": {"field": "insights.tier", "op": "eq", "value": "most_valuable"}},
    ]}


# The same question as a person who knows SQL would ask it: sales of the last 365 days
# grouped per contact, a semi-join on human clicks of the last 90 days, an anti-join on the
# top tier. "Sales" and "human" as commerce and tracking define them.
HAND_COUNT = """
SELECT COUNT(*) FROM contacts_contact c
WHERE c.erased_at IS NULL
  AND c.id IN (SELECT o.contact_id FROM commerce_order o
               WHERE o.deleted_at IS NULL AND o.status NOT IN ('cancelled', 'failed', 'draft')
                 AND o.placed_at >= %(year)s
               GROUP BY o.contact_id HAVING SUM(o.total) > %(over)s)
  AND EXISTS (SELECT 1 FROM tracking_trackingevent t
              WHERE t.contact_id = c.id AND t.kind = 'click' AND NOT t.machine
                AND t.at >= %(quarter)s)
  AND NOT EXISTS (SELECT 1 FROM insights_customermetrics m
                  WHERE m.contact_id = c.id AND m.value_tier = 'most_valuable')
"""
# The same question by hand over the kept recent sales (commerce.RecentSales) and each
# person's last human click (tracking.LastEngagement), as Peyvand asks it: the kept year's
# sum, except for customers whose orders changed since the build or sit on the window's
# moving edge, whose year is summed from the orders.
CHANGED = """SELECT o.contact_id FROM commerce_order o
                 WHERE o.updated_at >= %(changed)s OR o.placed_at >= %(end)s
                    OR (o.placed_at >= %(kept_start)s AND o.placed_at < %(year)s)"""
HAND_COUNT_KEPT = f"""
WITH changed AS ({CHANGED})
SELECT COUNT(*) FROM contacts_contact c
WHERE c.erased_at IS NULL
  AND c.id IN (SELECT r.contact_id FROM commerce_recentsales r
               WHERE r.spent_365 > %(over)s
                 AND r.contact_id NOT IN (SELECT contact_id FROM changed)
               UNION ALL
               SELECT o.contact_id FROM commerce_order o
               WHERE o.contact_id IN (SELECT contact_id FROM changed)
                 AND o.deleted_at IS NULL AND o.status NOT IN ('cancelled', 'failed', 'draft')
                 AND o.placed_at >= %(year)s
               GROUP BY o.contact_id HAVING SUM(o.total) > %(over)s)
  AND EXISTS (SELECT 1 FROM tracking_lastengagement e
              WHERE e.contact_id = c.id AND e.last_clicked_at >= %(quarter)s)
  AND NOT EXISTS (SELECT 1 FROM insights_customermetrics m
                  WHERE m.contact_id = c.id AND m.value_tier = 'most_valuable')
"""
# The kept sums are rebuilt nightly: the count is measured half a day after the build, with
# the orders placed since and those that left the window since summed again.
BUILD_AGE = dt.timedelta(hours=12)
HAND_EVERYONE = ("INSERT INTO audiences_segmentmember (segment_id, contact_id, since) "
                 "SELECT %(segment)s, id, %(now)s FROM contacts_contact WHERE erased_at IS NULL")


# --- data ---------------------------------------------------------------------------------------

class Loader:
    """INSERT … SELECT over a number series, in PostgreSQL's or SQLite's words."""

    def __init__(self, conn, sqlite: bool):
        self.conn, self.sqlite = conn, sqlite

    def run(self, sql: str, params: tuple = ()) -> None:
        if self.sqlite:
            self.conn.execute(sql.replace("%s", "?"), params)
        else:
            self.conn.execute(sql, params)

    def one(self, sql: str):
        return self.conn.execute(sql).fetchone()[0]

    def series(self, n: int) -> str:
        if self.sqlite:
            return (f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                    f"WHERE i < {n}) SELECT i FROM s) g")
        return f"generate_series(1, {n}) g(i)"

    @property
    def rnd(self) -> str:
        """A uniform draw from [0, 1), a new one at each use."""
        return "((random() & 1073741823) / 1073741824.0)" if self.sqlite else "random()"

    def stamp(self, epoch: str) -> str:
        """A datetime column's value from Unix seconds, as Django stores it."""
        if self.sqlite:
            return f"strftime('%Y-%m-%d %H:%M:%S', CAST({epoch} AS INTEGER), 'unixepoch')"
        return f"to_timestamp(floor({epoch}))"

    def fillers(self, table: str, given: set[str]) -> dict[str, str]:
        """A neutral value for every NOT NULL column without a database default that the
        load does not give (Django's defaults live in Python, not in the schema)."""
        if self.sqlite:
            cols = [(r[1], r[2].lower()) for r in self.conn.execute(
                f"PRAGMA table_info({table})") if r[3] and r[4] is None and not r[5]]
        else:
            cols = self.conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
                "AND is_identity = 'NO'", [table]).fetchall()
        out = {}
        for name, kind in cols:
            if name in given:
                continue
            if "bool" in kind:
                out[name] = "false" if not self.sqlite else "0"
            elif any(k in kind for k in ("int", "real", "double", "numeric", "decimal")):
                out[name] = "0"
            elif "timestamp" in kind or "datetime" in kind:
                out[name] = self.stamp(str(int(NOW.timestamp())))
            elif kind == "date":
                out[name] = f"'{NOW.date().isoformat()}'"
            elif "json" in kind:
                out[name] = "'{}'"
            else:
                out[name] = "''"
        return out

    def insert(self, table: str, values: dict[str, str], source: str) -> None:
        values = {**values, **self.fillers(table, set(values))}
        self.run(f"INSERT INTO {table} ({', '.join(values)}) "
                 f"SELECT {', '.join(values.values())} FROM {source}")


def _bare_sqlite(conn) -> list[str]:
    restore = []
    for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' * len(TABLES))})", TABLES).fetchall():
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(sql)
    return restore


def load(conn, sqlite: bool, contacts: int, orders: int, events: int) -> dict[str, float]:
    """Fill the tables; returns seconds per step."""
    db = Loader(conn, sqlite)
    r = db.rnd
    times: dict[str, float] = {}
    now = int(NOW.timestamp())

    def step(name: str, fn) -> None:
        started = time.perf_counter()
        fn()
        times[name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {times[name]} s", flush=True)

    if sqlite:
        restore = _bare_sqlite(conn)
    else:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SELECT setseed(0.1403)")
        restore = _bare(conn, TABLES)
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    step("contacts", lambda: db.insert("contacts_contact", {
        "first_name": "'Customer ' || i", "language": "'fa'", "timezone": "'Asia/Tehran'",
        "source": "'bench'", "created_at": db.stamp(str(now - ORDER_SPAN))}, db.series(contacts)))
    first = db.one("SELECT MIN(id) FROM contacts_contact")
    # Orders in time order, as a shop's table grows; the buyer is a product of two uniform
    # draws, so a contact at rank x buys in proportion to -ln(x) (a few buy very often, most
    # now and then, the last ~10% seldom or never).
    step("orders", lambda: db.insert("commerce_order", {
        "source": "'bench'", "external_id": "CAST(i AS TEXT)",
        "contact_id": f"{first} + CAST(floor({contacts} * {r} * {r}) AS INTEGER)",
        "placed_at": db.stamp(f"{now - ORDER_SPAN} + i * {ORDER_SPAN / orders}"),
        "status": f"CASE WHEN {r} < 0.03 THEN 'cancelled' ELSE 'completed' END",
        "currency": "'IRR'",
        "total": f"1000 * (20 + CAST(floor(4000 * {r} * {r}) AS INTEGER))",
        "delivery_status": "'delivered'",
        "created_at": db.stamp(str(now)), "updated_at": db.stamp(str(now))},
        db.series(orders)))
    # Tracking events of the last year; engagement is heavy-tailed too, and its order over
    # the contacts is a permutation of the buyers' (7919 is prime), so the two only partly
    # coincide.
    step("events", lambda: db.insert("tracking_trackingevent", {
        "hit_id": "CAST(i AS TEXT)",
        "kind": f"CASE WHEN {r} < 0.35 THEN 'click' ELSE 'open' END",
        "message_id": f"1 + CAST(floor(2000 * {r}) AS INTEGER)",
        "contact_id": f"{first} + mod(CAST(floor({contacts} * {r} * {r}) AS BIGINT) * 7919, "
                      f"{contacts})",
        "at": db.stamp(f"{now - EVENT_SPAN} + i * {EVENT_SPAN / events}"),
        "ua_class": "'browser'",
        "machine": f"({r} < 0.05)"}, db.series(events)))
    # Every customer has metrics; the top tier is mostly the heaviest buyers, some others.
    step("metrics", lambda: db.insert("insights_customermetrics", {
        "contact_id": "c.id", "as_of": f"'{NOW.date().isoformat()}'", "currency": "'IRR'",
        "value_tier": f"CASE WHEN c.id - {first} < {contacts // 20} OR {r} < 0.05 "
                      f"THEN 'most_valuable' ELSE 'rest' END",
        "updated_at": db.stamp(str(now))},
        "contacts_contact c WHERE c.id IN (SELECT DISTINCT contact_id FROM commerce_order)"))

    def finish() -> None:
        for statement in restore:
            conn.execute(statement)
        if sqlite:
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
        else:
            conn.execute("VACUUM ANALYZE")

    step("indexes and analyze", finish)
    return times


# --- the measured part (child process) -------------------------------------------------------

class Recorder:
    """Statements run through Django's connection, with their seconds."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append({"sql": sql, "params": params,
                               "s": time.perf_counter() - started})


def _plan(cursor, sql: str, params, sqlite: bool) -> list[str]:
    if sqlite:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [f"{row[0]:>3} {row[1]:>3}  {row[3]}" for row in cursor.fetchall()]
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    return [row[0] for row in cursor.fetchall()]


def _shape(sql: str) -> str:
    """A statement's words without its column lists, for the report."""
    return " ".join(sql.split())[:160]


def measure(opts: dict) -> dict:
    import django

    django.setup()
    from django.db import connection

    from peyvand.audiences.actions import refresh_segment
    from peyvand.audiences.models import Segment
    from peyvand.audiences.queries import count_of, matching, segment_work_memory
    from peyvand.commerce.actions import refresh_recent_sales
    from peyvand.commerce.queries import COMMIT_MARGIN
    from peyvand.tracking import last_engagement

    sqlite = connection.vendor == "sqlite"
    out: dict = {"vendor": connection.vendor, "rss_start_mb": round(peak_rss_mb())}
    with connection.cursor() as cursor:  # what an earlier --reuse run left
        for table in ("audiences_segmentchange", "audiences_segmentmember", "audiences_segment"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("SELECT COUNT(*) FROM contacts_contact")
        out["contacts"] = cursor.fetchone()[0]

    # The nightly build of the kept recent sales (commerce's task), half a day before NOW.
    started = time.perf_counter()
    build = refresh_recent_sales(now=NOW - BUILD_AGE)
    out["kept_build"] = {"s": round(time.perf_counter() - started, 2),
                         "customers": build.customers}
    # Each person's last human open and click: the drain keeps them as hits are stored; the
    # hits here were loaded in SQL, so they are counted once (and analysed: autovacuum may
    # be off, as on this machine).
    started = time.perf_counter()
    people = last_engagement.rebuild()
    if not sqlite:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tracking_lastengagement")
    out["engagement_build"] = {"s": round(time.perf_counter() - started, 2), "people": people}
    adapt = connection.ops.adapt_datetimefield_value
    hand_params = {"year": adapt(NOW - dt.timedelta(days=365)),
                   "quarter": adapt(NOW - dt.timedelta(days=90)), "over": opts["spent_over"]}
    kept_params = {**hand_params, "changed": adapt(build.taken_at - COMMIT_MARGIN),
                   "end": adapt(build.window_end),
                   "kept_start": adapt(build.window_end - dt.timedelta(days=365))}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT contact_id) FROM ({CHANGED}) x", kept_params)
        out["kept_build"]["changed"] = cursor.fetchone()[0]
    qs = matching(rule(opts["spent_over"]), now=NOW)
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        peyvand_count = count_of(qs)
    count_sql, count_params = next((c["sql"], c["params"]) for c in recorder.calls
                                   if "COUNT(" in c["sql"].upper())
    if not sqlite:  # what the measured statements run with
        with segment_work_memory(), connection.cursor() as cursor:
            out["settings"] = {}
            for name in ("jit", "work_mem", "max_parallel_workers_per_gather"):
                cursor.execute(f"SHOW {name}")
                out["settings"][name] = cursor.fetchone()[0]
    out["peyvand_sql"] = count_sql % tuple(
        repr(p) if isinstance(p, str) else p for p in count_params)

    def hand(sql: str = HAND_COUNT, params: dict = hand_params) -> int:
        with segment_work_memory(), connection.cursor() as cursor:  # Peyvand's session
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    hand_count = hand()  # both warmed once above
    assert hand(HAND_COUNT_KEPT, kept_params) == hand_count
    peyvand_s, hand_s, summed_s = [], [], []
    for _ in range(opts["repeat"]):
        started = time.perf_counter()
        assert count_of(qs) == peyvand_count
        peyvand_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert hand(HAND_COUNT_KEPT, kept_params) == hand_count
        hand_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert hand() == hand_count
        summed_s.append(time.perf_counter() - started)
    out["count"] = {"peyvand": peyvand_count, "hand": hand_count,
                    "peyvand_s": [round(s, 3) for s in peyvand_s],
                    "hand_s": [round(s, 3) for s in hand_s],
                    "summed_s": [round(s, 3) for s in summed_s],
                    "peyvand_median_s": round(statistics.median(peyvand_s), 3),
                    "hand_median_s": round(statistics.median(hand_s), 3),
                    "summed_median_s": round(statistics.median(summed_s), 3)}
    out["count"]["ratio"] = round(statistics.median(peyvand_s) / statistics.median(hand_s), 2)
    with segment_work_memory(), connection.cursor() as cursor:
        out["plans"] = {"peyvand": _plan(cursor, count_sql, count_params, sqlite),
                        "hand": _plan(cursor, HAND_COUNT_KEPT, kept_params, sqlite),
                        "summed": _plan(cursor, HAND_COUNT, hand_params, sqlite)}
    out["rss_count_mb"] = round(peak_rss_mb())

    # Materialising: a baseline refresh, then the steady state (nothing changed since).
    out["refresh"] = {}
    for name, rules in (("everyone", {"all": []}), ("three", rule(opts["spent_over"]))):
        segment = Segment.objects.create(name=f"bench {name}", rules=rules)
        runs = []
        for attempt in ("baseline", "steady"):
            recorder = Recorder()
            started = time.perf_counter()
            with connection.execute_wrapper(recorder):
                result = refresh_segment(segment, now=NOW)
            seconds = time.perf_counter() - started
            runs.append({"run": attempt, "s": round(seconds, 2), "result": result,
                         "statements": [{"s": round(c["s"], 3), "sql": _shape(c["sql"])}
                                        for c in recorder.calls if c["s"] >= 0.01]})
            if attempt == "steady":
                runs[-1]["plans"] = _explain_refresh(recorder.calls, sqlite)
        out["refresh"][name] = runs
    out["rss_refresh_mb"] = round(peak_rss_mb())

    # The floor for materialising everyone: the same rows written by one INSERT … SELECT.
    floor = Segment.objects.create(name="bench floor", rules={"all": []})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(HAND_EVERYONE, {"segment": floor.pk, "now": adapt(NOW)})
        written = cursor.rowcount
    out["hand_everyone"] = {"rows": written, "s": round(time.perf_counter() - started, 2)}

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes" if not sqlite else
                       "SELECT name FROM sqlite_master WHERE type = 'index'")
        present = {row[0] for row in cursor.fetchall()}
    plans = "\n".join(out["plans"]["peyvand"] + [
        line for run in out["refresh"].values() for r in run for p in r.get("plans", [])
        for line in p["plan"]])
    out["indexes"] = {name: {"exists": name in present, "used": name in plans}
                      for name in INDEXES}
    out["rss_end_mb"] = round(peak_rss_mb())
    return out


def _explain_refresh(calls: list[dict], sqlite: bool) -> list[dict]:
    """The plans of a refresh's writes, replayed in their order (each needs the temporary
    answer table the ones before it made) in a transaction that is rolled back: EXPLAIN
    ANALYZE runs what it explains."""
    from django.db import connection, transaction

    from peyvand.audiences.actions import ANSWER_TABLE
    from peyvand.audiences.queries import segment_work_memory

    tables = ("audiences_segmentmember", "audiences_segmentchange", ANSWER_TABLE)
    plans = []
    with transaction.atomic(), segment_work_memory(), connection.cursor() as cursor:
        for call in calls:
            sql = call["sql"].lstrip()
            if not (sql.startswith(("DELETE", "INSERT", "CREATE", "ANALYZE"))
                    and any(table in sql for table in tables)):
                continue
            explained = sql.startswith(("DELETE", "INSERT", "CREATE TEMPORARY"))
            if explained:
                plans.append({"sql": _shape(sql), "plan": _plan(cursor, sql, call["params"],
                                                                 sqlite)})
            if sqlite or not explained:  # EXPLAIN QUERY PLAN runs nothing
                cursor.execute(call["sql"], call["params"])
        transaction.set_rollback(True)
    return plans


# --- report ---------------------------------------------------------------------------------

def report(result: dict, args) -> None:
    c = result["count"]
    print(f"\n== {result['vendor']}: {result['contacts']:,} contacts ==")
    print("\nPeyvand's count query:\n  " + result["peyvand_sql"])
    for name in ("peyvand", "hand", "summed"):
        print(f"\nplan ({name}):")
        print("\n".join("  " + line for line in result["plans"][name]))
    for name, runs in result["refresh"].items():
        for run in runs:
            print(f"\nrefresh {name} ({run['run']}): {run['s']} s, {run['result']}")
            for statement in run["statements"]:
                print(f"  {statement['s']:>8.3f} s  {statement['sql']}")
            for p in run.get("plans", []):
                print(f"  plan of {p['sql'][:100]}…")
                print("\n".join("    " + line for line in p["plan"]))
    print("\nindexes:")
    for name, state in result["indexes"].items():
        print(f"  {name}: {'present' if state['exists'] else 'MISSING'}, "
              f"{'used' if state['used'] else 'not used'} in the plans above ({INDEXES[name]})")
        for which, plan in result["plans"].items():  # the count plans' lines that say so
            for i, line in enumerate(plan):
                if name in line:
                    print(f"    {which}: {line.strip()}")
                    for more in plan[i + 1:i + 4]:  # its Index Cond, Heap Fetches
                        if result["vendor"] != "postgresql" or more.strip().startswith("->"):
                            break
                        print(f"    {which}:   {more.strip()}")
    if result.get("settings"):
        print("session of the measured statements: " + ", ".join(
            f"{k} = {v}" for k, v in result["settings"].items()))
    print(f"\ncount: {c['peyvand']:,} contacts ({100 * c['peyvand'] / result['contacts']:.1f}%), "
          f"hand-written SQL {c['hand']:,}"
          + ("" if c["peyvand"] == c["hand"] else "  ** ANSWERS DIFFER **"))
    k = result["kept_build"]
    print(f"kept recent sales: built in {k['s']} s ({k['customers']:,} customers), "
          f"{BUILD_AGE} before the count; {k['changed']:,} customers summed again")
    e = result["engagement_build"]
    print(f"last human open/click per person: counted from the hits in {e['s']} s "
          f"({e['people']:,} people; kept by the drain in use)")
    print(f"count time: Peyvand {c['peyvand_median_s']:.3f} s (runs {c['peyvand_s']}), "
          f"hand over the kept sums {c['hand_median_s']:.3f} s (runs {c['hand_s']}); "
          f"ratio {c['ratio']:.2f} (goal <= 1.5 and < 1 s); hand summing every order "
          f"{c['summed_median_s']:.3f} s (runs {c['summed_s']})")
    everyone = result["refresh"]["everyone"]
    floor = result["hand_everyone"]
    print(f"materialise everyone ({everyone[0]['result']['count']:,}): baseline "
          f"{everyone[0]['s']} s, steady {everyone[1]['s']} s (goal < 30 s); "
          f"hand INSERT … SELECT {floor['s']} s, ratio {everyone[0]['s'] / floor['s']:.2f}")
    three = result["refresh"]["three"]
    print(f"materialise the 3-condition segment ({three[0]['result']['count']:,}): baseline "
          f"{three[0]['s']} s, steady {three[1]['s']} s")
    print(f"peak RSS {result['rss_end_mb']} MB (at start {result['rss_start_mb']} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true",
                        help="SQLite in a temporary PEYVAND_HOME (defaults 100,000 contacts)")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--orders", type=int, help="default 10 × contacts")
    parser.add_argument("--events", type=int, help="default 10 × contacts")
    parser.add_argument("--spent-over", type=int, default=SPENT_OVER)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure again on the database a --keep run left (PostgreSQL)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    if args.measure:  # the child: settings come from the environment the parent set
        print(json.dumps(measure(json.loads(args.measure))), flush=True)
        return 0

    contacts = args.contacts or (100_000 if args.sqlite else 1_000_000)
    orders, events = args.orders or 10 * contacts, args.events or 10 * contacts
    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-segments-"))
    env = dict(os.environ, PEYVAND_HOME=str(work / "home"),
               DJANGO_SETTINGS_MODULE="peyvand.settings", PYTHONPATH=str(ROOT))
    if args.sqlite:
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = args.database_url
        if args.reuse:
            args.keep = True
        else:
            recreate_database(args.database_url)
    try:
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env,
                       check=True, cwd=ROOT)
        if not args.reuse:
            print(f"loading {contacts:,} contacts, {orders:,} orders, {events:,} events",
                  flush=True)
            started = time.perf_counter()
            if args.sqlite:
                conn = sqlite3.connect(work / "home" / "peyvand.sqlite3")
                load(conn, True, contacts, orders, events)
                conn.close()
            else:
                import psycopg

                with psycopg.connect(args.database_url, autocommit=True) as conn:
                    load(conn, False, contacts, orders, events)
            print(f"loaded in {time.perf_counter() - started:.1f} s", flush=True)
        opts = {"spent_over": args.spent_over, "repeat": args.repeat}
        child = subprocess.run([sys.executable, __file__, "--measure", json.dumps(opts)],
                               env=env, cwd=ROOT, capture_output=True, text=True)
        if child.returncode:
            print(child.stdout, child.stderr, file=sys.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
        report(result, args)
        load_avg = os.getloadavg()
        print(f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}; "
              f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    finally:
        if not args.sqlite and not args.keep:
            drop_database(args.database_url)
        elif args.keep and not args.sqlite:
            print(f"kept {args.database_url}")
        if args.sqlite and args.keep:
            print(f"kept {work / 'home'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
