"""Journeys benchmark: N enrolments waiting on a timer (a one-day wait, then a send), made
due at once, run by one journey worker and then, from the same start, by two at the same
time; against the floor of sending the same N messages from the outbox (messaging's sender
into an SMTP sink, tests/messaging/sink_server.py) in the same run.

    .venv/bin/python bench/journeys.py [--n 100000] [--n 1000000 ...] [--limit 200] [--reuse]
                                       [--postgres] [--connections 10]

Each worker is `peyvand journeys run-due --all`. After each run: every enrolment done, one
StepRun per enrolment and step (the unique count equals the count: no step ran twice) and
one outbox row per enrolment. Prints the seconds and rate of each, the two-worker
throughput ratio, each process's peak RSS and the ratio of a due step's cost to an outbox
send's (goal, issue 18: at most 1.5), with the load average before and after. SQLite in a
temporary PEYVAND_HOME by default; --postgres makes and drops `peyvand_bench_journeys` on
PEYVAND_TEST_POSTGRES (default postgres://postgres@localhost/postgres).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("PEYVAND_TEST_POSTGRES", "postgres://postgres@localhost/postgres")
DB = "peyvand_bench_journeys"
STEP = "s2"  # the send after the wait, where every enrolment waits


def setup(n: int) -> None:
    """Migrate; N contacts with an e-mail address and consent, a live journey (wait a day,
    then send) and N enrolments waiting on its timer (bulk: test data, as the crash test)."""
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from peyvand.base.actor import Actor
    from peyvand.consent.models import ConsentChange, ConsentState
    from peyvand.contacts.models import Contact, Identity
    from peyvand.journeys.actions import do_publish, do_save_journey
    from peyvand.journeys.models import Enrolment
    from peyvand.messaging.models import MessageTemplate

    now, batch = timezone.now(), 5000
    Contact.objects.bulk_create([Contact(first_name=f"نام{i}", last_name="آزمون")
                                 for i in range(n)], batch_size=batch)
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    Identity.objects.bulk_create([Identity(contact_id=c, kind="email", value=f"r{i}@example.com",
                                           is_primary=True) for i, c in enumerate(ids)],
                                 batch_size=batch)
    changes = ConsentChange.objects.bulk_create(
        [ConsentChange(contact_id=c, channel="email", action="opt_in", source="preferences",
                       actor_label="bench", at=now) for c in ids], batch_size=batch)
    ConsentState.objects.bulk_create(
        [ConsentState(contact_id=ch.contact_id, channel="email", status="in", changed_at=now,
                      confirmed_at=now, last_change_id=ch.pk) for ch in changes],
        batch_size=batch)
    MessageTemplate.objects.create(name="later", language="fa", subject="یادآوری {{ first_name }}",
                                   html="<p>سلام {{ first_name }}، سبد خرید شما منتظر است.</p>"
                                        '<p><a href="https://shop.example/cart">سبد</a></p>')
    system = Actor.system("bench")
    journey = do_save_journey(system, {"name": "bench", "definition": {
        "trigger": {"type": "manual"}, "start": "s1", "steps": {
            "s1": {"type": "wait", "days": 1, "next": STEP},
            STEP: {"type": "send", "template": "later"}}}})
    version = do_publish(system, journey)
    Enrolment.objects.bulk_create([Enrolment(
        journey=journey, version=version, contact_id=c, node=STEP,
        next_run_at=now + dt.timedelta(days=1), entered_at=now,
        data={"source": "bench", "visits": {"s1": 1, STEP: 1}}) for c in ids], batch_size=batch)


def due() -> None:
    """Start over from the waiting state, every timer past: no runs, no outbox rows."""
    import datetime as dt

    from django.utils import timezone

    from peyvand.journeys.models import Enrolment, StepRun
    from peyvand.messaging.models import OutboxMessage

    StepRun.objects.all().delete()
    OutboxMessage.objects.all().delete()
    Enrolment.objects.update(state="active", node=STEP, finished_at=None, exit_reason="",
                             lease_owner="", lease_until=None, data={
                                 "source": "bench", "visits": {"s1": 1, STEP: 1}},
                             next_run_at=timezone.now() - dt.timedelta(seconds=1))
    tidy()


def tidy() -> None:
    """What the database's own upkeep would have done by the time a million timers come due
    (this machine's PostgreSQL runs with autovacuum off): fresh statistics, no dead rows.
    Without them the claim, the addresses and the consent of each round are planned for
    empty tables (a sort of every due row per claim, 1.4 s at 1M; a scan of every address
    per round)."""
    from django.db import connection

    with connection.cursor() as cursor:  # every table: the claim, addresses, consent, keys
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def check() -> None:
    """Print the counts a run must leave: runs, distinct runs, outbox rows, states."""
    from django.db.models import Count

    from peyvand.journeys.models import Enrolment, StepRun
    from peyvand.messaging.models import OutboxMessage

    distinct = StepRun.objects.values("enrolment_id", "node", "rotation").distinct().count()
    states = dict(Enrolment.objects.values_list("state").annotate(n=Count("id")))
    print(f"runs={StepRun.objects.count()} distinct={distinct} "
          f"outbox={OutboxMessage.objects.count()} "
          f"queued={OutboxMessage.objects.filter(state='queued').count()} states={states}")


def helper(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def timed(env: dict, commands: list[list[str]]) -> tuple[float, list[float], list[str]]:
    """Run the commands at the same time: wall seconds, each one's peak RSS (MB), outputs."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, *c], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for c in commands]
    rss, outs = [], []
    for p in procs:
        _pid, status, usage = os.wait4(p.pid, 0)
        out = p.stdout.read() if p.stdout else ""
        assert os.waitstatus_to_exitcode(status) == 0, out
        rss.append(usage.ru_maxrss / 1024)
        outs.append(out.strip().splitlines()[-1] if out.strip() else "")
    return time.perf_counter() - started, rss, outs


def verified(env: dict, n: int) -> str:
    line = helper(env, "--check")
    expected = (f"runs={n} distinct={n} outbox={n} queued={n} states={{'done': {n}}}")
    assert line == expected, f"{line} != {expected}"
    return line


def workspace(postgres: bool, reuse: bool):
    """A temporary PEYVAND_HOME, the environment the measured processes run in, and on
    PostgreSQL the admin connection (the database made afresh unless `reuse`)."""
    home = Path(tempfile.mkdtemp(prefix="peyvand-bench-journeys-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PEYVAND_SMTP_URL", "PEYVAND_TESTING")}
    env.update(PEYVAND_HOME=str(home), PYTHONPATH=str(ROOT), PEYVAND_HUEY_IMMEDIATE="0",
               PEYVAND_PUBLIC_URL="https://crm.example", PEYVAND_MAIL_FROM="news@shop.example")
    admin = None
    if postgres:
        import psycopg

        admin = psycopg.connect(ADMIN, autocommit=True)
        if not reuse:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DB}")
        env["DATABASE_URL"] = ADMIN.rsplit("/", 1)[0] + "/" + DB
    return home, env, admin


def cleanup(home: Path, admin) -> None:
    shutil.rmtree(home, ignore_errors=True)
    if admin is not None:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.close()


def measure(n: int, limit: int, connections: int, postgres: bool,
            reuse: bool = False) -> dict:
    home, env, admin = workspace(postgres, reuse)
    sys.path.insert(0, str(ROOT))
    from tests.messaging.processes import sink

    server, port = sink(env, home / "sink.txt")
    run = ["-m", "peyvand.cli", "journeys", "run-due", "--all", "--limit", str(limit)]
    try:
        started = time.perf_counter()
        if not reuse:
            helper(env, "--setup", str(n))
        load_s = time.perf_counter() - started
        helper(env, "--due")
        one, one_rss, _ = timed(env, [run])
        verified(env, n)
        helper(env, "--tidy")  # the million outbox rows the run wrote, as autovacuum would
        # The floor: the outbox send of the very messages the journey queued.
        send, send_rss, outs = timed({**env, "PEYVAND_SMTP_URL": f"smtp://127.0.0.1:{port}"},
                                     [["-m", "peyvand.messaging.worker", "--connections",
                                       str(connections)]])
        assert f"sent={n}" in outs[0], outs
        helper(env, "--due")
        two, two_rss, _ = timed(env, [run, run])
        verified(env, n)
    finally:
        server.terminate()
        server.wait()
        cleanup(home, admin)
    return {"n": n, "load_s": load_s, "one": one, "two": two, "send": send,
            "rss": max(one_rss + two_rss), "send_rss": send_rss[0]}


def window(n: int, limit: int, postgres: bool, seconds: int, reuse: bool) -> dict:
    """Throughput at size N without running all N: from N due timers, one worker runs for
    `seconds`, then two at once for as long, on the timers still due (each phase after a
    VACUUM ANALYZE); steps done are counted
    from the StepRuns (a worker stopped mid-round leaves nothing half done: the round rolls
    back). Then no step may have run twice."""
    import signal

    home, env, admin = workspace(postgres, reuse)
    run = [sys.executable, "-m", "peyvand.cli", "journeys", "run-due", "--all", "--limit",
           str(limit)]
    rates, rss = [], []
    try:
        if not reuse:
            helper(env, "--setup", str(n))
        helper(env, "--due")
        for workers in (1, 2):
            # Each phase from a database kept as autovacuum would keep it (off here): the
            # first phase's finished rows leave dead entries at the head of the claim's
            # index range, which every claim of the second would walk otherwise.
            helper(env, "--tidy")
            before = int(helper(env, "--count").split()[0])
            procs = [subprocess.Popen(run, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for _ in range(workers)]
            time.sleep(seconds)
            for p in procs:
                os.kill(p.pid, signal.SIGKILL)  # no poll(): wait4 reaps it, with its RSS
            for p in procs:
                _pid, _status, usage = os.wait4(p.pid, 0)
                rss.append(usage.ru_maxrss / 1024)
            after = int(helper(env, "--count").split()[0])
            rates.append((after - before) / seconds)  # killed workers' leased rows wait
        runs, distinct = (int(x) for x in helper(env, "--count").split())
        assert runs == distinct, f"{runs} runs, {distinct} distinct: a step ran twice"
    finally:
        cleanup(home, admin)
    return {"one": rates[0], "two": rates[1], "runs": runs, "rss": max(rss)}


def count() -> None:
    from peyvand.journeys.models import StepRun

    print(StepRun.objects.count(),
          StepRun.objects.values("enrolment_id", "node", "rotation").distinct().count())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, action="append",
                        help="enrolments (default 100000; the issue asks for 1000000)")
    parser.add_argument("--limit", type=int, default=200, help="enrolments claimed at a time")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: measure again on the database a killed run left "
                             "(its N contacts and enrolments), without loading")
    parser.add_argument("--window", type=int, metavar="SECONDS",
                        help="throughput only: one worker, then two, each for SECONDS on N "
                             "due timers (no floor, not all N run)")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tidy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--due", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup or args.due or args.check or args.tidy or args.count:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
        import django

        django.setup()
        if args.setup:
            setup(args.setup)
        elif args.tidy or args.count:
            tidy() if args.tidy else count()
        else:
            due() if args.due else check()
        return
    if args.window:
        for n in args.n or [100_000]:
            r = window(n, args.limit, args.postgres, args.window, args.reuse)
            print(f"N={n:,} waiting: 1 worker {r['one']:.0f} steps/s, 2 workers "
                  f"{r['two']:.0f} steps/s, ratio {r['two'] / r['one']:.2f}; {r['runs']:,} "
                  f"steps run, none twice; peak RSS {r['rss']:.0f} MB; load "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"{'N':>8} {'1 worker steps/s':>16} {'2 workers steps/s':>17} {'2/1':>5} "
          f"{'send msg/s':>10} {'step/send':>9} {'peak RSS':>9} {'sender RSS':>10}")
    for n in args.n or [100_000]:
        r = measure(n, args.limit, args.connections, args.postgres, args.reuse)
        print(f"{n:>8} {n / r['one']:>16.0f} {n / r['two']:>17.0f} {r['one'] / r['two']:>5.2f} "
              f"{n / r['send']:>10.0f} {r['one'] / r['send']:>9.2f} {r['rss']:>6.0f} MB "
              f"{r['send_rss']:>7.0f} MB   (load {r['load_s']:.0f} s; goal step/send <= 1.5)",
              flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
