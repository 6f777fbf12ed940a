"""`peyvand consent …`: proof of consent, churn, SMS gateway hooks, ledger check.

Handlers take the parsed arguments and return an exit code like the other commands; errors
become exit codes in peyvand.cli.
"""

from __future__ import annotations

import argparse
import json

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import _, acting_parser, command_group, output_path, write_private
from peyvand.contacts.cli import contact_number, contact_of


def cmd_proof(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.consent.actions import do_export_proof, proof_csv

    actor = actor_of(args)
    require(actor, "consent.export")
    output = output_path(args.output)
    contact = contact_of(actor, args.contact_id)
    data = do_export_proof(actor, contact, args.format)
    text = proof_csv(data) if args.format == "csv" else \
        json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    write_private(output, text)
    print(_("Wrote the proof of consent of contact #%(id)s (%(rows)d changes) to %(path)s.")
          % {"id": contact.pk, "rows": len(data["history"]), "path": output})
    return 0


def cmd_churn(args: argparse.Namespace) -> int:
    from peyvand.consent.churn import churn, churn_csv

    report = churn(actor_of(args), period=args.period, by=args.by, periods=args.periods,
                   calendar=args.calendar, language="en")
    text = churn_csv(report)
    if args.output:
        output = output_path(args.output)
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(_("Wrote %(count)d rows to %(path)s.") % {"count": len(report.rows),
                                                          "path": output})
    else:
        print(text, end="")
    return 0


def cmd_sms_hook_add(args: argparse.Namespace) -> int:
    from django.urls import reverse

    from peyvand.consent.actions import do_add_sms_gateway

    gateway = do_add_sms_gateway(actor_of(args), args.name)
    print(_("Gateway “%(name)s” added. Have it post incoming SMS (from, text) to:")
          % {"name": gateway.name})
    print("  https://<this server>" + reverse("consent:sms_hook", args=[gateway.token]))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.consent.ledger import cached_state, rebuild, replay_contact
    from peyvand.consent.models import ConsentChange, ConsentState

    actor = actor_of(args)
    require(actor, "consent.export" if args.repair else "consent.view")
    ids = set(ConsentChange.objects.values_list("contact_id", flat=True).distinct())
    ids |= set(ConsentState.objects.values_list("contact_id", flat=True).distinct())
    wrong = [cid for cid in sorted(ids) if replay_contact(cid) != cached_state(cid)]
    if args.repair:
        for cid in wrong:
            rebuild(cid)
    values = {"checked": len(ids), "wrong": len(wrong)}
    if args.repair:
        print(_("%(checked)d contacts checked; %(wrong)d rebuilt from the ledger.") % values)
    else:
        print(_("%(checked)d contacts checked; %(wrong)d cached states differ from the "
                "ledger.") % values)
    return 1 if wrong and not args.repair else 0


def add_commands(subparsers) -> None:
    """Add `consent` to the `peyvand` command."""
    from peyvand.consent.churn import CALENDARS, DIMENSIONS, PERIODS

    acting = acting_parser()
    commands = command_group(subparsers, "consent", help=_("consent: proof, churn, SMS hooks"),
                             description=_("Permission marketing: proof of consent, "
                                           "churn, SMS gateway hooks."))

    proof = commands.add_parser(
        "proof", parents=[acting], help=_("write one contact's proof of consent"),
        description=_("Write every consent change of one contact, with the exact texts they "
                      "agreed to, IP and time; the export is written to the audit log."))
    proof.add_argument("contact_id", type=contact_number, metavar="CONTACT_ID",
                       help=_("the contact's number"))
    proof.add_argument("--output", required=True, metavar="FILE", help=_("file to write"))
    proof.add_argument("--format", choices=["json", "csv"], default="json",
                       help=_("file format (default: %(default)s)"))
    proof.set_defaults(func=cmd_proof)

    churn = commands.add_parser(
        "churn", parents=[acting], help=_("opt-out rates per period, as CSV"),
        description=_("Opt-outs per period as a share of the reachable base at its start."))
    churn.add_argument("--period", choices=PERIODS, default="month",
                       help=_("week or month (default: %(default)s)"))
    churn.add_argument("--by", choices=DIMENSIONS, default="channel",
                       help=_("grouping (default: %(default)s)"))
    churn.add_argument("--periods", type=int, default=12,
                       help=_("how many periods back (default: %(default)s)"))
    churn.add_argument("--calendar", choices=CALENDARS, default="jalali",
                       help=_("month and week boundaries (default: %(default)s)"))
    churn.add_argument("--output", metavar="FILE", help=_("file to write (default: print)"))
    churn.set_defaults(func=cmd_churn)

    hook = commands.add_parser("sms-hook", help=_("SMS gateways that send stop words"),
                               description=_("Gateways that post incoming SMS (stop words)."))
    hook_commands = hook.add_subparsers(dest="hook_command", metavar="ACTION", required=True)
    add = hook_commands.add_parser("add", parents=[acting],
                                   help=_("add a gateway and print its secret URL"))
    add.add_argument("name", metavar="NAME", help=_("a short name, e.g. kavenegar"))
    add.set_defaults(func=cmd_sms_hook_add)

    check = commands.add_parser(
        "check", parents=[acting], help=_("compare the cached consent with the ledger"),
        description=_("Replay every contact's consent ledger and compare it with the cached "
                      "state; exit 1 when they differ, unless --repair rebuilds them."))
    check.add_argument("--repair", action="store_true",
                       help=_("rebuild the cache of contacts that differ"))
    check.set_defaults(func=cmd_check)
