"""Benchmark: the campaign report of one sending of N messages, against counting its outbox
rows by hand.

    .venv/bin/python bench/campaign_report.py [--messages 1000000] [--database-url URL]
                                              [--keep] [--reuse] [--repeat 5]

Creates a fresh PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/peyvand_bench_report; dropped at the end unless --keep;
`--reuse` measures again on a database a `--keep` run left) and fills it in SQL (INSERT …
SELECT over a number series; secondary indexes and foreign keys dropped for the load, the
indexes rebuilt after it, then VACUUM ANALYZE): N contacts (10% in London, the rest in
Tehran), one e-mail broadcast to all of them (94.5% sent, 1% bounced, 2% failed, 2.5% still
queued) and another to a fifth of them; ~20% of the messages opened 1-3 times (a tenth of
those by Apple's privacy proxy only), ~3% clicked once or twice over 5 links (5% of the
clicks a scanner's); N orders over the last year plus one a day or so after the click for
a tenth of the clickers (a tenth of those in USD); a hard bounce report per bounced message,
soft ones for 0.5% and complaints for 0.05%; every contact's opt-in in the consent ledger
and opt-outs through the sending's links for 0.2%. Then, in a fresh child process (its peak
RSS the measurement's alone):

  1. the drain's cost of counting: `_store` of 2,000-hit batches on the sending's messages,
     with the counters and with `count_stored` switched off, alternately (medians, ratio);
  2. `rebuild_counters([source])` (the counters of the loaded events), and `recount`, the
     same numbers from the events (what the report would cost without counters); they
     must agree;
  3. `source_report([source])` against the floor, a hand-written count of the sending's
     outbox rows per state, alternately --repeat times on a warm cache (medians, ratio);
  4. each statement of one report with its time and EXPLAIN (ANALYZE, BUFFERS).

Goal (issue 17) on PostgreSQL at 1,000,000 messages: the report under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The throw-away database, its bare load and the peak RSS, as the other benchmarks do them.
from insights import _bare, drop_database, peak_rss_mb, recreate_database
from segments import Loader, Recorder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peyvand_bench_report"
NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)
SENT = NOW - dt.timedelta(days=20)  # the sending went out over its first 2 hours
SOURCE = "broadcast:1"
TABLES = ["contacts_contact", "messaging_outboxmessage", "tracking_trackingevent",
          "commerce_order", "tracking_bouncereport", "consent_consentchange"]
HAND_COUNT = ("SELECT state, COUNT(*) FROM messaging_outboxmessage WHERE broadcast_id = %s "
              "GROUP BY state")


def load(conn, messages: int) -> dict[str, float]:
    db = Loader(conn, False)
    r, times = db.rnd, {}
    sent, now = int(SENT.timestamp()), int(NOW.timestamp())

    def step(name: str, fn) -> None:
        started = time.perf_counter()
        fn()
        times[name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {times[name]} s", flush=True)

    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute("SELECT setseed(0.1717)")
    restore = _bare(conn, TABLES)
    for table in TABLES:
        conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    step("contacts", lambda: db.insert("contacts_contact", {
        "first_name": "'Customer ' || i", "language": "'fa'",
        "timezone": "CASE WHEN mod(i, 10) = 0 THEN 'Europe/London' ELSE 'Asia/Tehran' END",
        "source": "'bench'", "created_at": db.stamp(str(now - 800 * 86400))},
        db.series(messages)))
    first = db.one("SELECT MIN(id) FROM contacts_contact")
    db.insert("messaging_messagetemplate", {
        "name": "'bench'", "language": "'fa'", "channel": "'email'",
        "message_class": "'marketing'", "created_at": db.stamp(str(sent)),
        "updated_at": db.stamp(str(sent))}, db.series(1))
    template = db.one("SELECT MIN(id) FROM messaging_messagetemplate")
    for number in (1, 2):
        db.insert("messaging_broadcast", {
            "id": str(number), "template_id": str(template), "status": "'queued'",
            "created_at": db.stamp(str(sent - 86400 * (number - 1) - 3600)),
            "created_by": "'bench'",
            "message_class": "'marketing'"}, db.series(1))

    def outbox() -> None:
        for number, share in ((1, 1), (2, 5)):
            db.insert("messaging_outboxmessage", {
                "source": f"'broadcast:{number}'", "broadcast_id": str(number),
                "template_id": str(template), "contact_id": f"{first} + (i - 1) * {share}",
                "channel": "'email'", "to_address": "'c' || i || '@example.com'",
                "message_class": "'marketing'",
                "state": f"CASE WHEN {r} < 0.01 THEN 'bounced' WHEN {r} < 0.0202 THEN "
                         f"'failed' WHEN {r} < 0.0256 THEN 'queued' ELSE 'sent' END",
                "sent_at": db.stamp(f"{sent - 86400 * (number - 1)} + i * {7200 / messages}"),
                "created_at": db.stamp(str(sent - 86400 * (number - 1) - 3600))},
                db.series(messages // share))

    step("outbox", outbox)
    step("events", lambda: _events(conn))
    step("orders", lambda: _orders(db, first, messages))
    step("bounces", lambda: db.insert("tracking_bouncereport", {
        "kind": "CASE WHEN m.state = 'bounced' THEN 'hard' WHEN mod(m.id * 13, 1000) < 5 "
                "THEN 'soft' ELSE 'complaint' END",
        "message_id": "m.id", "contact_id": "m.contact_id", "source": "'smtp'",
        "received_at": "m.sent_at + interval '1 hour'"},
        "messaging_outboxmessage m WHERE m.broadcast_id = 1 AND (m.state = 'bounced' "
        "OR mod(m.id * 13, 1000) < 5 OR mod(m.id * 17, 10000) < 5)"))
    step("consent", lambda: _consent(db, first, messages))

    def finish() -> None:
        for statement in restore:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")

    step("indexes and analyze", finish)
    return times


def _events(conn) -> None:
    """Opens and clicks of the sending, in the drain's shape (local hour included)."""
    common = ("FROM messaging_outboxmessage m JOIN contacts_contact c ON c.id = m.contact_id "
              "CROSS JOIN LATERAL generate_series(1, {n}) k WHERE m.broadcast_id = 1 "
              "AND m.state = 'sent' AND {which}")
    conn.execute(
        "INSERT INTO tracking_trackingevent (hit_id, kind, message_id, contact_id, url, topic, "
        "at, ua_class, machine, machine_reason, unique_open, local_hour) "
        "SELECT 'o' || m.id || '-' || k, 'open', m.id, m.contact_id, '', '', "
        "m.sent_at + make_interval(secs => 600 + k * 3600 + m.id % 7200), "
        "CASE WHEN m.id % 10 = 0 THEN 'apple-mail-privacy-proxy' ELSE 'browser' END, "
        "m.id % 10 = 0, CASE WHEN m.id % 10 = 0 THEN 'privacy-proxy' ELSE '' END, k = 1, "
        "extract(hour FROM (m.sent_at + make_interval(secs => 600 + k * 3600 + m.id % 7200)) "
        "AT TIME ZONE c.timezone) "
        + common.format(n="1 + (m.id * 7) % 3", which="(m.id * 7919) % 100 < 20"))
    conn.execute(
        "INSERT INTO tracking_trackingevent (hit_id, kind, message_id, contact_id, url, topic, "
        "at, ua_class, machine, machine_reason, unique_open, local_hour) "
        "SELECT 'c' || m.id || '-' || k, 'click', m.id, m.contact_id, "
        "'https://shop.example/p' || ((m.id + k) % 5), '', "
        "m.sent_at + make_interval(secs => 900 + k * 3600 + m.id % 7200), "
        "CASE WHEN m.id % 20 = 0 THEN 'bot' ELSE 'browser' END, m.id % 20 = 0, "
        "CASE WHEN m.id % 20 = 0 THEN 'scanner' ELSE '' END, false, "
        "extract(hour FROM (m.sent_at + make_interval(secs => 900 + k * 3600 + m.id % 7200)) "
        "AT TIME ZONE c.timezone) "
        + common.format(n="1 + m.id % 2", which="(m.id * 7919) % 100 < 20 "
                        "AND (m.id * 104729) % 1000 < 150"))


def _orders(db: Loader, first: int, messages: int) -> None:
    r, now = db.rnd, int(NOW.timestamp())
    db.insert("commerce_order", {
        "source": "'bench'", "external_id": "'h' || i",
        "contact_id": f"{first} + CAST(floor({messages} * {r}) AS INTEGER)",
        "placed_at": db.stamp(f"{now - 365 * 86400} + i * {365 * 86400 / messages}"),
        "status": f"CASE WHEN {r} < 0.03 THEN 'cancelled' ELSE 'completed' END",
        "currency": "'IRR'", "total": f"1000 * (20 + CAST(floor(4000 * {r}) AS INTEGER))",
        "delivery_status": "'delivered'", "created_at": db.stamp(str(now)),
        "updated_at": db.stamp(str(now))}, db.series(messages))
    # A tenth of the clickers buy within a few days of their click.
    db.insert("commerce_order", {
        "source": "'bench'", "external_id": "'a' || e.message_id", "contact_id": "e.contact_id",
        "placed_at": "e.at + make_interval(secs => 86400 + mod(e.message_id, 200000))",
        "status": "'completed'",
        "currency": "CASE WHEN mod(e.contact_id / 1000, 10) = 0 THEN 'USD' ELSE 'IRR' END",
        "total": "1000 * (50 + mod(e.message_id, 3000))", "delivery_status": "'delivered'",
        "created_at": db.stamp(str(now)), "updated_at": db.stamp(str(now))},
        "tracking_trackingevent e WHERE e.kind = 'click' AND e.hit_id LIKE 'c%%-1' "
        "AND mod(e.message_id, 10) = 3")


def _consent(db: Loader, first: int, messages: int) -> None:
    since = int(NOW.timestamp()) - 500 * 86400
    base = {"channel": "'email'", "source": "'form'", "actor_label": "'person'"}
    db.insert("consent_consentchange", {
        **base, "contact_id": f"{first} + i - 1", "action": "'opt_in'",
        "at": db.stamp(f"{since} + i * 10"), "details": "'{}'"}, db.series(messages))
    db.insert("consent_consentchange", {
        **base, "source": "'unsubscribe'", "contact_id": "m.contact_id", "action": "'opt_out'",
        "at": "m.sent_at + interval '3 hours'",
        "details": "jsonb_build_object('campaign', m.source, 'reason', "
                   "(ARRAY['too_many', 'not_relevant', 'other'])[1 + mod(m.id, 3)])"},
        "messaging_outboxmessage m WHERE m.broadcast_id = 1 AND mod(m.id * 31, 1000) < 2")


# --- the measured part (child process) -------------------------------------------------------

def _batch(ids: list[int], size: int) -> list[tuple]:
    """Spool rows as the drain reads them: 85% opens, 15% clicks, people's browsers."""
    at = SENT.timestamp() + 6 * 3600
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    rows = []
    for n in range(size):
        message_id = ids[(n * 7919 + len(ids) // 3) % len(ids)]
        kind = "c" if n % 7 == 0 else "o"
        rows.append((secrets.token_hex(16), kind, message_id, 0, int(SENT.timestamp()),
                     "https://shop.example/p9" if kind == "c" else "", "", ua, at + n))
    return rows


def measure(opts: dict) -> dict:
    import django

    django.setup()
    from django.db import connection

    from peyvand.tracking import counters, events
    from peyvand.tracking.report import source_report

    out: dict = {"rss_start_mb": round(peak_rss_mb())}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_outboxmessage WHERE broadcast_id = 1")
        out["messages"] = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM messaging_outboxmessage WHERE broadcast_id = 1 "
                       "AND state = 'sent' ORDER BY id LIMIT 200000")
        ids = [row[0] for row in cursor.fetchall()]

    # 1. the drain, counting and not (each batch new hits on the sending's messages)
    real = counters.count_stored
    with_s, without_s = [], []
    for _ in range(opts["batches"]):
        for switch, into in ((real, with_s), (lambda events: None, without_s)):
            counters.count_stored = switch
            events.counters.count_stored = switch
            started = time.perf_counter()
            events._store(_batch(ids, 2000))
            into.append(time.perf_counter() - started)
    counters.count_stored = events.counters.count_stored = real
    out["drain"] = {"with_s": [round(s, 3) for s in with_s],
                    "without_s": [round(s, 3) for s in without_s],
                    "ratio": round(statistics.median(with_s) / statistics.median(without_s), 2)}

    # 2. the counters from the events, and the same numbers recounted
    started = time.perf_counter()
    counters.rebuild_counters([SOURCE])
    out["rebuild_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    recounted = counters.recount(SOURCE)
    out["recount_s"] = round(time.perf_counter() - started, 2)
    out["agree"] = recounted == counters.read([SOURCE])

    # 3. the report against the hand count of its outbox rows
    def hand() -> dict:
        with connection.cursor() as cursor:
            cursor.execute(HAND_COUNT, [1])
            return dict(cursor.fetchall())

    report, floor = source_report([SOURCE]), hand()  # warm
    report_s, hand_s = [], []
    for _ in range(opts["repeat"]):
        started = time.perf_counter()
        assert source_report([SOURCE]) == report
        report_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert hand() == floor
        hand_s.append(time.perf_counter() - started)
    out["report"] = report
    out["floor"] = floor
    out["times"] = {"report_s": [round(s, 3) for s in report_s],
                    "hand_s": [round(s, 3) for s in hand_s],
                    "report_median_s": round(statistics.median(report_s), 3),
                    "hand_median_s": round(statistics.median(hand_s), 3),
                    "ratio": round(statistics.median(report_s) / statistics.median(hand_s), 2)}

    # 4. each statement of one report, with its plan
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        source_report([SOURCE])
    out["statements"] = []
    with connection.cursor() as cursor:
        for call in recorder.calls:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + call["sql"], call["params"])
            out["statements"].append({"s": round(call["s"], 4), "sql": " ".join(
                (call["sql"] % tuple(repr(p) for p in call["params"] or ())).split()),
                "plan": [row[0] for row in cursor.fetchall()]})
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + HAND_COUNT, [1])
        out["hand_plan"] = [row[0] for row in cursor.fetchall()]
    out["rss_end_mb"] = round(peak_rss_mb())
    return out


def report(result: dict) -> None:
    print(f"\n== PostgreSQL: {result['messages']:,} messages in {SOURCE} ==")
    for statement in result["statements"]:
        print(f"\n{statement['s']:.4f} s  {statement['sql'][:600]}")
        print("\n".join("    " + line[:300] for line in statement["plan"]))
    print("\nhand count plan:\n" + "\n".join("    " + line for line in result["hand_plan"]))
    print("\nreport:", json.dumps(result["report"], ensure_ascii=False))
    print("hand count by state:", json.dumps(result["floor"]))
    d = result["drain"]
    print(f"\ndrain, 2,000 hits a batch: with counters {statistics.median(d['with_s']):.3f} s "
          f"(runs {d['with_s']}), without {statistics.median(d['without_s']):.3f} s "
          f"(runs {d['without_s']}); ratio {d['ratio']:.2f}")
    print(f"rebuild_counters: {result['rebuild_s']} s; recount (from the events): "
          f"{result['recount_s']} s; counters agree with the recount: {result['agree']}")
    t = result["times"]
    print(f"source_report: {t['report_median_s']:.3f} s (runs {t['report_s']}), hand count of "
          f"the outbox rows {t['hand_median_s']:.3f} s (runs {t['hand_s']}); ratio "
          f"{t['ratio']:.2f} (goal: report < 1 s)")
    print(f"peak RSS {result['rss_end_mb']} MB (at start {result['rss_start_mb']} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure again on the database a --keep run left")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.measure:  # the child: settings come from the environment the parent set
        print(json.dumps(measure(json.loads(args.measure))), flush=True)
        return 0

    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-report-"))
    env = dict(os.environ, PEYVAND_HOME=str(work / "home"), DATABASE_URL=args.database_url,
               DJANGO_SETTINGS_MODULE="peyvand.settings", PYTHONPATH=str(ROOT))
    if args.reuse:
        args.keep = True
    else:
        recreate_database(args.database_url)
    try:
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env,
                       check=True, cwd=ROOT)
        if not args.reuse:
            import psycopg

            print(f"loading {args.messages:,} messages", flush=True)
            started = time.perf_counter()
            with psycopg.connect(args.database_url, autocommit=True) as conn:
                load(conn, args.messages)
            print(f"loaded in {time.perf_counter() - started:.1f} s", flush=True)
        opts = {"repeat": args.repeat, "batches": args.batches}
        child = subprocess.run([sys.executable, __file__, "--measure", json.dumps(opts)],
                               env=env, cwd=ROOT, capture_output=True, text=True)
        if child.returncode:
            print(child.stdout, child.stderr, file=sys.stderr)
            return child.returncode
        report(json.loads(child.stdout.strip().splitlines()[-1]))
        load_avg = os.getloadavg()
        print(f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}; "
              f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    finally:
        if not args.keep:
            drop_database(args.database_url)
        else:
            print(f"kept {args.database_url}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
