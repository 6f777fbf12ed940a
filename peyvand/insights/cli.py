"""`peyvand insights refresh [--as-of DATE]`; found by peyvand/cli.py through add_commands.

Handlers take the parsed arguments and return an exit code; errors become exit codes in
peyvand.cli.
"""

from __future__ import annotations

import argparse

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import _, acting_parser, command_group


def cmd_refresh(args: argparse.Namespace) -> int:
    from peyvand.insights.actions import refresh_all
    from peyvand.insights.queries import latest_fit

    actor = actor_of(args)
    run = refresh_all(actor, args.as_of)
    print(_("Insights as of %(day)s: %(contacts)d contacts, %(customers)d customers, in "
            "%(seconds).1f s.") % {"day": run.as_of.isoformat(), "contacts": run.contacts,
                                   "customers": run.customers, "seconds": run.seconds})
    fit = latest_fit()
    if fit is not None and fit.method == "bgnbd":
        bg = fit.bgnbd
        print(_("Model: BG/NBD r=%(r).3f alpha=%(alpha).3f a=%(a).3f b=%(b).3f, "
                "log-likelihood %(ll).1f over %(n)d customers.")
              % {"r": bg["r"], "alpha": bg["alpha"], "a": bg["a"], "b": bg["b"],
                 "ll": bg["loglik"], "n": fit.sample_size})
    elif fit is not None:
        print(_("Model: too few repeat customers for BG/NBD (%(n)d); the average purchase "
                "rate is used.") % {"n": fit.repeaters})
    return 0


def add_commands(commands) -> None:
    """Add `insights` to the `peyvand` command."""
    acting = acting_parser()
    sub = command_group(commands, "insights", help=_("customer insights: RFM, value, "
                                                     "lifetime value"),
                        description=_("Compute customer insights."))
    refresh = sub.add_parser(
        "refresh", parents=[acting], help=_("recompute every contact's insights"),
        description=_("Recompute metrics, RFM, tiers, the ladder, purchase cycles, the "
                      "lifetime-value model and cross-sell for every contact. With --as-of, "
                      "as of the end of a past day: later orders are ignored, so a period "
                      "can be analysed and back-tested."))
    refresh.add_argument("--as-of", dest="as_of", metavar="DATE", default="",
                         help=_("a past day, 1403/02/12 or 2024-05-01 (default: today)"))
    refresh.set_defaults(func=cmd_refresh)
