"""Sending benchmark: a personalised ~5 KB HTML broadcast (tracking links, one-click
unsubscribe headers) to N recipients into Postfix's smtp-sink, against smtp-source blasting the
same number of 5 KB messages into the same sink in the same run.

    .venv/bin/python bench/send.py --n 5000 [--n 20000 ...] [--connections 10] [--postgres]
                                   [--processes N]   (default: the worker's, one per CPU)
                                   [--rounds 3]      (median ratio of alternating rounds)

Prints msg/s for both, the ratio (goal >= 0.33) and the sending worker's peak RSS per N (it
should not grow with N: the worker holds one claimed batch at a time). Needs
/usr/sbin/smtp-sink and /usr/sbin/smtp-source (apt-get install postfix; no daemon needed).
SQLite in a temporary PEYVAND_HOME by default; --postgres makes and drops `peyvand_bench_send`
on PEYVAND_TEST_POSTGRES (default postgres://postgres@localhost/postgres).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SINK, SOURCE = "/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"

HTML = """<html><head><style>
p { font-family: Tahoma, sans-serif; line-height: 1.7; color: #222; }
.offer { background: #f4f7ff; padding: 12px; border-radius: 6px; }
a.button { background: #2b59c3; color: #fff; padding: 8px 14px; text-decoration: none; }
</style></head><body>
<p>سلام {{ first_name }} عزیز،</p>
<p class="offer">پیشنهادهای این هفته فروشگاه پیوند برای شما آماده است. {{ fields.city }}</p>
""" + "".join(
    f'<p>محصول شماره {i}: توضیحی کوتاه درباره این محصول و قیمت ویژه آن برای مشتریان وفادار '
    f'فروشگاه. <a class="button" href="https://shop.example/p/{i}?utm_source=news" '
    f'data-topic="product-{i}">مشاهده و خرید</a></p>\n' for i in range(1, 13)) + """
<p><a href="{{ preferences_url }}">تنظیمات</a> · <a href="{{ unsubscribe_url }}">لغو اشتراک</a></p>
</body></html>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(n: int) -> None:
    """Migrate, N contacts with e-mail consent (bulk: test data), a template, a broadcast."""
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from peyvand.base.actor import Actor
    from peyvand.consent.models import ConsentChange, ConsentState
    from peyvand.contacts.models import Contact, ContactTag, Identity, Tag
    from peyvand.messaging.actions import do_create_broadcast, do_save_template

    now = timezone.now()
    Contact.objects.bulk_create([Contact(first_name=f"مریم{i}", last_name="کاربر")
                                 for i in range(n)], batch_size=5000)
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    Identity.objects.bulk_create([Identity(contact_id=c, kind="email", value=f"u{i}@example.com",
                                           is_primary=True) for i, c in enumerate(ids)],
                                 batch_size=5000)
    changes = ConsentChange.objects.bulk_create(
        [ConsentChange(contact_id=c, channel="email", action="opt_in", source="preferences",
                       actor_label="bench", at=now) for c in ids], batch_size=5000)
    ConsentState.objects.bulk_create(
        [ConsentState(contact_id=ch.contact_id, channel="email", status="in", changed_at=now,
                      confirmed_at=now, last_change_id=ch.pk) for ch in changes],
        batch_size=5000)
    tag = Tag.objects.create(name="bench")
    ContactTag.objects.bulk_create([ContactTag(contact_id=c, tag=tag) for c in ids],
                                   batch_size=5000)
    actor = Actor.system("bench")
    do_save_template(actor, {"name": "weekly", "language": "fa", "subject":
                             "پیشنهادهای این هفته برای {{ first_name }}", "html": HTML})
    do_create_broadcast(actor, "weekly", "bench", "marketing")


def run_setup(env: dict, n: int) -> None:
    subprocess.run([sys.executable, __file__, "--setup", str(n)], env=env, cwd=ROOT, check=True)


def measure(n: int, connections: int, postgres: bool, processes: int | None) -> dict:
    home = Path(tempfile.mkdtemp(prefix="peyvand-bench-send-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PEYVAND_SMTP_URL", "PEYVAND_TESTING")}
    env.update(PEYVAND_HOME=str(home), PYTHONPATH=str(ROOT),
               PEYVAND_PUBLIC_URL="https://crm.example", PEYVAND_MAIL_FROM="news@shop.example")
    admin = None
    if postgres:
        import psycopg

        admin = psycopg.connect(os.environ.get("PEYVAND_TEST_POSTGRES",
                                               "postgres://postgres@localhost/postgres"),
                                autocommit=True)
        admin.execute("DROP DATABASE IF EXISTS peyvand_bench_send WITH (FORCE)")
        admin.execute("CREATE DATABASE peyvand_bench_send")
        env["DATABASE_URL"] = admin.info.dsn and os.environ.get(
            "PEYVAND_TEST_POSTGRES", "postgres://postgres@localhost/postgres"
        ).rsplit("/", 1)[0] + "/peyvand_bench_send"
    port = free_port()
    sink = subprocess.Popen([SINK, "-u", "nobody", f"127.0.0.1:{port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        run_setup(env, n)
        # the floor: smtp-source, same count, 5 KB each, same number of sessions
        started = time.perf_counter()
        subprocess.run([SOURCE, "-s", str(connections), "-m", str(n), "-l", "5120",
                        "-f", "news@shop.example", "-t", "u@example.com",
                        f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
        floor = time.perf_counter() - started

        started = time.perf_counter()
        worker = subprocess.Popen([sys.executable, "-m", "peyvand.messaging.worker",
                                   "--connections", str(connections),
                                   *(["--processes", str(processes)] if processes else [])],
                                  env={**env, "PEYVAND_SMTP_URL": f"smtp://127.0.0.1:{port}"},
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True)
        _pid, status, usage = os.wait4(worker.pid, 0)
        ours = time.perf_counter() - started
        out = worker.stdout.read()
        worker.returncode = os.waitstatus_to_exitcode(status)
        sent = int(re.search(r"sent=(\d+)", out).group(1))
        used = int(re.search(r"processes=(\d+)", out).group(1))
        assert worker.returncode == 0 and sent == n, out
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(home, ignore_errors=True)
        if admin is not None:
            admin.execute("DROP DATABASE IF EXISTS peyvand_bench_send WITH (FORCE)")
            admin.close()
    # ru_maxrss of the worker as wait4 reports it: the largest of it and its helpers
    return {"n": n, "floor_rate": n / floor, "rate": n / ours, "ratio": floor / ours,
            "rss_mb": usage.ru_maxrss / 1024, "processes": used}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, action="append")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--processes", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
        import django

        django.setup()
        setup(args.setup)
        return
    for tool in (SINK, SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing: apt-get install postfix")
    print(f"{'N':>8} {'round':>5} {'smtp-source msg/s':>18} {'peyvand msg/s':>14} "
          f"{'ratio':>6} {'processes':>9} {'peak RSS':>9}")
    for n in args.n or [5000]:
        # The floor and the send run one after the other; on a shared machine either may hit
        # a slow moment, so rounds alternate them and the median ratio is the figure.
        rounds = [measure(n, args.connections, args.postgres, args.processes)
                  for _ in range(args.rounds)]
        for i, r in enumerate(rounds, 1):
            print(f"{r['n']:>8} {i:>5} {r['floor_rate']:>18.0f} {r['rate']:>14.0f} "
                  f"{r['ratio']:>6.3f} {r['processes']:>9} {r['rss_mb']:>6.0f} MB", flush=True)
        mid = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        print(f"{n:>8} {'med':>5} {statistics.median(r['floor_rate'] for r in rounds):>18.0f} "
              f"{statistics.median(r['rate'] for r in rounds):>14.0f} {mid['ratio']:>6.3f} "
              f"{mid['processes']:>9} {max(r['rss_mb'] for r in rounds):>6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
