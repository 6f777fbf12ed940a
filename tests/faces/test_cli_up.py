"""`peyvand up` for real: migrate, serve with granian, run the worker, stop on SIGTERM."""

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from peyvand.serving import web_workers

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (granian itself forks a worker)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def healthz(port: int):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status, json.load(resp)
    except OSError:
        return None, None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_up_serves_healthz_and_stops_both_processes(tmp_path):
    """With --demo: the credentials and the address are the last lines printed."""
    port, catcher_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "PEYVAND_HUEY_IMMEDIATE", "PEYVAND_USER",
                        "PEYVAND_SMTP_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(PEYVAND_HOME=str(tmp_path / "home"), LC_ALL="C.UTF-8",
               PEYVAND_CATCHER_PORT=str(catcher_port))
    log = (tmp_path / "up.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "peyvand.cli", "up", "--demo",
                             "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        status = body = None
        while time.monotonic() < deadline and proc.poll() is None:
            status, body = healthz(port)
            if status == 200:
                break
            time.sleep(0.3)
        assert (status, body) == (200, {"status": "ok"}), Path(log.name).read_text()
        # Ready is announced once /healthz answers; give `up` a moment to print it.
        url = f"http://127.0.0.1:{port}/"
        while url not in Path(log.name).read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        output = Path(log.name).read_text()
        assert f"running at {url}" in output
        # The owner's password and the address come last, after the worker has started;
        # the worker's INFO lines are in its log file, not on the terminal.
        lines = output.rstrip().splitlines()
        assert lines[-1].startswith("Peyvand is running at"), output
        assert any(line.strip().startswith("password:") for line in lines[-5:]), output
        assert "INFO:huey" not in output
        worker_log = tmp_path / "home" / "logs" / "worker.log"
        assert "Huey consumer started" in worker_log.read_text()
        assert f"log to {worker_log}" in output
        # granian's main process and one worker per `serving.web_workers()` (forked in turn).
        while True:
            children = descendants(proc.pid)
            commands = [cmdline(pid) for pid in children]
            if sum(b"granian" in c for c in commands) == web_workers() + 1:
                break
            assert time.monotonic() < deadline, commands
            time.sleep(0.2)
        assert any(b"worker" in c for c in commands), commands
        assert any(b"mailcatcher" in c for c in commands), commands
        # With no relay configured, the local mail catcher answers SMTP.
        deadline = time.monotonic() + 20
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", catcher_port, timeout=5) as smtp:
                    assert smtp.noop()[0] == 250
                break
            except OSError:
                assert time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.3)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, Path(log.name).read_text()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)]
        assert healthz(port) == (None, None)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
