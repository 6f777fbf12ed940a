"""`peyvand contacts export` and `peyvand contacts erase`, and the contact lookup and contact
number every other app's commands use (`contact_of`, `contact_number`)."""

from __future__ import annotations

import argparse
import json
import sys

from django.utils.translation import gettext_lazy

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    _,
    acting_parser,
    command_group,
    number_type,
    output_path,
    write_private,
)


def contact_of(actor, contact_id: int | str):
    """The contact the actor may see, or CommandFailed naming the number."""
    from django.http import Http404

    from peyvand.contacts.queries import access_contact

    try:
        return access_contact(actor, contact_id)
    except Http404:
        raise CommandFailed(_("There is no contact #%(id)s.") % {"id": contact_id})


# An argparse type: a contact's number, in any digits, with or without its #.
contact_number = number_type(gettext_lazy("“%(value)s” is not a contact number."))



def cmd_export(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.contacts.actions import do_export_contact
    from peyvand.contacts.export import write_export_file

    actor = actor_of(args)
    require(actor, "contacts.export")
    output = output_path(args.output)
    if args.contact is not None:
        if args.format != "json":
            raise CommandFailed(_("A single contact's full export is JSON only: use "
                                  "--format json."), EXIT_USAGE)
        data = do_export_contact(actor, contact_of(actor, args.contact))
        write_private(output, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        print(_("Exported contact #%(id)s to %(path)s.") % {"id": data["id"], "path": output})
        return EXIT_OK
    count = write_export_file(actor, args.format, output)
    print(_("Exported %(count)d contacts to %(path)s.") % {"count": count, "path": output})
    return EXIT_OK


def cmd_erase(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.contacts.actions import do_erase_contact

    actor = actor_of(args)
    require(actor, "contacts.erase")  # before asking anything
    contact = contact_of(actor, args.contact_id)
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


def add_commands(commands) -> None:
    """Add `contacts` (export, erase) to the `peyvand` command; imports adds `import`."""
    acting = acting_parser()
    contact_commands = command_group(commands, "contacts",
                                     help=_("import, export or erase contacts"),
                                     description=_("Import, export or erase contacts."))
    export = contact_commands.add_parser(
        "export", parents=[acting], help=_("write all contacts to a CSV, XLSX or JSON file"),
        description=_("Write all contacts (not erased ones) to a file, or with --contact the "
                      "full record of one person. The export is written to the audit log."))
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "json"],
                        help=_("file format"))
    export.add_argument("--output", required=True, metavar="FILE", help=_("file to write"))
    export.add_argument("--contact", type=contact_number, metavar="ID",
                        help=_("export everything held about this one contact (JSON)"))
    export.set_defaults(func=cmd_export)

    erase = contact_commands.add_parser(
        "erase", parents=[acting], help=_("erase a contact's personal data"),
        description=_("Remove a contact's names, addresses, numbers, notes and field values "
                      "for good; an anonymous row stays for counts."))
    erase.add_argument("contact_id", type=contact_number, metavar="CONTACT_ID",
                       help=_("the contact's number"))
    erase.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    erase.set_defaults(func=cmd_erase)
