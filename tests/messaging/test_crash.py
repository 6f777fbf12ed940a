"""Acceptance 10: a 20,000-recipient broadcast, the sender killed with SIGKILL mid-way and
restarted: everyone gets the message, duplicates are at most the messages in flight (never more
than the SMTP connections), and the rows whose fate was unknown are resent and flagged.
The instance sends with two processes (the sender and a helper it starts), and the kill takes
the whole process group. Also: several senders at once never send a message twice.

Runs real processes against a real database: SQLite in a temporary PEYVAND_HOME, and
PostgreSQL (PEYVAND_TEST_POSTGRES, default postgres://postgres@localhost/postgres; skipped when
it cannot be reached) in a throw-away database.
"""

from __future__ import annotations

import collections
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.messaging.sink import free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
N = int(os.environ.get("PEYVAND_CRASH_N", "20000"))
CONNECTIONS = 10
ADMIN_URL = os.environ.get("PEYVAND_TEST_POSTGRES", "postgres://postgres@localhost/postgres")

pytestmark = pytest.mark.slow


def _pg_admin():
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        return None


@pytest.fixture(params=["sqlite", "postgres"])
def backend_env(request, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "PEYVAND_SMTP_URL", "PEYVAND_TESTING",
                        "PEYVAND_HUEY_IMMEDIATE")}
    env.update(PEYVAND_HOME=str(tmp_path), PYTHONPATH=str(ROOT), PEYVAND_LOG_LEVEL="WARNING")
    if request.param == "sqlite":
        yield env
        return
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"peyvand_crash_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield env
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _run(env, *args, timeout=300) -> str:
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _sink(env, path: Path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "sink_server.py"), str(port), str(path)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def _sender(env, port, *args: str, processes: int = 2):
    return subprocess.Popen([sys.executable, "-m", "peyvand.messaging.worker",
                             "--connections", str(CONNECTIONS), *args],
                            env={**env, "PEYVAND_SMTP_URL": f"smtp://127.0.0.1:{port}",
                                 "PEYVAND_SENDER_PROCESSES": str(processes)},
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_sigkill_mid_broadcast_then_restart(backend_env, tmp_path):
    env = backend_env
    setup = json.loads(_run(env, str(HERE / "crash_helper.py"), "setup", str(N)).splitlines()[-1])
    assert setup["queued"] == N
    received = tmp_path / "received.txt"
    sink, port = _sink(env, received)
    try:
        first = _sender(env, port)
        deadline = time.monotonic() + 240
        while len(_lines(received)) < N // 3 and time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)  # the whole instance: sender and its helper
        first.wait()
        at_kill = len(_lines(received))
        assert 0 < at_kill < N

        second = _sender(env, port)
        out, _ = second.communicate(timeout=600)
        assert second.returncode == 0, out
        assert "processes=2" in out, out  # the restart shared the rest with a helper too
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)

    lines = _lines(received)
    counts = collections.Counter(line.split("\t")[0] for line in lines)
    expected = {f"r{i}@example.com" for i in range(N)}
    assert set(counts) == expected  # every recipient received the message
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= CONNECTIONS, duplicates

    report = json.loads(_run(env, str(HERE / "crash_helper.py"), "report").splitlines()[-1])
    assert report["states"] == {"sent": N}
    # the restart says how many were in flight, and flags exactly those rows
    found = re.search(r"(\d+) messages were in flight; they are resent and flagged", out)
    assert found, out
    assert int(found.group(1)) == report["flagged"] >= duplicates
    print(f"\n{env.get('DATABASE_URL') and 'postgres' or 'sqlite'}: {at_kill} received before "
          f"the kill, {report['flagged']} flagged, {duplicates} duplicates")


def test_three_senders_at_once_never_duplicate(backend_env, tmp_path):
    env = backend_env
    n = 3000
    _run(env, str(HERE / "crash_helper.py"), "setup", str(n))
    received = tmp_path / "received.txt"
    sink, port = _sink(env, received)
    try:
        senders = [_sender(env, port, "--processes", "1", processes=3) for _ in range(3)]
        outs = [s.communicate(timeout=600)[0] for s in senders]
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    assert all(s.returncode == 0 for s in senders), outs
    sent = [int(re.search(r"sent=(\d+)", o).group(1)) for o in outs]
    assert sum(sent) == n and sum(1 for s in sent if s) >= 2, sent  # they shared the work
    counts = collections.Counter(line.split("\t")[0] for line in _lines(received))
    assert len(counts) == n and max(counts.values()) == 1
