"""`peyvand send --template NAME --tag TAG` (a marketing broadcast) and `peyvand sender`
(the worker)."""

from __future__ import annotations

import argparse

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import EXIT_USAGE, CommandFailed, _, acting_parser


def cmd_send(args: argparse.Namespace) -> int:
    from django.db import transaction

    from peyvand.messaging.actions import do_create_broadcast
    from peyvand.messaging.audience import audience_from_input

    if not (args.tag or args.segment):
        raise CommandFailed(_("Say whom to send to: --tag or --segment."), EXIT_USAGE)
    audience = None
    if args.segment or args.exclude_segment or args.exclude_tag:
        audience = audience_from_input(segments=args.segment,
                                       exclude_segments=args.exclude_segment,
                                       exclude_tags=args.exclude_tag,
                                       tags=[args.tag] if args.tag else [])
    with transaction.atomic():
        item = do_create_broadcast(actor_of(args), args.template, args.tag,
                                   args.message_class, audience=audience)
    print(_("Broadcast #%(id)s: %(queued)d messages queued, %(missing)d contacts without "
            "an address.") % {"id": item.pk, "queued": item.queued_count,
                              "missing": item.no_address_count})
    if item.status == item.Status.AWAITING:
        print(_("It waits for approval by an owner or reviewer."))
    return 0


def cmd_sender(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.messaging.sender import SenderBusy, send_all

    require(actor_of(args), "messages.send")
    try:
        stats = send_all(connections=args.connections, processes=args.processes,
                         until_empty=not args.forever)
    except SenderBusy:
        raise CommandFailed(_("Another sender is already running.")) from None
    print(_("%(sent)d sent, %(deferred)d deferred, %(failed)d failed.")
          % {"sent": stats.sent, "deferred": stats.deferred, "failed": stats.failed})
    return 0


def add_commands(commands) -> None:
    """Add `send` and `sender` to the `peyvand` command."""
    acting = acting_parser()
    send = commands.add_parser("send", parents=[acting],
                               help=_("send a marketing template to the contacts of a tag "
                                      "or the people of segments"))
    send.add_argument("--template", required=True, help=_("the template's name"))
    send.add_argument("--tag", help=_("the tag whose contacts receive it"))
    send.add_argument("--segment", type=int, action="append", default=[],
                      help=_("a segment (its number) whose people receive it; repeatable"))
    send.add_argument("--exclude-segment", type=int, action="append", default=[],
                      help=_("a segment whose people do not receive it; repeatable"))
    send.add_argument("--exclude-tag", action="append", default=[],
                      help=_("a tag whose contacts do not receive it; repeatable"))
    # The other classes are accepted here so that asking for one is refused with the reason.
    send.add_argument("--class", dest="message_class", default=None,
                      choices=["marketing", "alert", "transactional"],
                      help=_("a broadcast is always marketing; another class is refused"))
    send.set_defaults(func=cmd_send)

    sender = commands.add_parser("sender", parents=[acting],
                                 help=_("send queued messages now (the sending worker)"))
    sender.add_argument("--forever", action="store_true",
                        help=_("keep running and send messages as they come due"))
    sender.add_argument("--connections", type=int, default=None,
                        help=_("SMTP connections (default 10)"))
    sender.add_argument("--processes", type=int, default=None,
                        help=_("sending processes for a big backlog (default: one per CPU)"))
    sender.set_defaults(func=cmd_sender)
