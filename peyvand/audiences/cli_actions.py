"""`peyvand segments export ID --format csv|xlsx [--output FILE]`, `peyvand segments tag ID
TAG` and `untag`: acting on a segment's people from the shell, here and now.

Added to the `segments` command group by audiences' cli.py (`add_action_commands`).
"""

from __future__ import annotations

import argparse

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import EXIT_FAILED, EXIT_OK, CommandFailed, _, acting_parser, output_path


def cmd_export(args: argparse.Namespace) -> int:
    from peyvand.audiences.bulk import export_to_file

    output = output_path(args.output or f"segment-{args.segment_id}.{args.format}")
    count = export_to_file(actor_of(args), {"segment": args.segment_id}, args.format, output)
    print(_("Exported %(count)d contacts to %(path)s.") % {"count": count, "path": output})
    return EXIT_OK


def cmd_tag(args: argparse.Namespace) -> int:
    from peyvand.audiences.bulk import do_bulk_action_now

    job = do_bulk_action_now(actor_of(args), action=args.bulk_action,
                             target={"segment": args.segment_id}, params={"tag": args.tag})
    if job.status != job.Status.DONE:
        raise CommandFailed(job.error or _("The action failed."), EXIT_FAILED)
    message = (_("Tagged %(changed)d of %(count)d people “%(tag)s”.")
               if args.bulk_action == "tag" else
               _("Took “%(tag)s” off %(changed)d of %(count)d people."))
    print(message % {"changed": job.result["changed"], "count": job.result["count"],
                     "tag": job.result["tag"]})
    return EXIT_OK


def add_action_commands(segments) -> None:
    """Add export, tag and untag to the `segments` ACTION subparsers."""
    acting = acting_parser()
    export = segments.add_parser(
        "export", parents=[acting], help=_("write a segment's people to a CSV or XLSX file"),
        description=_("Write the people in the segment now to a file. The export is written "
                      "to the audit log."))
    export.add_argument("segment_id", type=int, metavar="ID", help=_("the segment's number"))
    export.add_argument("--format", required=True, choices=["csv", "xlsx"],
                        help=_("file format"))
    export.add_argument("--output", metavar="FILE",
                        help=_("file to write (default: segment-ID.FORMAT here)"))
    export.set_defaults(func=cmd_export)
    for name, text in (("tag", _("tag everyone in a segment")),
                       ("untag", _("take a tag off everyone in a segment"))):
        command = segments.add_parser(name, parents=[acting], help=text, description=text)
        command.add_argument("segment_id", type=int, metavar="ID",
                             help=_("the segment's number"))
        command.add_argument("tag", metavar="TAG", help=_("the tag's name"))
        command.set_defaults(func=cmd_tag, bulk_action=name)
