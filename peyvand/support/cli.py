"""`peyvand tasks list|close`; found by peyvand/cli.py through add_commands."""

from __future__ import annotations

import argparse
import json

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import EXIT_OK, CommandFailed, _, acting_parser, command_group

OUTCOMES = ("reached", "no_answer", "declined", "other")


def cmd_list(args: argparse.Namespace) -> int:
    from peyvand.support.queries import search, task_data

    data = [task_data(t) for t in search(actor_of(args), mine=args.mine, overdue=args.overdue)]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    if not data:
        print(_("No open tasks."))
        return EXIT_OK
    for t in data:
        due = t["due_at"].strftime("%Y-%m-%d %H:%M") if t["due_at"] else "-"
        who = t["assignee"] or _("team")
        print(f"{t['id']:>6}  {t['kind']:<5} {due:<16} {who:<12} #{t['contact']:<7} {t['title']}")
    return EXIT_OK


def cmd_close(args: argparse.Namespace) -> int:
    from peyvand.support.actions import do_close_task
    from peyvand.support.models import StaffTask

    actor = actor_of(args)
    task = StaffTask.objects.filter(pk=args.id).first()
    if task is None:
        raise CommandFailed(_("There is no task %(id)s.") % {"id": args.id})
    do_close_task(actor, task, args.outcome, args.note)
    print(_("Task %(id)s closed: %(outcome)s.") % {"id": task.pk, "outcome": args.outcome})
    return EXIT_OK


def add_commands(commands) -> None:
    """Add `tasks` to the `peyvand` command."""
    acting = acting_parser()
    sub = command_group(commands, "tasks", help=_("tasks: staff tasks (call this customer)"),
                        description=_("List open staff tasks and close them with an outcome."))
    listing = sub.add_parser("list", parents=[acting], help=_("list the open tasks"))
    listing.add_argument("--mine", action="store_true",
                         help=_("only mine and the team's (unassigned)"))
    listing.add_argument("--overdue", action="store_true", help=_("only those past due"))
    listing.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    listing.set_defaults(func=cmd_list)
    close = sub.add_parser("close", parents=[acting], help=_("close a task with its outcome"))
    close.add_argument("id", type=int, help=_("the task's number"))
    close.add_argument("--outcome", required=True, choices=OUTCOMES,
                       help=_("how it went"))
    close.add_argument("--note", default="", help=_("what was said"))
    close.set_defaults(func=cmd_close)
