"""How `peyvand up` runs the web server; the tracking benchmark runs it the same way.

granian in WSGI mode (Django under ASGI measured 8x slower here), ONE blocking thread per
process, one process per CPU (up to four) and never fewer than two. Measured on 2 CPUs
(wrk against the click redirect, 2026-12-06): handing the GIL between two blocking threads
of a process costs ~16 µs a request, more than the whole tracking handler, so 2 processes x
2 threads answered ~28,500 clicks/s where 2 x 1 and 3 x 1 answered ~38,000 (4 x 1: ~33,000).
A process serves one request at a time, as gunicorn's sync workers do: while a slow page
holds one, the others answer, hence at least two even on one CPU (where granian warns that
workers outnumber cores). Heavy work belongs in Huey, not in a page.
The settings WEB_WORKERS and WEB_THREADS (PEYVAND_WEB_WORKERS, PEYVAND_WEB_THREADS) override
both.

The bulk sender is sized by CPUs too: up to one sending process per CPU (at most four),
SENDER_PROCESSES (PEYVAND_SENDER_PROCESSES) overrides it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

MAX_CPUS = 4
THREADS = 1


def _cpus() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_CPUS))


def web_workers() -> int:
    return settings.WEB_WORKERS or max(2, _cpus())


def sender_processes() -> int:
    return settings.SENDER_PROCESSES or _cpus()


def web_threads() -> int:
    return settings.WEB_THREADS or THREADS


def granian_command(host: str, port: int, app: str = "peyvand.wsgi:application",
                    *extra: str) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host,
            "--port", str(port), "--workers", str(web_workers()),
            "--blocking-threads", str(web_threads()), *extra, app]


# The consumer's first line at INFO (huey.consumer): `up` waits for it in the log.
WORKER_STARTED = "Huey consumer started"


def worker_log_path() -> Path:
    """Where the worker writes its INFO lines: $PEYVAND_HOME/logs/worker.log."""
    return settings.HOME / "logs" / "worker.log"


def setup_worker_logging() -> None:
    """The Huey consumer logs every task at INFO (hundreds of lines on a demo start): into
    $PEYVAND_HOME/logs/worker.log, unless PEYVAND_LOG_LEVEL asks for them on the terminal
    at that level. run_huey then leaves the "huey" logger as configured here."""
    import logging

    logger = logging.getLogger("huey")
    # Without this Django's root handler would print every line a second time.
    logger.propagate = False
    level = settings.LOG_LEVEL_ASKED
    handler: logging.Handler
    if level:
        handler = logging.StreamHandler()
    else:
        path = worker_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        level = "INFO"
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s:%(name)s:%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)


def worker_log_size() -> int:
    """The log's length before a worker starts: lines of earlier runs do not count."""
    try:
        return worker_log_path().stat().st_size
    except OSError:
        return 0


def wait_for_worker(processes: list[subprocess.Popen], deadline: float,
                    since: int = 0) -> Path | None:
    """Waits until the worker has started (its log says so, past byte `since`) so that
    nothing it prints follows `up`'s banner; the log's path, or None when the worker logs to
    the terminal."""
    if settings.HUEY_IMMEDIATE or settings.LOG_LEVEL_ASKED:
        return None
    path = worker_log_path()
    while time.monotonic() < deadline and all(p.poll() is None for p in processes):
        try:
            with path.open("rb") as log:
                log.seek(since)
                if WORKER_STARTED.encode() in log.read():
                    break
        except OSError:
            pass
        time.sleep(0.2)
    return path
