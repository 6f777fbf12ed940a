"""`peyvand segments list|show|count|fields|refresh`; found by peyvand/cli.py through
add_commands.

Handlers take the parsed arguments and return an exit code; errors become exit codes in
peyvand.cli (a rule that does not hold: exit 1, naming its node). Tables for people, `--json`
for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from django.utils.translation import gettext_lazy

from peyvand.accounts.cli import actor_of
from peyvand.audiences.cli_actions import add_action_commands
from peyvand.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    _,
    acting_parser,
    command_group,
    number_type,
)

# An argparse type: a segment's number, in any digits, with or without its #.
segment_number = number_type(gettext_lazy("“%(value)s” is not a segment number."))



def _segment(actor, segment_id: int):
    from django.http import Http404

    from peyvand.audiences.queries import access_segment

    try:
        return access_segment(actor, segment_id)
    except Http404:
        raise CommandFailed(_("There is no segment #%(id)s.") % {"id": segment_id})


def _moment(value) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2,
                     default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


def _table(header: list[str], rows: list[list[Any]]) -> None:
    """Columns padded to their widest cell; the last one is left ragged."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join([c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
                        + [row[-1]]).rstrip())


def _count_text(count: int | None) -> str:
    return "-" if count is None else str(count)


# --- commands -----------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    from peyvand.audiences.api_queries import segment_data
    from peyvand.audiences.queries import segments

    data = [segment_data(s) for s in segments(actor_of(args))]
    if args.json:
        _json(data)
        return EXIT_OK
    if not data:
        print(_("No segments yet."))
        return EXIT_OK
    _table([_("id"), _("now"), _("members"), _("refreshed"), _("auto"), _("name")],
           [[s["id"], _count_text(s["count"]), s["member_count"], _moment(s["refreshed_at"]),
             _("yes") if s["auto_refresh"] else _("no"), s["name"]] for s in data])
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from peyvand.audiences.api_queries import segment_data

    data = segment_data(_segment(actor_of(args), args.segment))
    if args.json:
        _json(data)
        return EXIT_OK
    print(_("Segment #%(id)s: %(name)s") % {"id": data["id"], "name": data["name"]})
    if data["description"]:
        print(data["description"])
    if data["count"] is None:
        print(_("Members now: unknown; the rule no longer holds (see `peyvand segments count "
                "%(id)s`).") % {"id": data["id"]})
    else:
        print(_("Members now: %(count)d") % {"count": data["count"]})
    if data["refreshed_at"] is None:
        print(_("At the last refresh: never refreshed"))
    else:
        print(_("At the last refresh: %(count)d (%(at)s)")
              % {"count": data["member_count"], "at": _moment(data["refreshed_at"])})
    print(_("Kept up to date: %(answer)s")
          % {"answer": _("yes") if data["auto_refresh"] else _("no")})
    print(_("Rule:"))
    _json(data["rules"])
    return EXIT_OK


def _rules_given(args: argparse.Namespace) -> Any:
    if args.rules_file is not None:
        if args.rules_file == "-":
            text, where = sys.stdin.read(), "-"
        else:
            with open(args.rules_file, encoding="utf-8") as fh:
                text, where = fh.read(), args.rules_file
    else:
        text, where = args.rules, "--rules"
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandFailed(_("%(where)s is not JSON: %(reason)s")
                            % {"where": where, "reason": exc})


def cmd_count(args: argparse.Namespace) -> int:
    from peyvand.audiences.api_queries import count_rules
    from peyvand.audiences.queries import count_of, members_now

    actor = actor_of(args)
    if args.segment is not None:
        count = count_of(members_now(_segment(actor, args.segment)))
    else:
        count = count_rules(actor, _rules_given(args))
    if args.json:
        _json({"count": count})
    else:
        print(count)
    return EXIT_OK


def cmd_fields(args: argparse.Namespace) -> int:
    from django.utils.translation import get_language

    from peyvand.audiences.api_queries import field_catalogue
    from peyvand.base.roles import require

    require(actor_of(args), "segments.view")
    catalogue = field_catalogue((get_language() or "en")[:2])
    if args.json:
        _json(catalogue)
        return EXIT_OK
    for i, group in enumerate(catalogue["groups"]):
        print(("\n" if i else "") + f"{group['label']} ({group['key']})")
        _table([_("path"), _("type"), _("label"), _("ops")],
               [[f["path"], f["type"] + (" in_last" if f["in_last"] else ""), f["label"],
                 " ".join(f["ops"])]
                for f in catalogue["items"] if f["group"] == group["key"]])
    return EXIT_OK


def _print_refresh(segment, result: dict[str, Any]) -> None:
    if result["baseline"]:
        print(_("%(name)s (#%(id)s): %(count)d members (a baseline: nobody counted as "
                "entering).") % {"name": segment.name, "id": segment.pk,
                                 "count": result["count"]})
    else:
        print(_("%(name)s (#%(id)s): %(count)d members, %(entered)d entered, %(left)d left.")
              % {"name": segment.name, "id": segment.pk, **result})


def cmd_refresh(args: argparse.Namespace) -> int:
    from peyvand.audiences.actions import do_refresh_segment
    from peyvand.base.errors import Invalid
    from peyvand.base.roles import require

    actor = actor_of(args)
    if args.segment is not None:
        segment = _segment(actor, args.segment)
        _print_refresh(segment, do_refresh_segment(actor, segment))
        return EXIT_OK
    from peyvand.audiences.queries import segments

    require(actor, "segments.edit")  # refused before any work, even with no segments
    failed = 0
    for segment in segments(actor):
        try:
            _print_refresh(segment, do_refresh_segment(actor, segment))
        except Invalid as exc:  # one rule that no longer holds must not stop the others
            failed += 1
            print(_("%(name)s (#%(id)s): not refreshed: %(reason)s")
                  % {"name": segment.name, "id": segment.pk, "reason": exc.reason},
                  file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def add_commands(commands) -> None:
    """Add `segments` to the `peyvand` command."""
    acting = acting_parser()
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true",
                         help=_("print JSON instead of a table"))
    sub = command_group(commands, "segments", help=_("segments: saved rules over contacts"),
                        description=_("Count, inspect and refresh segments. A rule is JSON; "
                                      "`peyvand segments fields` lists what it can ask "
                                      "about."))

    listing = sub.add_parser("list", parents=[acting, as_json], help=_("list the segments"),
                             description=_("Every segment with its live count (who the rule "
                                           "matches now) and its members at the last "
                                           "refresh."))
    listing.set_defaults(func=cmd_list)

    show = sub.add_parser("show", parents=[acting, as_json], help=_("show a segment"),
                          description=_("A segment's rule, live count and last refresh."))
    show.add_argument("segment", type=segment_number, metavar="ID", help=_("segment number"))
    show.set_defaults(func=cmd_show)

    count = sub.add_parser(
        "count", parents=[acting, as_json], help=_("count who a segment or a rule matches now"),
        description=_("Count the people a saved segment, or a rule given as JSON, matches "
                      "now. A rule that does not hold is refused naming its node, e.g. "
                      "rules.all[1].op."))
    which = count.add_mutually_exclusive_group(required=True)
    which.add_argument("segment", nargs="?", type=segment_number, metavar="ID",
                       help=_("segment number"))
    which.add_argument("--rules", metavar="JSON", help=_("a rule, e.g. '{\"field\": "
                                                         "\"orders.count\", \"op\": \"gt\", "
                                                         "\"value\": 2}'"))
    which.add_argument("--rules-file", metavar="PATH",
                       help=_("a file holding the rule as JSON (- reads standard input)"))
    count.set_defaults(func=cmd_count)

    fields = sub.add_parser("fields", parents=[acting, as_json],
                            help=_("list the paths a rule can ask about"),
                            description=_("Every path with its type, label and ops, by "
                                          "group; custom fields included."))
    fields.set_defaults(func=cmd_fields)

    refresh = sub.add_parser(
        "refresh", parents=[acting], help=_("refresh the membership of segments"),
        description=_("Bring the materialised membership up to date now, recording who "
                      "entered and left. Kept-up-to-date segments are also refreshed on a "
                      "schedule."))
    target = refresh.add_mutually_exclusive_group(required=True)
    target.add_argument("segment", nargs="?", type=segment_number, metavar="ID",
                        help=_("segment number"))
    target.add_argument("--all", action="store_true", help=_("every segment"))
    refresh.set_defaults(func=cmd_refresh)

    # Acting on members (`segments export`, `tag`, `untag`) lives in its own module.
    add_action_commands(sub)
