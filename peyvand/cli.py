"""The `peyvand` console script: the process commands (up, migrate, worker, demo) and the
commands every installed app adds.

The root knows no app: each app's cli.py exposes `add_commands(subparsers)` and is found through
the Django app registry, in INSTALLED_APPS order. Commands are thin on purpose: each parses its
arguments, builds an Actor (--as USER, or the shell operator) and calls the same actions the UI
and API call, so roles and audit apply alike. Errors become exit codes here, once.

Exit codes: 0 done, 1 failed (bad input, not found), 2 wrong usage, 3 the role may not do it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from peyvand import serving
from peyvand.cli_common import EXIT_DENIED, EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandFailed, _
from peyvand.serving import granian_command

READY_TIMEOUT = 60
STOP_TIMEOUT = 15


def _cli_language() -> str:
    # Terminals follow the POSIX locale; most cannot lay out right-to-left text, so Persian
    # output only for those who asked for it.
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "fa" if value.lower().startswith("fa") else "en"
    return "en"


def _err(message: str) -> None:
    print(message, file=sys.stderr)


# --- commands ---------------------------------------------------------------------------------

def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    if settings.HUEY_IMMEDIATE:
        raise CommandFailed(_("PEYVAND_HUEY_IMMEDIATE=1 runs tasks in the web process; "
                              "there is nothing for a worker to do."))
    serving.setup_worker_logging()
    call_command("run_huey")
    return EXIT_OK


def _print_demo_summary(summary) -> None:
    print(_("Demo data: %(created)d contacts created, %(existing)d already there, "
            "%(notes)d notes added, %(orders)d orders added, %(signups)d sign-ups recorded.")
          % {"created": summary.created, "existing": summary.existing,
             "notes": summary.notes, "orders": summary.orders, "signups": summary.signups})


def cmd_demo(args: argparse.Namespace) -> int:
    from peyvand.demo import load_demo

    _print_demo_summary(load_demo())
    return EXIT_OK


# --- up: web server and worker together ------------------------------------------------------

class _Stop(Exception):
    """SIGTERM or SIGINT asked `up` to stop."""


def _raise_stop(signum, frame):
    raise _Stop


def _child_setup() -> None:
    # Runs in the child before exec. Started in the background, `up` may have inherited an
    # ignored SIGINT; the child must still stop when `up` forwards one.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # If `up` is killed outright, take the child along (Linux only; elsewhere it outlives it).
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(command: list[str]) -> subprocess.Popen:
    from django.conf import settings

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="peyvand.settings",
               PEYVAND_HOME=str(settings.HOME))
    # Own session: Ctrl-C reaches `up` only, which then stops each child once, in order.
    return subprocess.Popen(command, env=env, start_new_session=True,
                            preexec_fn=_child_setup)


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    for proc in processes:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _probe_address(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _healthy(url: str, host_header: str) -> bool:
    request = urllib.request.Request(url + "healthz", headers={"Host": host_header})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _check_bind(host: str, port: int) -> None:
    from django.conf import settings

    from peyvand.base.http import is_loopback_host

    loopback = is_loopback_host(host)
    if settings.DEBUG and not loopback:
        raise CommandFailed(_("PEYVAND_DEBUG=1 shows internals to every visitor; it may only "
                              "be used with --host 127.0.0.1."))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CommandFailed(_("Cannot listen on %(host)s:%(port)s (%(error)s). Is Peyvand "
                                  "already running? Choose another --port.")
                                % {"host": host, "port": port, "error": exc.strerror})
    if not loopback and host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        _err(_("Note: requests are answered only for the host names in PEYVAND_ALLOWED_HOSTS "
               "(now: %(hosts)s).") % {"hosts": ", ".join(settings.ALLOWED_HOSTS)})


def public_url_warnings(host: str, port: int) -> list[str]:
    """What is wrong with PEYVAND_PUBLIC_URL for a server on host:port (empty when nothing):
    every link in mail and SMS is built on it, and https there is what turns on secure
    cookies and HSTS."""
    from django.conf import settings

    from peyvand.base.http import is_loopback_host
    from peyvand.base.site import public_url

    url = public_url()
    local = is_loopback_host(host)
    warnings = []
    if not settings.PEYVAND_PUBLIC_URL and not local:
        warnings.append(_("Warning: PEYVAND_PUBLIC_URL is not set, so links in mail and SMS "
                          "point to %(url)s, which customers cannot reach. Set it to the "
                          "address customers use.") % {"url": url})
    elif not settings.PUBLIC_HTTPS and not is_loopback_host(urlsplit(url).hostname or ""):
        warnings.append(_("Warning: PEYVAND_PUBLIC_URL (%(url)s) is plain http: passwords, "
                          "session cookies and customers' links travel unencrypted. Serve "
                          "Peyvand behind a TLS proxy and set PEYVAND_PUBLIC_URL=https://… "
                          "(see docs/deploying.md).") % {"url": url})
    if settings.PUBLIC_HTTPS and not settings.PEYVAND_TRUSTED_PROXIES:
        warnings.append(_("Warning: PEYVAND_PUBLIC_URL is https but PEYVAND_TRUSTED_PROXIES is "
                          "empty: Peyvand cannot tell which requests came over HTTPS (no HSTS, "
                          "no redirect to HTTPS) and sees every visitor at the proxy's address "
                          "(sign-in throttling would pause everyone at once). List the proxy's "
                          "address in PEYVAND_TRUSTED_PROXIES."))
    elif not settings.PEYVAND_TRUSTED_PROXIES and port != settings.PUBLIC_PORT:
        warnings.append(_("Warning: PEYVAND_PUBLIC_URL (%(url)s) points at port %(public)s but "
                          "Peyvand serves port %(port)s, so links in mail and SMS will not reach "
                          "it. Correct PEYVAND_PUBLIC_URL, or list the proxy that forwards that "
                          "port here in PEYVAND_TRUSTED_PROXIES.")
                        % {"url": url, "public": settings.PUBLIC_PORT, "port": port})
    return warnings


def _demo_setup() -> str:
    """Loads the demo; returns the lines `up` prints last, once everything runs."""
    from peyvand.contacts.models import Contact
    from peyvand.demo import OWNER_NAME, ensure_demo_owner, load_demo

    if Contact.objects.exists():
        print(_("The database has contacts already; demo data not loaded."))
    else:
        print(_("Loading demo data…"), flush=True)
        _print_demo_summary(load_demo())
    password = ensure_demo_owner()
    if password is None:
        return _("The owner account “%(name)s” exists already; sign in with the password "
                 "shown when it was created.") % {"name": OWNER_NAME}
    line = "=" * 64
    return (f"\n{line}\n  {_('Owner account created (shown only this once):')}\n"
            f"    {_('user name:')} {OWNER_NAME}\n    {_('password:')}  {password}\n{line}")


def cmd_up(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    for warning in public_url_warnings(args.host, args.port):
        _err(warning)
    _check_bind(args.host, args.port)
    # Static files come from the app folders (WhiteNoise finders); the empty root only
    # keeps WhiteNoise from warning on every start.
    os.makedirs(settings.STATIC_ROOT, exist_ok=True)
    print(_("Preparing the database…"), flush=True)
    cmd_migrate(argparse.Namespace(verbosity=0))
    # The demo owner's password is printed last, beside the address, where it is seen.
    credentials = ""
    if args.demo:
        credentials = _demo_setup()
    elif not get_user_model().objects.exists():
        print(_("No users yet. Create the first owner with: peyvand createuser NAME "
                "--role owner --password PASSWORD"))

    # Both signals stop `up` the same way, even when it was started with SIGINT ignored.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[subprocess.Popen] = []
    log_start = serving.worker_log_size()
    try:
        processes.append(_spawn(granian_command(args.host, args.port)))
        if settings.HUEY_IMMEDIATE:
            print(_("PEYVAND_HUEY_IMMEDIATE=1: background tasks run in the web process."))
        else:
            processes.append(_spawn([sys.executable, "-m", "peyvand.cli", "worker"]))
        if not settings.SMTP_URL:
            # No relay configured: mail goes to the local catcher, never the internet.
            processes.append(_spawn([sys.executable, "-m", "peyvand.mailcatcher.server"]))
            print(_("No PEYVAND_SMTP_URL: outgoing mail is caught locally (port %(port)s) "
                    "and shown under “Caught mail”.") % {"port": settings.CATCHER_PORT})
        url = _url(_probe_address(args.host), args.port)
        host_header = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"),
                           "127.0.0.1")
        deadline = time.monotonic() + READY_TIMEOUT
        while not _healthy(url, host_header):
            if any(p.poll() is not None for p in processes):
                raise CommandFailed(_("Peyvand did not start; see the messages above."))
            if time.monotonic() > deadline:
                raise CommandFailed(_("Peyvand did not answer within %(seconds)s seconds.")
                                    % {"seconds": READY_TIMEOUT})
            time.sleep(0.3)
        log = serving.wait_for_worker(processes, deadline, log_start)
        if log:
            print(_("The worker writes its log to %(path)s") % {"path": log}, flush=True)
        if credentials:
            print(credentials)
        print(_("Peyvand is running at %(url)s — press Ctrl-C to stop.") % {"url": url},
              flush=True)
        while True:
            for proc in processes:
                if proc.poll() is not None:
                    raise CommandFailed(_("A Peyvand process stopped unexpectedly (exit code "
                                          "%(code)s); shutting down.") % {"code": proc.returncode})
            time.sleep(0.5)
    except _Stop:
        print("\n" + _("Stopping…"), flush=True)
        return EXIT_OK
    finally:
        # A second Ctrl-C or TERM must not cut the cleanup short and orphan a child.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        _stop(processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- argument parsing -------------------------------------------------------------------------

def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(_("A port is a number from 1 to 65535."))
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peyvand",
        description=_("Peyvand: a self-hosted, Persian-first customer relationship manager."),
        epilog=_("Configuration comes from environment variables; see README.md."))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help=_("migrate, then serve the web app and run the worker"),
                             description=_("Migrate the database, then run the web server "
                                           "(granian) and the background worker (Huey) "
                                           "until Ctrl-C."))
    up.add_argument("--demo", action="store_true",
                    help=_("load demo contacts into an empty database and create an owner "
                           "account with a random password"))
    up.add_argument("--host", default="127.0.0.1",
                    help=_("address to listen on (default: %(default)s)"))
    up.add_argument("--port", type=_port, default=8000,
                    help=_("port to listen on (default: %(default)s)"))
    up.set_defaults(func=cmd_up)

    migrate = commands.add_parser("migrate", help=_("create or update the database tables"),
                                  description=_("Create or update the database tables."))
    migrate.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1,
                         help=_("how much to print (default: %(default)s)"))
    migrate.set_defaults(func=cmd_migrate)

    worker = commands.add_parser("worker", help=_("run the background worker alone"),
                                 description=_("Run the Huey consumer that executes "
                                               "background jobs (exports and the like)."))
    worker.set_defaults(func=cmd_worker)

    demo = commands.add_parser("demo", help=_("load the demo contacts (safe to repeat)"),
                               description=_("Load about 300 made-up contacts, tags, custom "
                                             "fields and notes. Running it again changes "
                                             "nothing."))
    demo.set_defaults(func=cmd_demo)

    # The commands each app contributes, on the same exit codes and --as rules.
    from peyvand.base.app_modules import app_modules

    for module in app_modules("cli"):
        module.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Before Django starts, so the environment is the only place to say which settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    from django.utils import translation

    with translation.override(_cli_language()):
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    from django.core.exceptions import PermissionDenied

    from peyvand.base.errors import Invalid

    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except PermissionDenied as exc:
        _err(_("Permission denied: %(reason)s") % {"reason": exc})
        return EXIT_DENIED
    except CommandFailed as exc:
        _err(str(exc))
        return exc.code
    except Invalid as exc:  # input an action refused, whichever app's
        _err(exc.reason)
        return EXIT_FAILED
    except ValueError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except OSError as exc:
        _err(_("Error: %(error)s") % {"error": exc})
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
