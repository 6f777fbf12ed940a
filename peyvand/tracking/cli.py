"""`peyvand tracking …`, `peyvand bounces …` and `peyvand sms …`; wired by peyvand/cli.py."""

from __future__ import annotations

import argparse
import json

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import CommandFailed, _, acting_parser, command_group


def cmd_drain(args: argparse.Namespace) -> int:
    from peyvand.tracking.actions import do_drain

    print(_("%(count)d opens and clicks stored.") % {"count": do_drain(actor_of(args))})
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from peyvand.tracking.queries import message_stats, source_stats

    actor = actor_of(args)
    if args.source:
        stats = source_stats(actor, args.source)
    else:
        stats = message_stats(actor, args.message_id)
    print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_bounces_poll(args: argparse.Namespace) -> int:
    from peyvand.tracking.actions import do_poll_bounces

    kind, url = ("imap", args.imap) if args.imap else ("pop", args.pop)
    try:
        result = do_poll_bounces(actor_of(args), url, kind, delete=args.delete)
    except OSError as exc:
        raise CommandFailed(_("Could not read the mailbox: %(error)s") % {"error": exc})
    except Exception as exc:  # imaplib.IMAP4.error, poplib.error_proto: login refused etc.
        if type(exc).__module__ in ("imaplib", "poplib"):
            raise CommandFailed(_("The mail server refused: %(error)s") % {"error": exc})
        raise
    print(_("%(count)d reports read.") % {"count": result.fetched})
    for kind_name, number in sorted((result.kinds or {}).items()):
        print(f"  {kind_name}: {number}")
    return 0


def cmd_bounces_serve(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.tracking import inbound

    require(actor_of(args), "channels.manage")
    print(_("Receiving bounces on %(host)s:%(port)s (Ctrl-C to stop).")
          % {"host": args.host, "port": args.port})
    inbound.run(args.host, args.port)
    return 0


def cmd_sms_send(args: argparse.Namespace) -> int:
    from peyvand.messaging.channels.sms import SmsError, count
    from peyvand.tracking.actions import do_send_test_sms

    try:
        sent = do_send_test_sms(actor_of(args), args.to, args.text)
    except SmsError as exc:
        raise CommandFailed(str(exc))
    encoding, parts, chars = count(args.text)
    print(_("Sent through %(gateway)s as %(id)s (%(parts)d part(s), %(encoding)s, "
            "%(chars)d characters).") % {"gateway": sent.gateway, "id": sent.provider_id,
                                         "parts": parts, "encoding": encoding, "chars": chars})
    return 0


def cmd_sms_poll(args: argparse.Namespace) -> int:
    from peyvand.tracking.actions import do_poll_sms

    print(_("%(count)d SMS changed status.") % {"count": do_poll_sms(actor_of(args))})
    return 0


def _port(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(_("a port is 1–65535"))
    return number


def add_commands(commands) -> None:
    """Add `tracking`, `bounces` and `sms` to the `peyvand` command."""
    from peyvand.tracking.inbound import DEFAULT_PORT

    acting = acting_parser()
    sub = command_group(commands, "tracking", help=_("opens and clicks"),
                        description=_("Opens and clicks of sent messages."))
    drain = sub.add_parser("drain", parents=[acting],
                           help=_("store the opens and clicks waiting in the spool now"))
    drain.set_defaults(func=cmd_drain)
    stats = sub.add_parser("stats", parents=[acting],
                           help=_("print a message's (or a sending's) opens and clicks"))
    which = stats.add_mutually_exclusive_group(required=True)
    which.add_argument("--message", dest="message_id", type=int, metavar="ID",
                       help=_("one message, by its outbox id"))
    which.add_argument("--source", metavar="SOURCE",
                       help=_("every message of one sending, e.g. broadcast:12"))
    stats.set_defaults(func=cmd_stats)

    sub = command_group(commands, "bounces", help=_("bounces and spam complaints"),
                        description=_("Read bounce and complaint reports; hard bounces and "
                                      "complaints stop e-mail to the person."))
    poll = sub.add_parser("poll", parents=[acting], help=_("read reports from a mailbox"))
    source = poll.add_mutually_exclusive_group(required=True)
    source.add_argument("--imap", metavar="URL", help="imaps://user:password@host/INBOX")
    source.add_argument("--pop", metavar="URL", help="pop3s://user:password@host")
    poll.add_argument("--delete", action="store_true",
                      help=_("IMAP: delete read reports instead of marking them seen"))
    poll.set_defaults(func=cmd_bounces_poll)
    serve = sub.add_parser("serve", parents=[acting],
                           help=_("receive reports by SMTP for the bounce addresses"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT)
    serve.set_defaults(func=cmd_bounces_serve)

    sub = command_group(commands, "sms", help=_("SMS gateway"),
                        description=_("Try the SMS gateway named by PEYVAND_SMS_URL."))
    send = sub.add_parser("send", parents=[acting], help=_("send a test SMS"))
    send.add_argument("to", metavar="MOBILE")
    send.add_argument("text", metavar="TEXT")
    send.set_defaults(func=cmd_sms_send)
    status = sub.add_parser("poll", parents=[acting], help=_("ask the gateway about delivery"))
    status.set_defaults(func=cmd_sms_poll)
