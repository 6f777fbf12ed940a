"""Benchmark: import a generated order-lines CSV into PostgreSQL, against the contact import.

    .venv/bin/python bench/import_orders.py [--lines 1000000] [--database-url URL] [--keep]

Generates a CSV of N order lines (1–4 lines per order, a customer every ~3 orders on
average, e-mails and mobiles in mixed digit scripts, dates as Jalali, Gregorian with a time
and Excel serials, amounts in toman), creates a fresh database (default
postgres://postgres@127.0.0.1:5432/peyvand_bench_orders; dropped at the end unless --keep),
then in the same run:

  1. `peyvand.imports.orders.import_orders` of the file (checked, customers resolved in
     batches, orders, lines and timeline written in bulk) — timed, with the peak RSS of this
     process measured right after it;
  2. the contact import of a generated contacts file with as many rows
     (bench/import_contacts.py's generator and engine), timed the same way;

and prints both rows/s and their ratio (goal: orders >= 0.7 x contacts, RSS < 300 MB). The
totals are checked: orders in the database = distinct orders in the file, and the sum of the
line totals in the database = the file's (in rial, as stored).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_contacts as contacts_bench  # noqa: E402  (the sibling benchmark)

ROOT = contacts_bench.ROOT
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peyvand_bench_orders"
HEADER = ["شماره سفارش", "تاریخ", "ایمیل", "موبایل", "نام", "کد کالا", "کالا", "تعداد",
          "قیمت واحد", "هزینه ارسال", "currency", "وضعیت"]
PRODUCTS = [(f"SKU-{i:03d}", f"کالای {i}", 10_000 * (1 + i % 40)) for i in range(200)]


def generate(path: Path, lines: int, seed: int = 1403) -> tuple[int, int]:
    """Write the CSV; returns (orders, sum of line totals in rial)."""
    rng = random.Random(seed)
    customers = max(1, lines // 7)
    written = orders = total = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        while written < lines:
            orders += 1
            c = rng.randrange(customers)
            email = f"buyer{c}@example.com" if c % 5 else ""
            # 0903…: no mobile of the contacts file, so the contact import meets no one.
            phone = (f"0903{c:07d}".translate(str.maketrans("0123456789",
                                                            contacts_bench.DIGITS[c % 3]))
                     if c % 5 != 1 or not email else "")
            style = orders % 3
            if style == 0:
                date = f"14{rng.randrange(0, 3):02d}/{rng.randrange(1, 13):02d}/" \
                       f"{rng.randrange(1, 29):02d}"
            elif style == 1:
                date = f"20{rng.randrange(20, 25)}-{rng.randrange(1, 13):02d}-" \
                       f"{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}"
            else:
                date = str(rng.randrange(43900, 45600))
            shipping = rng.choice(["0", "50000", "35000"])
            for _line in range(min(rng.randrange(1, 5), lines - written)):
                sku, name, price = rng.choice(PRODUCTS)
                qty = rng.randrange(1, 4)
                writer.writerow([f"S-{orders}", date, email, phone, f"مشتری {c}", sku, name,
                                 qty, price, shipping, "IRT", "completed"])
                total += qty * price * 10  # toman -> rial
                written += 1
    return orders, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database and the files")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the order import to FILE (slower; no figure)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-orders-"))
    orders_csv, contacts_csv = work / "orders.csv", work / "contacts.csv"
    started = time.perf_counter()
    order_count, line_sum = generate(orders_csv, args.lines)
    dirty = contacts_bench.generate(contacts_csv, args.lines)
    print(f"generated {args.lines:,} order lines ({order_count:,} orders, "
          f"{orders_csv.stat().st_size / 1e6:.1f} MB) and {args.lines:,} contacts in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    contacts_bench.recreate_database(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, PEYVAND_HOME=str(work / "home"),
                      DJANGO_SETTINGS_MODULE="peyvand.settings", PEYVAND_HUEY_IMMEDIATE="1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db.models import Sum

    from peyvand.base.actor import Actor
    from peyvand.commerce.hooks import ORDERS_IMPORTED_HOOKS
    from peyvand.commerce.models import Order, OrderLine
    from peyvand.imports import contacts as contact_engine
    from peyvand.imports.orders import OrderOptions, import_orders

    # The one insights refresh at the end is the insights benchmark's business, not this one's.
    ORDERS_IMPORTED_HOOKS._loaded = []
    try:
        rss_before = contacts_bench.peak_rss_mb()
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = import_orders(Actor.system("bench"), orders_csv,
                               options=OrderOptions(calendar="auto"),
                               report_path=work / "rejected-orders.csv")
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        order_seconds = time.perf_counter() - started
        order_rss = contacts_bench.peak_rss_mb()
        totals = result.totals
        print(totals.line())
        for note in result.notes:
            print(note)
        assert totals.read == args.lines and totals.rejected == 0, totals
        assert Order.objects.count() == order_count == totals.created
        stored = OrderLine.objects.aggregate(s=Sum("line_total"))["s"]
        assert stored == line_sum, (stored, line_sum)
        print(f"totals checked: {order_count:,} orders, line totals {line_sum:,} rial")
        order_rate = args.lines / order_seconds
        print(f"order import: {order_seconds:.1f} s, {order_rate:,.0f} lines/s; peak RSS "
              f"{order_rss:.0f} MB (before: {rss_before:.0f} MB)", flush=True)

        started = time.perf_counter()
        contact_result = contact_engine.import_contacts(
            Actor.system("bench"), contacts_csv, report_path=work / "rejected-contacts.csv")
        contact_seconds = time.perf_counter() - started
        assert contact_result.totals.rejected == dirty, contact_result.totals
        contact_rate = args.lines / contact_seconds
        print(f"contact import: {contact_seconds:.1f} s, {contact_rate:,.0f} rows/s")
        print(f"ratio order lines/s / contact rows/s: {order_rate / contact_rate:.2f} "
              f"(goal >= 0.7); order import peak RSS {order_rss:.0f} MB (goal < 300)",
              flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            contacts_bench.drop_database(args.database_url)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {args.database_url} and {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
