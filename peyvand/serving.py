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
import sys

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
