"""A big backlog is shared with helper sender processes: forked from the sender when nothing
else runs in it (no start-up of a new Python and Django), started as a new process otherwise
(a Huey consumer's threads). Either way every recipient gets the message once."""

from __future__ import annotations

import collections
import json
import re
import signal
import threading
from pathlib import Path

import pytest
from django.db import transaction

from peyvand.messaging import sender_helpers
from tests.messaging import processes as proc

HERE = Path(__file__).resolve().parent
N = 2400  # above SPAWN_AT per process: worth a helper


def _send(env, tmp_path, *command: str) -> str:
    env = {**env, "PEYVAND_LOG_LEVEL": "INFO"}  # how the helper started is logged
    proc.run(env, str(HERE / "crash_helper.py"), "setup", str(N))
    received = tmp_path / "received.txt"
    sink, port = proc.sink(env, received)
    try:
        worker = proc.sender(env, port, *([] if command else ["--processes", "2"]),
                             **({"command": command} if command else {}))
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, out
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    counts = collections.Counter(line.split("\t")[0] for line in proc.lines(received))
    assert set(counts) == {f"r{i}@example.com" for i in range(N)}
    assert max(counts.values()) == 1  # nobody twice
    report = json.loads(proc.run(env, str(HERE / "crash_helper.py"), "report").splitlines()[-1])
    assert report["states"] == {"sent": N}
    assert f"sent={N} " in out and "processes=2" in out, out  # the helper's count is in it
    return out


@pytest.mark.slow
def test_a_helper_is_the_sender_forked(backend_env, tmp_path):
    out = _send(backend_env, tmp_path)
    assert re.search(r"helper sender \d+ forked", out), out


@pytest.mark.slow
def test_a_sender_running_threads_starts_its_helper_as_a_new_process(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "PEYVAND_SMTP_URL",
                        "DJANGO_SETTINGS_MODULE")}
    env.update(PEYVAND_HOME=str(tmp_path), PYTHONPATH=str(proc.ROOT))
    # As in a Huey consumer: another thread runs while the sender starts its helper.
    script = ("import sys, threading; threading.Thread(target=threading.Event().wait, "
              "daemon=True).start(); sys.argv[0] = 'worker'; "
              "from peyvand.messaging.worker import main; raise SystemExit(main())")
    out = _send(env, tmp_path, "-c", script, "--processes", "2")
    assert re.search(r"helper sender \d+ started as a new process", out), out


@pytest.mark.django_db(transaction=True)
def test_forking_waits_for_a_process_with_nothing_else_running(monkeypatch):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not sender_helpers.can_fork()  # its locks could be copied held
    finally:
        stop.set()
        other.join()
    # Other tests may leave threads behind (a sink's); as if this one ran alone:
    monkeypatch.setattr(sender_helpers.threading, "active_count", lambda: 1)
    assert sender_helpers.can_fork()
    with transaction.atomic():  # a fork would not see what this transaction wrote
        assert not sender_helpers.can_fork()
