"""The `peyvand` console script: run the server and worker, manage users, export and erase.

Thin on purpose: each command parses its arguments, builds an Actor (--as USER, or the shell
operator) and calls the same actions the UI and API call, so roles and audit apply alike.

Exit codes: 0 done, 1 failed (bad input, not found), 2 wrong usage, 3 the role may not do it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from peyvand.serving import granian_command

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DENIED = 0, 1, 2, 3
READY_TIMEOUT = 60
STOP_TIMEOUT = 15


class CommandFailed(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def _(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


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


# --- actors -----------------------------------------------------------------------------------

def _actor(args: argparse.Namespace):
    """The user named by --as (or PEYVAND_USER), else the operator at the shell."""
    from django.contrib.auth import get_user_model

    from peyvand.base.actor import Actor

    # PEYVAND_USER belongs to the shell, like --as: not a setting of the site.
    name = getattr(args, "as_user", None) or os.environ.get("PEYVAND_USER", "").strip()
    if not name:
        return Actor.operator()
    user = (get_user_model().objects.select_related("profile")
            .filter(username__iexact=name).first())
    if user is None:
        raise CommandFailed(_("There is no user named “%(name)s”.") % {"name": name})
    if not user.is_active:
        raise CommandFailed(_("The user “%(name)s” is deactivated.") % {"name": name},
                            EXIT_DENIED)
    return Actor.for_user(user, "cli")


def _user(name: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username__iexact=name).first()
    if user is None:
        raise CommandFailed(_("There is no user named “%(name)s”.") % {"name": name})
    return user


def _contact(actor, contact_id: str):
    from django.http import Http404

    from peyvand.contacts.queries import access_contact

    try:
        return access_contact(actor, contact_id)
    except Http404:
        raise CommandFailed(_("There is no contact #%(id)s.") % {"id": contact_id})


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
    # run_huey gives the "huey" logger its own handler; without this, Django's root
    # handler prints every line a second time.
    logging.getLogger("huey").propagate = False
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


def cmd_createuser(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from peyvand.accounts.actions import do_create_user

    actor = _actor(args)
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise CommandFailed(_("Give a password with --password."), EXIT_USAGE)
        password = getpass.getpass(_("Password: "))
        if getpass.getpass(_("Password (again): ")) != password:
            raise CommandFailed(_("The two passwords differ."))
    try:
        user = do_create_user(actor, args.name, role=args.role, password=password,
                              language=args.language, email=args.email)
    except ValidationError as exc:
        raise CommandFailed("\n".join(exc.messages))
    print(_("Created user “%(name)s” with the role %(role)s.")
          % {"name": user.get_username(), "role": args.role})
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    import datetime as dt

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from peyvand.accounts.actions import do_create_token

    actor = _actor(args)
    user = _user(args.name)
    expires = timezone.now() + dt.timedelta(days=args.expires) if args.expires else None
    try:
        key = do_create_token(actor, user, args.label, expires_at=expires)
    except ValidationError as exc:
        raise CommandFailed("\n".join(exc.messages))
    # Only the key on stdout, so `TOKEN=$(peyvand token create NAME)` works.
    print(key)
    return EXIT_OK


def _moment(value) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_token_list(args: argparse.Namespace) -> int:
    from peyvand.accounts.queries import visible_tokens
    from peyvand.base.roles import require

    actor = _actor(args)
    tokens = visible_tokens(actor)
    if args.name:
        user = _user(args.name)
        if actor.user is None or actor.user.pk != user.pk:
            require(actor, "users.manage")
        tokens = tokens.filter(user=user)
    from peyvand.accounts.models import ApiToken

    shown = [t for t in tokens if args.all or t.state() == ApiToken.State.ACTIVE]
    # Tab-separated, one token a line, for people and for scripts alike.
    print("\t".join(["id", "user", "name", "prefix", "state", "created", "expires",
                     "last_used"]))
    for t in shown:
        print("\t".join([str(t.pk), t.user.get_username(), t.name or "-", t.prefix, t.state(),
                         _moment(t.created_at), _moment(t.expires_at),
                         _moment(t.last_used_at)]))
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from django.http import Http404

    from peyvand.accounts.actions import do_revoke_token
    from peyvand.accounts.queries import access_token, visible_tokens

    actor = _actor(args)
    given = args.token.strip()
    try:
        if given.isdigit():
            token = access_token(actor, int(given))
        else:  # the prefix `token list` shows, or the whole key
            found = list(visible_tokens(actor).filter(prefix=given[:12]))
            if len(found) != 1:
                raise Http404
            token = found[0]
    except Http404:
        raise CommandFailed(_("There is no token “%(token)s” that you may see.")
                            % {"token": given})
    if do_revoke_token(actor, token):
        print(_("Token %(prefix)s… of %(name)s revoked.")
              % {"prefix": token.prefix, "name": token.user.get_username()})
    else:
        print(_("Token %(prefix)s… was revoked already.") % {"prefix": token.prefix})
    return EXIT_OK


def cmd_twofactor_list(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from peyvand.accounts.twofactor import is_required
    from peyvand.base.roles import require

    require(_actor(args), "users.manage")
    with_device = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id",
                                                                           flat=True))
    print("\t".join(["user", "role", "two_factor", "required"]))
    for user in get_user_model().objects.select_related("profile").order_by("username"):
        role = getattr(getattr(user, "profile", None), "role", "")
        print("\t".join([user.get_username(), role or "-",
                         "on" if user.pk in with_device else "off",
                         "yes" if is_required(user) else "no"]))
    return EXIT_OK


def cmd_twofactor_reset(args: argparse.Namespace) -> int:
    from peyvand.accounts.twofactor import do_reset_two_factor

    actor = _actor(args)
    user = _user(args.name)
    if do_reset_two_factor(actor, user):
        print(_("Two-factor sign-in of %(name)s was reset; they set it up again at their "
                "next sign-in.") % {"name": user.get_username()})
    else:
        print(_("%(name)s had no two-factor sign-in; nothing changed.")
              % {"name": user.get_username()})
    return EXIT_OK


def cmd_contacts_export(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.contacts.actions import do_export_contact
    from peyvand.contacts.export import write_export_file

    actor = _actor(args)
    require(actor, "contacts.export")
    output = os.path.abspath(args.output)
    if not os.path.isdir(os.path.dirname(output)):
        raise CommandFailed(_("The folder of %(path)s does not exist.") % {"path": args.output})
    if args.contact is not None:
        if args.format != "json":
            raise CommandFailed(_("A single contact's full export is JSON only: use "
                                  "--format json."), EXIT_USAGE)
        data = do_export_contact(actor, _contact(actor, args.contact))
        _write_private(output, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        print(_("Exported contact #%(id)s to %(path)s.") % {"id": data["id"], "path": output})
        return EXIT_OK
    count = write_export_file(actor, args.format, output)
    print(_("Exported %(count)d contacts to %(path)s.") % {"count": count, "path": output})
    return EXIT_OK


def _write_private(path: str, text: str) -> None:
    """Write personal data readable by its owner only, replacing the file whole."""
    tmp = f"{path}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cmd_contacts_erase(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.contacts.actions import do_erase_contact

    actor = _actor(args)
    require(actor, "contacts.erase")  # before asking anything
    contact = _contact(actor, args.contact_id)
    if contact.erased_at:
        print(_("Contact #%(id)s was erased already.") % {"id": contact.pk})
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandFailed(_("Not on a terminal: add --yes to erase without asking."),
                                EXIT_USAGE)
        question = _("Erase all personal data of contact #%(id)s (%(name)s)? This cannot be "
                     "undone. Type “yes” to go on: ") % {"id": contact.pk,
                                                        "name": contact.display_name}
        if input(question).strip().lower() not in ("yes", "بله"):
            print(_("Nothing was erased."))
            return EXIT_FAILED
    do_erase_contact(actor, contact)
    print(_("Contact #%(id)s was erased.") % {"id": contact.pk})
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


def _demo_setup() -> None:
    from peyvand.contacts.models import Contact
    from peyvand.demo import OWNER_NAME, ensure_demo_owner, load_demo

    if Contact.objects.exists():
        print(_("The database has contacts already; demo data not loaded."))
    else:
        print(_("Loading demo data…"), flush=True)
        _print_demo_summary(load_demo())
    password = ensure_demo_owner()
    if password is None:
        print(_("The owner account “%(name)s” exists already; sign in with the password "
                "shown when it was created.") % {"name": OWNER_NAME})
        return
    line = "=" * 64
    print(f"\n{line}\n  {_('Owner account created (shown only this once):')}\n"
          f"    {_('user name:')} {OWNER_NAME}\n    {_('password:')}  {password}\n{line}\n")


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
    if args.demo:
        _demo_setup()
    elif not get_user_model().objects.exists():
        print(_("No users yet. Create the first owner with: peyvand createuser NAME "
                "--role owner --password PASSWORD"))

    # Both signals stop `up` the same way, even when it was started with SIGINT ignored.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[subprocess.Popen] = []
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

def _contact_id(value: str) -> int:
    from peyvand.base.normalise import ascii_digits

    try:
        number = int(ascii_digits(value).lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(_("“%(value)s” is not a contact number.")
                                         % {"value": value})
    if number < 1:
        raise argparse.ArgumentTypeError(_("“%(value)s” is not a contact number.")
                                         % {"value": value})
    return number


def _days(value: str) -> int:
    from peyvand.base.normalise import ascii_digits

    try:
        number = int(ascii_digits(value))
    except ValueError:
        number = 0
    if not 1 <= number <= 3650:
        raise argparse.ArgumentTypeError(_("A number of days from 1 to 3650."))
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(_("A port is a number from 1 to 65535."))
    return number


def build_parser() -> argparse.ArgumentParser:
    from peyvand.base.roles import ROLES

    acting = argparse.ArgumentParser(add_help=False)
    acting.add_argument("--as", dest="as_user", metavar="USER",
                        help=_("act as this user, with their role (default: $PEYVAND_USER, "
                               "else the server operator with full rights)"))

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

    createuser = commands.add_parser("createuser", parents=[acting],
                                     help=_("create a user with a role"),
                                     description=_("Create a user who can sign in."))
    createuser.add_argument("name", metavar="NAME", help=_("user name"))
    createuser.add_argument("--role", required=True, choices=ROLES, help=_("their role"))
    createuser.add_argument("--password", metavar="PW",
                            help=_("their password (asked for on a terminal when left out)"))
    createuser.add_argument("--language", choices=["fa", "en"], default="fa",
                            help=_("their interface language (default: %(default)s)"))
    createuser.add_argument("--email", default="", help=_("their e-mail address"))
    createuser.set_defaults(func=cmd_createuser)

    token = commands.add_parser("token", help=_("API tokens"),
                                description=_("Manage API tokens."))
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    token_create = token_commands.add_parser(
        "create", parents=[acting], help=_("create an API token and print it"),
        description=_("Create an API token that acts as user NAME and print only the token."))
    token_create.add_argument("name", metavar="NAME", help=_("the user the token acts as"))
    token_create.add_argument("--label", default="cli",
                              help=_("a note to recognise the token by (default: %(default)s)"))
    token_create.add_argument("--expires", type=_days, metavar="DAYS",
                              help=_("the token stops working after this many days (default: "
                                     "never; revoke it when no longer needed)"))
    token_create.set_defaults(func=cmd_token_create)
    token_list = token_commands.add_parser(
        "list", parents=[acting], help=_("list API tokens"),
        description=_("List API tokens, with when each was created, expires and was last "
                      "used: your own, or everyone's for an owner and the server operator."))
    token_list.add_argument("name", metavar="NAME", nargs="?",
                            help=_("only this user's tokens"))
    token_list.add_argument("--all", action="store_true",
                            help=_("also revoked and expired tokens"))
    token_list.set_defaults(func=cmd_token_list)
    token_revoke = token_commands.add_parser(
        "revoke", parents=[acting], help=_("revoke an API token"),
        description=_("Revoke an API token for good. TOKEN is its id or prefix from "
                      "`peyvand token list`."))
    token_revoke.add_argument("token", metavar="TOKEN", help=_("the token's id or prefix"))
    token_revoke.set_defaults(func=cmd_token_revoke)

    twofactor = commands.add_parser(
        "twofactor", help=_("two-factor sign-in"),
        description=_("Who signs in with a one-time code, and resetting it for someone who "
                      "lost their phone."))
    twofactor_commands = twofactor.add_subparsers(dest="twofactor_command", metavar="ACTION",
                                                  required=True)
    twofactor_list = twofactor_commands.add_parser(
        "list", parents=[acting], help=_("who has two-factor sign-in"),
        description=_("List the users, whether each has two-factor sign-in, and whether it "
                      "is required of them."))
    twofactor_list.set_defaults(func=cmd_twofactor_list)
    twofactor_reset = twofactor_commands.add_parser(
        "reset", parents=[acting], help=_("remove a user's authenticator"),
        description=_("Remove the authenticator of user NAME (a lost phone); they set up a "
                      "new one at their next sign-in."))
    twofactor_reset.add_argument("name", metavar="NAME", help=_("user name"))
    twofactor_reset.set_defaults(func=cmd_twofactor_reset)

    contacts = commands.add_parser("contacts", help=_("import, export or erase contacts"),
                                   description=_("Import, export or erase contacts."))
    contact_commands = contacts.add_subparsers(dest="contacts_command", metavar="ACTION",
                                               required=True)
    export = contact_commands.add_parser(
        "export", parents=[acting], help=_("write all contacts to a CSV, XLSX or JSON file"),
        description=_("Write all contacts (not erased ones) to a file, or with --contact the "
                      "full record of one person. The export is written to the audit log."))
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "json"],
                        help=_("file format"))
    export.add_argument("--output", required=True, metavar="FILE", help=_("file to write"))
    export.add_argument("--contact", type=_contact_id, metavar="ID",
                        help=_("export everything held about this one contact (JSON)"))
    export.set_defaults(func=cmd_contacts_export)

    erase = contact_commands.add_parser(
        "erase", parents=[acting], help=_("erase a contact's personal data"),
        description=_("Remove a contact's names, addresses, numbers, notes and field values "
                      "for good; an anonymous row stays for counts."))
    erase.add_argument("contact_id", type=_contact_id, metavar="CONTACT_ID",
                       help=_("the contact's number"))
    erase.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    erase.set_defaults(func=cmd_contacts_erase)

    # Commands the other apps contribute, on the same exit codes and --as rules.
    from peyvand.commerce.cli import add_commands as add_commerce_commands
    from peyvand.consent.cli import add_commands as add_consent_commands
    from peyvand.imports.cli import add_commands as add_import_commands
    from peyvand.imports.cli import add_order_commands
    from peyvand.insights.cli import add_commands as add_insights_commands
    from peyvand.messaging.cli import add_commands as add_messaging_commands
    from peyvand.tracking.cli import add_commands as add_tracking_commands

    add_import_commands(contact_commands)
    commerce_commands = add_commerce_commands(commands, acting)
    add_order_commands(commerce_commands["orders"], acting)
    add_consent_commands(commands, acting)
    add_insights_commands(commands, acting)
    add_messaging_commands(commands, acting)
    add_tracking_commands(commands, acting)
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
