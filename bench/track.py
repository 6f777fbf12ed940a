"""Benchmark: the tracking fast path (open pixel, click redirect) against nginx, same run.

    .venv/bin/python bench/track.py [--duration 10] [--rounds 3] [--connections 32] [--exact 5000]

Needs `wrk` and `nginx` on PATH (apt-get install -y wrk nginx). In a fresh temporary
PEYVAND_HOME (SQLite) it migrates, then:

  1. serves Peyvand as `peyvand up` does (granian WSGI, `peyvand.serving.granian_command`:
     one process per CPU), with `peyvand.tracking.fastpath.wrap` in front of Django;
  2. serves nginx (as many workers, temp config) answering the same 43-byte GIF and a 302;
  3. runs wrk against each URL on each server, alternating for --rounds rounds, and prints
     requests/s of each run and the medians' ratio Peyvand / nginx (goal >= 0.3);
  4. checks that no hit was lost: after each wrk run the spool is drained and the new
     TrackingEvent rows must lie between wrk's completed count and that plus the requests
     still in flight when wrk stopped (at most one per connection); then a loader sending
     an exact number of requests (--exact) must give exactly that many new rows.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WSGI_MODULE = """\
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
from django.core.wsgi import get_wsgi_application
from peyvand.tracking.fastpath import wrap
application = wrap(get_wsgi_application())
"""
NGINX_CONF = """\
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    types {{ image/gif gif; }}
    server {{
        listen 127.0.0.1:{port};
        location /t/o/ {{ root {tmp}/gif; try_files /pixel.gif =404;
                         add_header Cache-Control "no-store"; }}
        location /t/c/ {{ return 302 https://shop.example/landing; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def wrk(url: str, duration: int, connections: int, threads: int) -> tuple[int, float]:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                          f"{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    return count, rps


def exact_load(port: int, path: str, total: int, workers: int = 8) -> int:
    """Send exactly `total` GETs over keep-alive connections; returns how many got 200/302."""
    done = []
    lock = threading.Lock()

    def run(n: int) -> None:
        ok = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(n):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            ok += response.status in (200, 302)
        conn.close()
        with lock:
            done.append(ok)

    share = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    threads = [threading.Thread(target=run, args=(n,)) for n in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating nginx/peyvand runs per URL (medians reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--exact", type=int, default=5000,
                        help="requests of the exact-count check")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install -y wrk nginx")

    tmp = Path(tempfile.mkdtemp(prefix="peyvand-bench-track-"))
    os.environ["PEYVAND_HOME"] = str(tmp / "home")
    os.environ["DJANGO_SETTINGS_MODULE"] = "peyvand.settings"
    os.environ["PEYVAND_HUEY_IMMEDIATE"] = "0"
    env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}"}
    (tmp / "bench_wsgi.py").write_text(WSGI_MODULE)
    (tmp / "gif").mkdir()
    # nginx started as root serves from unprivileged workers: they must reach the GIF.
    tmp.chmod(0o755)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_create_contact
    from peyvand.serving import granian_command, web_threads, web_workers
    from peyvand.tracking.events import drain_spool
    from peyvand.tracking.fastpath import GIF
    from peyvand.tracking.links import click_url, open_pixel_url
    from peyvand.tracking.models import TrackingEvent

    call_command("migrate", verbosity=0)
    contact = do_create_contact(Actor.system("bench"), {"email": "bench@example.com"})
    (tmp / "gif" / "pixel.gif").write_bytes(GIF)
    open_path = "/t/o/" + open_pixel_url(1, contact_id=contact.pk).rsplit("/t/o/", 1)[1]
    click_path = "/t/c/" + click_url(1, "https://shop.example/landing", "bench",
                                     contact_id=contact.pk).rsplit("/t/c/", 1)[1]

    app_port, nginx_port = free_port(), free_port()
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port,
                                                      workers=web_workers()))
    procs = [
        subprocess.Popen(granian_command("127.0.0.1", app_port, "bench_wsgi:application",
                                         "--log-level", "warning"), env=env, cwd=tmp),
        subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                         stderr=subprocess.DEVNULL),
    ]
    try:
        wait_for(nginx_port, "/t/o/x.gif")
        wait_for(app_port, open_path)
        drain_spool()
        baseline = TrackingEvent.objects.count()
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
              f"granian {web_workers()} processes x {web_threads()} threads; "
              f"nginx {web_workers()} workers; "
              f"{os.cpu_count()} CPUs\n")
        print(f"{'url':<8} {'nginx req/s':>12} {'peyvand req/s':>14} {'ratio':>6} "
              f"{'wrk count':>10} {'events':>8} {'drain s':>8}")
        lost = False
        for label, path in (("open", open_path), ("click", click_path)):
            # Alternating rounds, medians: the machine's other load hits both servers alike.
            nginx_rates, app_rates = [], []
            for _round in range(args.rounds):
                nginx_rates.append(wrk(f"http://127.0.0.1:{nginx_port}{path}", args.duration,
                                       args.connections, args.threads)[1])
                count, rate = wrk(f"http://127.0.0.1:{app_port}{path}", args.duration,
                                  args.connections, args.threads)
                app_rates.append(rate)
                started = time.monotonic()
                drain_spool()
                drained = time.monotonic() - started
                events = TrackingEvent.objects.count() - baseline
                baseline += events
                ok = count <= events <= count + args.connections
                lost |= not ok
                print(f"{label:<8} {nginx_rates[-1]:>12,.0f} {rate:>14,.0f} "
                      f"{rate / nginx_rates[-1]:>6.2f} {count:>10,} {events:>8,} "
                      f"{drained:>8.1f}" + ("" if ok else "  <-- MISMATCH"))
            nginx_rps, app_rps = statistics.median(nginx_rates), statistics.median(app_rates)
            print(f"{label + ' med':<8} {nginx_rps:>12,.0f} {app_rps:>14,.0f} "
                  f"{app_rps / nginx_rps:>6.2f}")
        for label, path in (("open", open_path), ("click", click_path)):
            answered = exact_load(app_port, path, args.exact)
            drain_spool()
            events = TrackingEvent.objects.count() - baseline
            baseline += events
            ok = answered == args.exact == events
            lost |= not ok
            print(f"exact {label}: sent {args.exact:,}, answered {answered:,}, "
                  f"events {events:,} -> {'OK' if ok else 'MISMATCH'}")
        return 1 if lost else 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
