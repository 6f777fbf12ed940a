"""Benchmark: a full insights refresh over N customers and about 10·N orders in PostgreSQL.

    .venv/bin/python bench/insights.py [--customers 1000000] [--database-url URL] [--keep]
                                       [--reuse]

Creates a fresh database (default postgres://postgres@127.0.0.1:5432/peyvand_bench_insights;
dropped at the end unless --keep; `--reuse` measures again on a database an earlier `--keep`
run left, migrating it but loading nothing) and loads with COPY: N contacts, about 10·N
orders over three years (heavy-tailed: most customers buy a few times, some very often),
their lines over 500 products in 20 categories, refunds on 3% of orders and 0.5·N
engagement events. Then, in a fresh child process (so its peak RSS is the refresh's alone):

  1. the full refresh (`peyvand.insights.actions.refresh_all`): metrics, RFM, BG/NBD and
     Gamma-Gamma fit with the hold-out check, tiers, ladder, cycles, snapshot, cross-sell;
  2. the RFM aggregation as the refresh does it (grouped ORM queries + numpy scores) and the
     same aggregation in one hand-written SQL query (GROUP BY + NTILE), in the same run;

and prints the times, the peak RSS of the child and the ratio of the two RFM timings.
Goals at 1,000,000 customers: refresh < 60 s, RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peyvand_bench_insights"
AS_OF = dt.date(2024, 6, 30)
START = AS_OF - dt.timedelta(days=3 * 365)
PRODUCTS, CATEGORIES = 500, 20
CHUNK = 500_000

# Hand-written equivalent of the refresh's RFM aggregation: commerce's revenue orders until
# the end of the day, net of refunds until then, days counted in the shop's time zone.
RFM_SQL = """
WITH o AS (
  SELECT contact_id, COUNT(*) AS n,
         COUNT(DISTINCT (placed_at AT TIME ZONE %(tz)s)::date) AS days,
         MAX((placed_at AT TIME ZONE %(tz)s)::date) AS last_day, SUM(total) AS gross
  FROM commerce_order
  WHERE deleted_at IS NULL AND status NOT IN ('cancelled', 'failed', 'draft')
    AND placed_at < %(cut)s
  GROUP BY contact_id),
r AS (
  SELECT o2.contact_id, SUM(f.amount) AS refunded
  FROM commerce_refund f JOIN commerce_order o2 ON o2.id = f.order_id
  WHERE o2.deleted_at IS NULL AND o2.status NOT IN ('cancelled', 'failed', 'draft')
    AND o2.placed_at < %(cut)s AND f.at < %(cut)s
  GROUP BY o2.contact_id),
m AS (
  SELECT o.contact_id, %(day)s::date - o.last_day AS recency, o.days,
         o.gross - COALESCE(r.refunded, 0) AS net
  FROM o LEFT JOIN r USING (contact_id))
SELECT contact_id, recency, days, net,
       NTILE(5) OVER (ORDER BY recency DESC) AS r_score,
       NTILE(5) OVER (ORDER BY days) AS f_score,
       NTILE(5) OVER (ORDER BY net) AS m_score
FROM m
"""


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reuse_database(url: str) -> int:
    """Ready a database kept by an earlier run for another measurement: empty what a
    refresh writes (so every run starts as after a fresh load, with no earlier snapshot to
    replace); returns how many customers it holds."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE insights_customermetrics, insights_tiersnapshot, "
                     "insights_productassociation, insights_modelfit, insights_refreshrun")
        return conn.execute("SELECT COUNT(*) FROM contacts_contact").fetchone()[0]


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would carry over the parent's
    peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data ---------------------------------------------------------------------------------------

SPAN_S = (AS_OF - START).days * 86400
# The "buy till you die" story (BG/NBD): purchase rates vary by gamma, each repeat purchase
# may be the last (beta). About ten orders per customer on average, a long tail of heavy
# buyers; first purchases spread over the first 90% of the three years.
TRUTH = {"r": 1.3, "alpha": 8.0, "a": 0.8, "b": 10.0}


def simulate_orders(rng: np.random.Generator, customers: int) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, seconds since START) of every order, in time order as a shop's
    order table is."""
    weeks = SPAN_S / (7 * 86400)
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], customers)
    p = rng.beta(TRUTH["a"], TRUTH["b"], customers)
    t = rng.uniform(0, weeks * 0.9, customers)
    cust_parts, time_parts = [np.arange(customers)], [t.copy()]
    active = np.arange(customers)
    while active.size:
        t[active] += rng.exponential(1 / lam[active])
        active = active[t[active] <= weeks]
        cust_parts.append(active)
        time_parts.append(t[active].copy())
        active = active[rng.random(active.size) >= p[active]]
    cust = np.concatenate(cust_parts)
    seconds = (np.concatenate(time_parts) * 7 * 86400).astype(np.int64)
    order = np.argsort(seconds, kind="stable")
    return cust[order], seconds[order]


def _bare(conn, tables: list[str]) -> list[str]:
    """Drop every foreign key of the (throw-away) database and the secondary indexes of
    `tables`; returns the statements that rebuild those indexes. COPY into bare tables, then
    one index build each, is far faster; foreign keys play no part in the reads measured."""
    for table, name in conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
            ).fetchall():
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    restore = []
    for name, definition in conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [tables]).fetchall():
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    return restore


def _join(*columns: np.ndarray) -> bytes:
    """Tab-separated COPY text from string arrays, built column-wise in numpy."""
    line = columns[0].astype(str)
    for col in columns[1:]:
        line = np.char.add(np.char.add(line, "\t"), col.astype(str))
    return ("\n".join(line.tolist()) + "\n").encode()


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return np.char.add(stamps, "+00")


def _copy(conn, table: str, columns: list[str], chunks) -> int:
    rows = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") \
            as copy:
        for data, count in chunks:
            copy.write(data)
            rows += count
    return rows


def _defaults(conn, table: str, values: dict[str, str]) -> None:
    """Constant columns come from column defaults, so COPY sends only what varies."""
    for column, expr in values.items():
        conn.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {expr}")


def load(url: str, customers: int, seed: int = 1403) -> dict[str, int]:
    import psycopg

    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE bench_ext")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        sources = ["contacts_contact", "commerce_product", "commerce_order",
                   "commerce_orderline", "commerce_refund", "contacts_timelineevent"]
        restore = _bare(conn, sources)
        # The generated source rows skip the write-ahead log (a throw-away database); reading
        # them is no different, and the refresh's own writes stay logged.
        for table in sources:
            conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
        _defaults(conn, "contacts_contact", {
            "last_name": "''", "language": "'fa'", "timezone": "'Asia/Tehran'",
            "national_id": "''", "source": "'bench'", "created_at": "now()",
            "updated_at": "now()", "search_text": "''"})
        counts["contacts"] = _copy(conn, "contacts_contact", ["first_name"], (
            (_join(np.char.add("Customer ", np.arange(s, min(s + CHUNK, customers))
                               .astype(str))), min(CHUNK, customers - s))
            for s in range(0, customers, CHUNK)))
        first_id = conn.execute("SELECT MIN(id) FROM contacts_contact").fetchone()[0]

        categories = np.array([f"category-{i % CATEGORIES}" for i in range(PRODUCTS)])
        prices = rng.integers(20, 2000, PRODUCTS) * 10_000
        costs = (prices * rng.uniform(0.4, 0.8, PRODUCTS)).astype(np.int64)
        _defaults(conn, "commerce_product", {
            "name_fa": "''", "currency": "'IRR'", "active": "true", "source": "''",
            "external_id": "''", "created_at": "now()", "updated_at": "now()"})
        counts["products"] = _copy(conn, "commerce_product",
                                   ["sku", "name_en", "category", "price", "cost"],
                                   [(_join(np.char.add("SKU-", np.arange(PRODUCTS).astype(str)),
                                           np.char.add("Product ", np.arange(PRODUCTS)
                                                       .astype(str)),
                                           categories, prices, costs), PRODUCTS)])
        first_product = conn.execute("SELECT MIN(id) FROM commerce_product").fetchone()[0]

        orders_cust, orders_at = simulate_orders(rng, customers)
        total_orders = len(orders_cust)
        _defaults(conn, "commerce_order", {
            "source": "'bench'", "external_id": "nextval('bench_ext')::text", "number": "''",
            "currency": "'IRR'", "discount": "0", "shipping": "0", "tax": "0",
            "channel": "''", "delivery_status": "'delivered'", "created_at": "now()",
            "updated_at": "now()"})
        start_s = int(dt.datetime.combine(START, dt.time()).timestamp())
        level = rng.gamma(4.0, 300_000, customers)  # each customer's usual spend (rial)

        def order_chunks():
            for s in range(0, total_orders, CHUNK):
                cust = orders_cust[s:s + CHUNK]
                total = (level[cust] * rng.gamma(6.0, 1 / 6.0, len(cust)) // 1000 * 1000
                         ).astype(np.int64) + 10_000
                status = np.where(rng.random(len(cust)) < 0.03, "cancelled", "completed")
                yield _join(cust + first_id, _timestamps(start_s + orders_at[s:s + CHUNK]),
                            status, total, total), len(cust)

        counts["orders"] = _copy(conn, "commerce_order",
                                 ["contact_id", "placed_at", "status", "subtotal", "total"],
                                 order_chunks())
        first_order = conn.execute("SELECT MIN(id) FROM commerce_order").fetchone()[0]

        # Two lines per order on average; the first product sets the category for some.
        _defaults(conn, "commerce_orderline", {
            "sku": "''", "name": "''", "quantity": "1", "unit_price": "0"})

        def line_chunks():
            for s in range(0, total_orders, CHUNK):
                e = min(s + CHUNK, total_orders)
                per = rng.integers(1, 4, e - s)
                order = np.repeat(np.arange(s, e), per)
                product = rng.zipf(1.3, len(order)) % PRODUCTS
                yield _join(order + first_order, product + first_product,
                            prices[product]), len(order)

        counts["order_lines"] = _copy(conn, "commerce_orderline",
                                      ["order_id", "product_id", "line_total"], line_chunks())

        _defaults(conn, "commerce_refund", {"reason": "''", "external_id": "''",
                                            "created_at": "now()"})
        refunded = np.sort(rng.choice(total_orders, total_orders * 3 // 100, replace=False))
        at = start_s + orders_at[refunded] + rng.integers(3600, 20 * 86400, len(refunded))
        counts["refunds"] = _copy(conn, "commerce_refund", ["order_id", "amount", "at"], [
            (_join(refunded + first_order, np.full(len(refunded), 50_000), _timestamps(at)),
             len(refunded))])

        _defaults(conn, "contacts_timelineevent", {"actor_label": "''", "data": "'{}'"})
        events = customers // 2
        kinds = np.array(["message.opened", "message.clicked", "site.visit"])
        counts["events"] = _copy(conn, "contacts_timelineevent", ["contact_id", "kind", "at"], [
            (_join(rng.integers(0, customers, events) + first_id,
                   kinds[rng.integers(0, 3, events)],
                   _timestamps(start_s + SPAN_S - rng.integers(0, 240 * 86400, events))),
             events)])
        for statement in restore:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")
    return counts


# --- the measured part (child process) -------------------------------------------------------

def measure() -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from peyvand.base.actor import Actor
    from peyvand.insights import actions, pipeline
    from peyvand.insights.metrics import cutoff, load_frame
    from peyvand.insights.models import CustomerMetrics, ModelFit, ProductAssociation

    out: dict = {"rss_start_mb": round(peak_rss_mb()), "truth": TRUTH}
    started = time.perf_counter()
    run = actions.refresh_all(Actor.system("bench"), AS_OF)
    out["refresh_s"] = round(time.perf_counter() - started, 2)
    out["rss_refresh_mb"] = round(peak_rss_mb())
    out["timings"] = run.timings
    fit = ModelFit.objects.get(run=run)
    out["model"] = {"method": fit.method, "converged": fit.converged,
                    "sample_size": fit.sample_size, "repeaters": fit.repeaters,
                    **{k: round(v, 4) for k, v in fit.bgnbd.items() if k != "iterations"},
                    "holdout_ok": fit.holdout.get("ok"),
                    "holdout_reason": fit.holdout.get("reason"),
                    "holdout_actual": fit.holdout.get("actual_total"),
                    "holdout_predicted": round(fit.holdout.get("predicted_total") or 0)}
    out["metrics_rows"] = CustomerMetrics.objects.count()
    out["associations"] = ProductAssociation.objects.count()
    out["customers"] = run.customers

    # The RFM aggregation: the refresh's own code path ...
    s = actions.get_settings()
    started = time.perf_counter()
    frame = load_frame(AS_OF, lines=False, events=False)
    pipeline.basics(frame, AS_OF)
    pipeline.score_rfm(frame, s, {}, learn=True)
    out["rfm_orm_numpy_s"] = round(time.perf_counter() - started, 2)
    del frame
    # ... and the same in one hand-written query, rows fetched as well.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(RFM_SQL, {"tz": settings.TIME_ZONE, "cut": cutoff(AS_OF),
                                 "day": AS_OF})
        rows = cursor.fetchall()
    out["rfm_sql_s"] = round(time.perf_counter() - started, 2)
    out["rfm_sql_rows"] = len(rows)
    out["rfm_ratio"] = round(out["rfm_orm_numpy_s"] / out["rfm_sql_s"], 2)
    out["rss_end_mb"] = round(peak_rss_mb())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure on a database kept by an earlier --keep run (implies "
                             "--keep; --customers is then what was loaded)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    if args.measure:  # the child: settings come from the environment the parent set
        print(json.dumps(measure()), flush=True)
        return 0

    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-insights-"))
    env = dict(os.environ, DATABASE_URL=args.database_url, PEYVAND_HOME=str(work / "home"),
               DJANGO_SETTINGS_MODULE="peyvand.settings", PEYVAND_HUEY_IMMEDIATE="1")
    if args.reuse:
        args.keep = True
        args.customers = reuse_database(args.database_url)
    else:
        recreate_database(args.database_url)
    try:
        # On a reused database this applies migrations added since it was loaded.
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env,
                       check=True, cwd=ROOT)
        if not args.reuse:
            started = time.perf_counter()
            counts = load(args.database_url, args.customers)
            print(f"loaded {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)
        child = subprocess.run([sys.executable, __file__, "--measure"], env=env, cwd=ROOT,
                               check=True, capture_output=True, text=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        print(json.dumps(result, indent=2))
        print(f"full refresh: {result['refresh_s']:.1f} s for {args.customers:,} customers "
              f"(goal < 60 s); peak RSS {result['rss_refresh_mb']:,} MB (goal < 2,048 MB)")
        print(f"RFM aggregation: refresh code {result['rfm_orm_numpy_s']:.2f} s, hand-written "
              f"SQL {result['rfm_sql_s']:.2f} s, ratio {result['rfm_ratio']:.2f}")
    finally:
        if not args.keep:
            drop_database(args.database_url)
        else:
            print(f"kept {args.database_url}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
