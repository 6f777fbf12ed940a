"""`peyvand sources …` and `peyvand orders export`; found by peyvand/cli.py through
add_commands (imports adds `orders import`).

Handlers take the parsed arguments and return an exit code; errors become exit codes in
peyvand.cli.
"""

from __future__ import annotations

import argparse

from django.utils.translation import gettext_lazy

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import (
    CommandFailed,
    _,
    acting_parser,
    command_group,
    number_type,
    output_path,
)


def cmd_sources_add(args: argparse.Namespace) -> int:
    from peyvand.base.site import public_url
    from peyvand.commerce.actions import do_create_source

    source = do_create_source(actor_of(args), args.kind, args.name, args.currency)
    print(_("Shop “%(name)s” added. In WooCommerce → Settings → Advanced → Webhooks, use:")
          % {"name": source.name})
    print(_("  delivery URL: %(url)s") % {"url": public_url() + source.webhook_path()})
    print(_("  secret:       %(secret)s") % {"secret": source.secret})
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    from peyvand.commerce.queries import sources_with_counts

    for source in sources_with_counts(actor_of(args)):
        state = "" if source.active else " " + _("(paused)")
        print(f"{source.name}{state}\t{source.webhook_path()}\t"
              + _("%(received)d received, %(failed)d failed")
              % {"received": source.received, "failed": source.failed})
    return 0


def cmd_sources_retry(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.commerce.actions import retry_delivery
    from peyvand.commerce.models import WebhookDelivery

    actor = actor_of(args)
    require(actor, "sources.manage")
    qs = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED)
    if args.delivery_id is not None:
        qs = WebhookDelivery.objects.filter(pk=args.delivery_id)
        if not qs.exists():
            raise CommandFailed(_("There is no delivery #%(id)s.") % {"id": args.delivery_id})
    count = sum(1 for delivery in qs.order_by("pk") if retry_delivery(actor, delivery))
    print(_("%(count)d deliveries queued to be processed again.") % {"count": count})
    return 0


def cmd_orders_export(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.commerce.export import write_orders_file

    actor = actor_of(args)
    require(actor, "commerce.export")
    output = output_path(args.output)
    count = write_orders_file(actor, args.format, output)
    print(_("Exported %(count)d orders to %(path)s.") % {"count": count, "path": output})
    return 0


_delivery_id = number_type(gettext_lazy("“%(value)s” is not a delivery number."))



def add_commands(subparsers) -> None:
    """Add `sources` and `orders` to the `peyvand` command."""
    acting = acting_parser()
    source_commands = command_group(subparsers, "sources",
                                    help=_("shops that send orders by webhook"),
                                    description=_("Connect shops (WooCommerce) that send "
                                                  "orders, customers and products."))
    add = source_commands.add_parser(
        "add", parents=[acting], help=_("connect a shop and print its webhook URL and secret"),
        description=_("Connect a shop; prints the webhook URL path and the secret to enter "
                      "in the shop."))
    add.add_argument("kind", choices=["woocommerce"], help=_("the shop software"))
    add.add_argument("name", metavar="NAME", help=_("a short name, e.g. myshop"))
    add.add_argument("--currency", default="IRT",
                     help=_("the shop's currency as it names it (default: %(default)s, toman)"))
    add.set_defaults(func=cmd_sources_add)

    listing = source_commands.add_parser("list", parents=[acting],
                                         help=_("list connected shops"))
    listing.set_defaults(func=cmd_sources_list)

    retry = source_commands.add_parser(
        "retry", parents=[acting], help=_("process failed deliveries again"),
        description=_("Queue every failed webhook delivery, or the one given, to be "
                      "processed again."))
    retry.add_argument("delivery_id", nargs="?", type=_delivery_id, metavar="DELIVERY_ID",
                       help=_("only this delivery"))
    retry.set_defaults(func=cmd_sources_retry)

    order_commands = command_group(subparsers, "orders", help=_("import and export orders"),
                                   description=_("Import and export orders."))
    export = order_commands.add_parser(
        "export", parents=[acting], help=_("write all orders to a CSV or XLSX file"),
        description=_("Write every order to a file; the export is written to the audit log."))
    export.add_argument("--format", required=True, choices=["csv", "xlsx"],
                        help=_("file format"))
    export.add_argument("--output", required=True, metavar="FILE", help=_("file to write"))
    export.set_defaults(func=cmd_orders_export)
