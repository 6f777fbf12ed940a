"""Issue 18, acceptance 4: PEYVAND_CRASH_N (default 10,000) contacts in a 3-step journey
(send, wait 0, send), the worker (`peyvand journeys run-due --all`) killed with SIGKILL three
times mid-way and restarted each time. Afterwards every enrolment is done with exactly one
step run per step, none skipped, and the outbox holds exactly 2 messages per contact: a step
killed mid-way rolled back whole (its StepRun and its outbox row together) and ran again once.

Real processes against a real database, SQLite and PostgreSQL (tests/messaging/processes.py).
A short lease (2 s) lets each restart take over the killed worker's claims quickly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.messaging import processes as proc
from tests.messaging.processes import ROOT

HERE = Path(__file__).resolve().parent
N = int(os.environ.get("PEYVAND_CRASH_N", "10000"))
LEASE = 2

pytestmark = pytest.mark.slow


def _helper(env, *args: str) -> dict:
    return json.loads(proc.run(env, str(HERE / "crash_helper.py"), *args).splitlines()[-1])


def _worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "peyvand.cli", "journeys", "run-due", "--all", "--limit", "100",
         "--lease", str(LEASE)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_sigkill_the_journey_worker_three_times(backend_env):
    env = {**backend_env, "PEYVAND_HUEY_IMMEDIATE": "0"}
    assert _helper(env, "setup", str(N))["enrolled"] == N
    total = 3 * N
    for fraction in (0.15, 0.4, 0.65):
        worker = _worker(env)
        deadline = time.monotonic() + 900
        while _helper(env, "runs")["runs"] < total * fraction:
            assert worker.poll() is None, worker.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.5)
        os.killpg(worker.pid, signal.SIGKILL)  # mid-step, most likely mid-transaction
        worker.wait()
    for _attempt in range(3):  # the last claims of the killed worker free up after LEASE
        time.sleep(LEASE + 1)
        worker = _worker(env)
        out, _ = worker.communicate(timeout=1800)
        assert worker.returncode == 0, out
        report = _helper(env, "report")
        if report["states"] == {"done": N}:
            break
    assert report["states"] == {"done": N}, report
    assert report["runs_by_node"] == {"s1": N, "s2": N, "s3": N}
    assert report["runs_per_step"] == {"1": 3 * N}  # exactly one run of every step
    assert report["outcomes"] == {"queued": 2 * N, "waited": N}
    assert report["outbox_per_contact"] == {"2": N} and report["outbox"] == 2 * N
    assert report["leased"] == 0
