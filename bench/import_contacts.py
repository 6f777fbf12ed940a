"""Benchmark: import a generated contacts CSV into PostgreSQL, against `psql \\copy`.

    .venv/bin/python bench/import_contacts.py [--rows 1000000] [--database-url URL]

Generates a CSV of N contacts (Persian and English names, e-mails, mobiles written in ASCII,
Persian and Arabic-Indic digits, about 2% dirty rows), creates a fresh database (default
postgres://postgres@127.0.0.1:5432/peyvand_bench; dropped at the end unless --keep), then
times in the same run:

  1. `psql \\copy` of the same file into a plain unindexed table (the floor: no parsing, no
     validation, no indexes);
  2. `peyvand.imports.contacts.import_contacts` of the file (normalise every value, resolve
     duplicates, write contacts, identities, tags and timeline rows with their indexes);
  3. the storage floor: the rows the import wrote, dumped with `\\copy ... TO` after it,
     the tables truncated, and `psql \\copy ... FROM` of those dumps back into the same
     tables with their real indexes, unique constraints, foreign keys and id defaults (the
     columns the import writes), in one transaction. No parsing, no validation, no Python:
     what any import that keeps this data model must at least spend in PostgreSQL.

and prints rows/s, the peak RSS of this process and the ratios import / copy and storage
floor / copy. Goal: ratio <= 3 and RSS < 300 MB. When the storage floor alone is above 3,
no import that writes these tables can meet the goal.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peyvand_bench"

FIRST_FA = ["علی", "محمد", "رضا", "حسین", "مهدی", "سارا", "مریم", "زهرا", "فاطمه", "نرگس",
            "پریسا", "کیان", "آرش", "نیلوفر", "یاسمن", "امیر", "كريم", "علي"]
LAST_FA = ["رضایی", "محمدی", "حسینی", "احمدی", "کریمی", "موسوی", "جعفری", "صادقی", "رحیمی",
           "قاسمی", "نوری", "تهرانی", "اصفهانی", "شيرازي"]
FIRST_EN = ["Ali", "Sara", "Reza", "Maryam", "John", "Emma", "Olivia", "Noah", "Liam", "Mina"]
LAST_EN = ["Rezaei", "Smith", "Karimi", "Brown", "Johnson", "Ahmadi", "Taylor", "Moradi"]
DOMAINS = ["gmail.com", "yahoo.com", "chmail.ir", "outlook.com", "example.ir"]
PREFIXES = ["0912", "0935", "0936", "0937", "0938", "0939", "0919", "0901", "0902", "0990"]
DIGITS = ["0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"]
HEADER = ["نام", "نام خانوادگی", "ایمیل", "موبایل", "تاریخ تولد", "tags"]


def mobile(i: int, rng: random.Random) -> str:
    number = PREFIXES[i % len(PREFIXES)] + f"{i // len(PREFIXES):07d}"
    style = rng.random()
    if style < 0.2:
        number = "+98" + number[1:]
    elif style < 0.3:
        number = f"{number[:4]} {number[4:7]} {number[7:]}"
    return number.translate(str.maketrans("0123456789", rng.choice(DIGITS)))


def generate(path: Path, rows: int, seed: int = 1403) -> int:
    """Write the CSV; returns how many rows are dirty (bad e-mail, bad mobile, neither)."""
    rng = random.Random(seed)
    dirty = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            if rng.random() < 0.6:
                first, last = rng.choice(FIRST_FA), rng.choice(LAST_FA)
            else:
                first, last = rng.choice(FIRST_EN), rng.choice(LAST_EN)
            email = f"user{i}.{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
            if rng.random() < 0.3:
                email = email.upper()
            phone = mobile(i, rng) if rng.random() < 0.8 else ""
            birthday = ""
            if rng.random() < 0.3:
                birthday = f"13{rng.randrange(40, 85)}/{rng.randrange(1, 13):02d}/" \
                           f"{rng.randrange(1, 29):02d}"
            tags = "vip" if rng.random() < 0.05 else ""
            roll = rng.random()
            if roll < 0.007:
                email = email.replace("@", "@@")
                dirty += 1
            elif roll < 0.014:
                phone, email = "0912" + str(i % 1000), ""
                dirty += 1
            elif roll < 0.02:
                phone, email = "", ""
                dirty += 1
            writer.writerow([first, last, email, phone, birthday, tags])
    return dirty


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def time_copy(url: str, path: Path) -> float:
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                    f"CREATE UNLOGGED TABLE IF NOT EXISTS copy_floor ({columns}); "
                    "TRUNCATE copy_floor"], check=True)
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                    f"\\copy copy_floor FROM '{path}' WITH (FORMAT csv, HEADER true)"],
                   check=True)
    elapsed = time.perf_counter() - started
    subprocess.run(["psql", "-q", url, "-c", "DROP TABLE copy_floor"], check=True)
    return elapsed


def time_storage_floor(url: str, work: Path, tables: list[tuple[str, list[str]]]) -> float:
    """Dump `tables` ([(table, columns the import writes)], parents first), truncate them and
    time `\\copy` of the dumps back in one psql run (one transaction)."""
    psql = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", url]
    dumps = []
    for table, columns in tables:
        dump = work / f"{table}.copy"
        cols = ", ".join(f'"{c}"' for c in columns)
        subprocess.run([*psql, "-c", f"\\copy (SELECT {cols} FROM {table}) TO '{dump}'"],
                       check=True)
        dumps.append((table, cols, dump))
    # Other tables that point at contacts are empty in the bench database.
    subprocess.run([*psql, "-c", "SET client_min_messages = warning; TRUNCATE "
                    + ", ".join(t for t, _c in tables) + " CASCADE"], check=True)
    script = work / "storage_floor.sql"
    script.write_text("".join(f"\\copy {table} ({cols}) FROM '{dump}'\n"
                              for table, cols, dump in dumps))
    started = time.perf_counter()
    subprocess.run([*psql, "-1", "-f", str(script)], check=True)
    elapsed = time.perf_counter() - started
    for _table, _cols, dump in dumps:
        dump.unlink()
    return elapsed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database and the CSV")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="peyvand-bench-"))
    csv_path = work / "contacts.csv"
    started = time.perf_counter()
    dirty = generate(csv_path, args.rows)
    print(f"generated {args.rows:,} rows ({dirty:,} dirty), "
          f"{csv_path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
          flush=True)

    recreate_database(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, PEYVAND_HOME=str(work / "home"),
                      DJANGO_SETTINGS_MODULE="peyvand.settings", PEYVAND_HUEY_IMMEDIATE="1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from peyvand.base.actor import Actor
    from peyvand.contacts.models import Contact, ContactTag, Identity, TimelineEvent
    from peyvand.imports import contacts as engine

    try:
        copy_seconds = time_copy(args.database_url, csv_path)
        print(f"psql \\copy: {copy_seconds:.2f} s ({args.rows / copy_seconds:,.0f} rows/s)",
              flush=True)
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        result = engine.import_contacts(
            Actor.system("bench"), csv_path, report_path=work / "rejected.csv",
            batch_size=args.batch_size or engine.BATCH_SIZE)
        seconds = time.perf_counter() - started
        totals = result.totals
        print(totals.line())
        assert totals.read == args.rows, totals
        assert totals.read == totals.created + totals.updated + totals.merged + totals.rejected
        assert totals.rejected == dirty, (totals.rejected, dirty)
        assert Contact.objects.count() == totals.created
        print(f"import: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s; "
              f"{Identity.objects.count():,} identities")
        print(f"peak RSS: {peak_rss_mb():.0f} MB (after Django start-up and generation: "
              f"{rss_before:.0f} MB)")
        print(f"ratio import / psql \\copy: {seconds / copy_seconds:.1f} (goal <= 3)",
              flush=True)
        # The same rows straight back into the same tables: contacts with the ids the import
        # reserved, the others taking their ids from the sequence as the import's COPY does.
        written = [(Contact, True), (Identity, False), (ContactTag, False),
                   (TimelineEvent, False)]
        counts = {m: m.objects.count() for m, _ids in written}
        floor_seconds = time_storage_floor(args.database_url, work, [
            (m._meta.db_table, [f.column for f in m._meta.concrete_fields
                                if with_ids or not f.primary_key]) for m, with_ids in written])
        assert counts == {m: m.objects.count() for m, _ids in written}, counts
        print(f"storage floor (the import's {sum(counts.values()):,} rows, \\copy into the "
              f"indexed tables): {floor_seconds:.2f} s; ratio storage floor / psql \\copy: "
              f"{floor_seconds / copy_seconds:.1f}; import / storage floor: "
              f"{seconds / floor_seconds:.1f}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.database_url)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {args.database_url} and {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
