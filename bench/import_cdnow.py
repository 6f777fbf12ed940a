"""Benchmark: the CDNOW master file (69,659 purchases) through the order import, on SQLite.

    .venv/bin/python bench/import_cdnow.py [--data ../shared/data/cdnow/CDNOW_master.txt]

CDNOW has a customer id, a day (yyyymmdd), a number of CDs and a dollar amount per purchase;
no order id, no address. It is written as the CSV a shop would export: one order per
purchase (`order_id` = its line number), the customer as `customer<id>@cdnow.example`, the
day as it is (read as Gregorian yyyymmdd), one line of `quantity` CDs with its `line_total`
in USD. Then it is imported into a fresh SQLite database and the time printed; the totals are
checked (orders, sum of the amounts in cents). Goal (issue 19): under 15 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the repository (a worktree under /work/wt/ looks two levels up).
DEFAULT = next((p for p in (ROOT / ".." / "shared", ROOT / ".." / ".." / "shared")
                if p.exists()), ROOT / ".." / "shared") / "data" / "cdnow" / "CDNOW_master.txt"


def convert(source: Path, target: Path) -> tuple[int, int]:
    """Write the shop-style CSV; returns (orders, sum of amounts in cents)."""
    orders = cents = 0
    with source.open() as fh, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["order_id", "placed_at", "email", "product", "quantity", "line_total",
                         "currency"])
        next(fh)  # the header line
        for number, line in enumerate(fh, start=1):
            customer, day, cds, dollars = line.split()
            writer.writerow([number, day, f"customer{int(customer)}@cdnow.example", "CD", cds,
                             dollars, "USD"])
            orders += 1
            cents += int(Decimal(dollars) * 100)
    return orders, cents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"CDNOW data not found at {args.data.resolve()}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-cdnow-"))
    csv_path = work / "cdnow.csv"
    orders, cents = convert(args.data, csv_path)
    os.environ.pop("DATABASE_URL", None)  # SQLite under PEYVAND_HOME
    os.environ.update(PEYVAND_HOME=str(work / "home"), DJANGO_SETTINGS_MODULE="peyvand.settings",
                      PEYVAND_HUEY_IMMEDIATE="1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db.models import Sum

    from peyvand.base.actor import Actor
    from peyvand.commerce.hooks import ORDERS_IMPORTED_HOOKS
    from peyvand.commerce.models import Order, OrderLine
    from peyvand.contacts.models import Contact
    from peyvand.imports.orders import import_orders

    ORDERS_IMPORTED_HOOKS._loaded = []  # the insights refresh is timed by bench/insights.py
    try:
        started, cpu = time.perf_counter(), time.process_time()
        result = import_orders(Actor.system("bench"), csv_path,
                               report_path=work / "rejected.csv")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(result.totals.line())
        for note in result.notes:
            print(note)
        assert result.totals.rejected == 0, result.rejections
        assert Order.objects.count() == orders
        assert OrderLine.objects.aggregate(s=Sum("line_total"))["s"] == cents
        print(f"totals checked: {orders:,} orders of {Contact.objects.count():,} customers, "
              f"${cents / 100:,.2f}")
        print(f"CDNOW master on SQLite: {seconds:.1f} s ({cpu:.1f} s of CPU), "
              f"{orders / seconds:,.0f} rows/s (goal < 15 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
