"""`peyvand journeys list|run-due|recipes|use-recipe`; found by peyvand/cli.py through add_commands.
`run-due` is what a worker calls (the Huey tick does the same every minute)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import EXIT_OK, _, acting_parser, command_group


def cmd_list(args: argparse.Namespace) -> int:
    from peyvand.journeys.queries import journey_data, journeys

    data = [journey_data(j) for j in journeys(actor_of(args))]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    if not data:
        print(_("No journeys yet."))
        return EXIT_OK
    for j in data:
        version = f"v{j['version']}" if j["version"] else "-"
        print(f"{j['id']:>5}  {j['status']:<7} {version:<5} {j['name']}")
    return EXIT_OK


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(_("Give a whole number, 1 or more."))
    return number


def cmd_run_due(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.journeys.runner import run_due, worker_name
    from peyvand.journeys.tasks import run_until_done

    require(actor_of(args), "journeys.edit")
    worker = worker_name()
    lease = dt.timedelta(seconds=args.lease)
    if args.all:  # until nothing is due, however long it takes
        total = {"claimed": 0, "steps": 0}
        while True:
            done = run_due(worker, args.limit, lease)
            total = {k: total[k] + done[k] for k in total}
            if not done["claimed"]:
                break
    else:
        total = run_until_done(worker, args.limit)
    print(f"claimed={total['claimed']} steps={total['steps']}")
    return EXIT_OK


def cmd_recipes(args: argparse.Namespace) -> int:
    from peyvand.base.roles import require
    from peyvand.journeys.recipe_views import recipe_data

    require(actor_of(args), "journeys.view")
    data = recipe_data(args.language)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in data:
        print(f"{r['id']:<20} {r['spec']:<3} {r['name']}")
    return EXIT_OK


def cmd_use_recipe(args: argparse.Namespace) -> int:
    from peyvand.journeys.actions import do_use_recipe

    used = do_use_recipe(actor_of(args), args.id, args.language, publish=args.publish)
    print(_("Journey %(id)s “%(name)s” (%(status)s); templates: %(templates)s") % {
        "id": used.journey.pk, "name": used.journey.name, "status": used.journey.status,
        "templates": ", ".join(t.name for t in used.templates)})
    return EXIT_OK


def add_commands(commands) -> None:
    """Add `journeys` to the `peyvand` command."""
    acting = acting_parser()
    sub = command_group(commands, "journeys", help=_("journeys: automated series of steps"),
                        description=_("List journeys, run their due steps, and create them from "
                                      "recipes."))
    listing = sub.add_parser("list", parents=[acting], help=_("list the journeys"))
    listing.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    listing.set_defaults(func=cmd_list)
    run = sub.add_parser("run-due", parents=[acting], help=_("run the steps that are due"),
                         description=_("Claim the due enrolments and run their steps, until "
                                       "none is due (at most about a minute unless --all)."))
    run.add_argument("--limit", type=_positive, default=200,
                     help=_("enrolments claimed at a time (default: %(default)s)"))
    run.add_argument("--lease", type=_positive, default=300,
                     help=_("seconds a claim is held before another worker may take it "
                            "(default: %(default)s)"))
    run.add_argument("--all", action="store_true",
                     help=_("keep going until nothing is due, however long it takes"))
    run.set_defaults(func=cmd_run_due)
    recipes = sub.add_parser("recipes", parents=[acting], help=_("list the journey recipes"))
    recipes.add_argument("--json", action="store_true",
                         help=_("print JSON instead of a table"))
    recipes.add_argument("--language", choices=("fa", "en"),
                         help=_("the language of the steps' words"))
    recipes.set_defaults(func=cmd_recipes)
    use = sub.add_parser("use-recipe", parents=[acting],
                         help=_("create a journey and its templates from a recipe"),
                         description=_("Create the recipe's message templates in the language "
                                       "given, its segment if it needs one, and its journey as "
                                       "a draft (or live with --publish, the owner's)."))
    use.add_argument("id", help=_("the recipe (see `peyvand journeys recipes`)"))
    use.add_argument("--language", required=True, choices=("fa", "en"),
                     help=_("the messages' language"))
    use.add_argument("--publish", action="store_true", help=_("turn the journey on now"))
    use.set_defaults(func=cmd_use_recipe)
