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
import signal
import time
from pathlib import Path

import pytest

from tests.messaging import processes as proc

HERE = Path(__file__).resolve().parent
N = int(os.environ.get("PEYVAND_CRASH_N", "20000"))
CONNECTIONS = 10  # proc.sender's default

pytestmark = pytest.mark.slow


def test_sigkill_mid_broadcast_then_restart(backend_env, tmp_path):
    env = backend_env
    setup = json.loads(proc.run(env, str(HERE / "crash_helper.py"), "setup",
                                str(N)).splitlines()[-1])
    assert setup["queued"] == N
    received = tmp_path / "received.txt"
    sink, port = proc.sink(env, received)
    try:
        first = proc.sender(env, port)
        deadline = time.monotonic() + 240
        while len(proc.lines(received)) < N // 3 and time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)  # the whole instance: sender and its helper
        first.wait()
        at_kill = len(proc.lines(received))
        assert 0 < at_kill < N

        second = proc.sender(env, port)
        out, _ = second.communicate(timeout=600)
        assert second.returncode == 0, out
        assert "processes=2" in out, out  # the restart shared the rest with a helper too
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)

    lines = proc.lines(received)
    counts = collections.Counter(line.split("\t")[0] for line in lines)
    expected = {f"r{i}@example.com" for i in range(N)}
    assert set(counts) == expected  # every recipient received the message
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= CONNECTIONS, duplicates

    report = json.loads(proc.run(env, str(HERE / "crash_helper.py"), "report").splitlines()[-1])
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
    proc.run(env, str(HERE / "crash_helper.py"), "setup", str(n))
    received = tmp_path / "received.txt"
    sink, port = proc.sink(env, received)
    try:
        senders = [proc.sender(env, port, "--processes", "1", processes=3) for _ in range(3)]
        outs = [s.communicate(timeout=600)[0] for s in senders]
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    assert all(s.returncode == 0 for s in senders), outs
    sent = [int(re.search(r"sent=(\d+)", o).group(1)) for o in outs]
    assert sum(sent) == n and sum(1 for s in sent if s) >= 2, sent  # they shared the work
    counts = collections.Counter(line.split("\t")[0] for line in proc.lines(received))
    assert len(counts) == n and max(counts.values()) == 1
