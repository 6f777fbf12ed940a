"""How `peyvand up` runs the web server; the tracking benchmark runs it the same way.

granian in WSGI mode (Django under ASGI measured 8x slower here), one process per CPU (each
Python process uses one core: the GIL) up to four, two blocking threads each. Measured with
bench/track.py on 2 CPUs: one process x 5 threads answered the click redirect at 0.27 of
nginx, two processes x 2 threads at 0.31 of nginx with two workers; threads beyond two
mostly hand the GIL around. Two threads, not one, so a slow page never stalls a process.
PEYVAND_WEB_WORKERS and PEYVAND_WEB_THREADS override both.

The bulk sender is sized the same way: up to one sending process per CPU (at most four),
PEYVAND_SENDER_PROCESSES overrides it.
"""

from __future__ import annotations

import os
import sys

MAX_WORKERS = 4
THREADS = 2


def _count(name: str, default: int) -> int:
    given = os.environ.get(name, "").strip()
    return int(given) if given.isdigit() and int(given) > 0 else default


def web_workers() -> int:
    return _count("PEYVAND_WEB_WORKERS", max(1, min(os.cpu_count() or 1, MAX_WORKERS)))


def sender_processes() -> int:
    return _count("PEYVAND_SENDER_PROCESSES", max(1, min(os.cpu_count() or 1, MAX_WORKERS)))


def web_threads() -> int:
    return _count("PEYVAND_WEB_THREADS", THREADS)


def granian_command(host: str, port: int, app: str = "peyvand.wsgi:application",
                    *extra: str) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host,
            "--port", str(port), "--workers", str(web_workers()),
            "--blocking-threads", str(web_threads()), *extra, app]
