"""`peyvand campaigns list|report ID`; found by peyvand/cli.py through add_commands."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from django.utils.translation import gettext_lazy

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import EXIT_OK, CommandFailed, _, acting_parser, command_group, number_type

campaign_number = number_type(gettext_lazy("“%(value)s” is not a campaign number."))



def _json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2,
                     default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


def cmd_list(args: argparse.Namespace) -> int:
    from peyvand.campaigns.api_data import campaign_data
    from peyvand.campaigns.queries import campaigns

    data = [campaign_data(c) for c in campaigns(actor_of(args))]
    if args.json:
        _json(data)
        return EXIT_OK
    if not data:
        print(_("No campaigns yet."))
        return EXIT_OK
    for c in data:
        print(f"{c['id']:>5}  {c['status']:<18} {c['channel']:<5} {c['name']}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from django.http import Http404

    from peyvand.campaigns.queries import campaign_of, report, report_csv
    actor = actor_of(args)
    try:
        campaign = campaign_of(actor, args.campaign)
    except Http404:
        raise CommandFailed(_("There is no campaign #%(id)s.") % {"id": args.campaign})
    data = report(actor, campaign)
    if args.format == "json":
        _json(data)
    elif args.format == "csv":
        sys.stdout.write(report_csv(data))
    else:
        print(_("Campaign #%(id)s: %(name)s") % {"id": campaign.pk, "name": campaign.name})
        writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
        for key in ("sent", "delivered", "opened", "machine_opened", "clicked", "ordered",
                    "complained", "unsubscribed"):
            writer.writerow([key, data.get(key, 0)])
        for currency, amount in sorted((data.get("revenue") or {}).items()):
            writer.writerow(["revenue", amount, currency])
        for kind, n in sorted((data.get("bounced") or {}).items()):
            writer.writerow(["bounced", n, kind])
    return EXIT_OK


def add_commands(commands) -> None:
    """Add `campaigns` to the `peyvand` command."""
    acting = acting_parser()
    sub = command_group(commands, "campaigns", help=_("campaigns: what was sent and what came "
                                                      "of it"),
                        description=_("List campaigns and read their reports."))
    listing = sub.add_parser("list", parents=[acting], help=_("list the campaigns"))
    listing.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    listing.set_defaults(func=cmd_list)
    report = sub.add_parser("report", parents=[acting], help=_("a campaign's report"),
                            description=_("Sent, delivered, opened (people; machines apart), "
                                          "clicked, ordered within the window and revenue, "
                                          "bounces, complaints and unsubscribes."))
    report.add_argument("campaign", type=campaign_number, metavar="ID",
                        help=_("campaign number"))
    report.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help=_("table (default), json or csv"))
    report.set_defaults(func=cmd_report)
