"""`peyvand sources …` and `peyvand orders export`; wired into peyvand/cli.py by add_commands.

Handlers take the parsed arguments and return an exit code, like the other commands there;
PermissionDenied and ValueError are turned into exit codes by peyvand.cli.main.
"""

from __future__ import annotations

import argparse
import os


def _(message: str) -> str:
    from django.utils.translation import gettext

    return gettext(message)


def _actor(args: argparse.Namespace):
    from peyvand.cli import _actor as cli_actor

    return cli_actor(args)


def cmd_sources_add(args: argparse.Namespace) -> int:
    from peyvand.base.site import public_url
    from peyvand.commerce.actions import do_create_source

    source = do_create_source(_actor(args), args.kind, args.name, args.currency)
    print(_("Shop “%(name)s” added. In WooCommerce → Settings → Advanced → Webhooks, use:")
          % {"name": source.name})
    print(_("  delivery URL: %(url)s") % {"url": public_url() + source.webhook_path()})
    print(_("  secret:       %(secret)s") % {"secret": source.secret})
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    from peyvand.commerce.queries import sources_with_counts

    for source in sources_with_counts(_actor(args)):
        state = "" if source.active else " " + _("(paused)")
        print(f"{source.name}{state}\t{source.webhook_path()}\t"
              + _("%(received)d received, %(failed)d failed")
              % {"received": source.received, "failed": source.failed})
    return 0


def cmd_sources_retry(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.cli import CommandFailed
    from peyvand.commerce.actions import retry_delivery
    from peyvand.commerce.models import WebhookDelivery

    actor = _actor(args)
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
    from peyvand.cli import CommandFailed
    from peyvand.commerce.export import write_orders_file

    actor = _actor(args)
    require(actor, "commerce.export")
    output = os.path.abspath(args.output)
    if not os.path.isdir(os.path.dirname(output)):
        raise CommandFailed(_("The folder of %(path)s does not exist.") % {"path": args.output})
    count = write_orders_file(actor, args.format, output)
    print(_("Exported %(count)d orders to %(path)s.") % {"count": count, "path": output})
    return 0


def _delivery_id(value: str) -> int:
    from peyvand.base.normalise import ascii_digits

    try:
        number = int(ascii_digits(value).lstrip("#"))
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(_("“%(value)s” is not a delivery number.")
                                         % {"value": value})
    return number


def add_commands(subparsers, acting: argparse.ArgumentParser | None = None) -> dict:
    """Add `sources` and `orders` to the `peyvand` command; `acting` is the parent parser
    holding --as (one is made when not given)."""
    if acting is None:
        acting = argparse.ArgumentParser(add_help=False)
        acting.add_argument("--as", dest="as_user", metavar="USER",
                            help=_("act as this user, with their role"))

    sources = subparsers.add_parser("sources", help=_("shops that send orders by webhook"),
                                    description=_("Connect shops (WooCommerce) that send "
                                                  "orders, customers and products."))
    source_commands = sources.add_subparsers(dest="sources_command", metavar="ACTION",
                                             required=True)
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

    orders = subparsers.add_parser("orders", help=_("import and export orders"),
                                   description=_("Import and export orders."))
    order_commands = orders.add_subparsers(dest="orders_command", metavar="ACTION",
                                           required=True)
    export = order_commands.add_parser(
        "export", parents=[acting], help=_("write all orders to a CSV or XLSX file"),
        description=_("Write every order to a file; the export is written to the audit log."))
    export.add_argument("--format", required=True, choices=["csv", "xlsx"],
                        help=_("file format"))
    export.add_argument("--output", required=True, metavar="FILE", help=_("file to write"))
    export.set_defaults(func=cmd_orders_export)
    return {"orders": order_commands, "sources": source_commands}
