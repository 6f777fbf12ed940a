"""`peyvand contacts import FILE [--map COLUMN=field ...] [--tag T] [--report REJECTED.csv]
[--consent-column FIELD=COLUMN ... --attest TEXT]` and `peyvand orders import FILE`.

`add_commands` adds them to the `contacts` and `orders` groups their owners (contacts,
commerce) made; the handlers return the exit code. They run in this process (no worker
needed) and record a Job row like the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from peyvand.accounts.cli import actor_of
from peyvand.cli_common import (
    EXIT_DENIED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    _,
    acting_parser,
    command_group,
)


def add_commands(subparsers) -> None:
    """Add `contacts import` and `orders import` to the `peyvand` command."""
    add_contact_commands(command_group(subparsers, "contacts"))
    add_order_commands(command_group(subparsers, "orders"), acting_parser())


def add_contact_commands(subparsers) -> None:
    """Add `import` to the given subparsers (those of `peyvand contacts`)."""
    parser = subparsers.add_parser(
        "import", help=_("import contacts from a CSV or XLSX file"),
        description=_("Create, update and merge contacts from a CSV (any encoding Excel "
                      "writes) or XLSX file. Columns are matched to fields by their "
                      "headers; --map overrides that. The last line printed is the "
                      "summary: read=N created=N updated=N merged=N rejected=N."))
    parser.add_argument("file", metavar="FILE", help=_("the CSV or XLSX file"))
    parser.add_argument("--map", dest="mapping", action="append", default=[],
                        metavar="COLUMN=FIELD",
                        help=_("read COLUMN (its header, or #number) into FIELD: first_name, "
                               "last_name, email, phone, national_id, birthday, tags, "
                               "language or a custom field's key; an empty FIELD skips the "
                               "column (repeatable)"))
    parser.add_argument("--tag", default="", help=_("add this tag to every imported contact"))
    parser.add_argument("--report", metavar="REJECTED.csv",
                        help=_("write the rejected rows, with the reason, to this CSV file"))
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help=_("act as this user, with their role (default: $PEYVAND_USER, "
                               "else the server operator with full rights)"))
    consent = parser.add_argument_group(
        _("subscribers from another tool (owner only)"),
        _("Bring the consent people gave in listmonk, Mailchimp, Mautic or another tool. "
          "Nothing is guessed: say which column holds what. Unsubscribed, cleaned, bounced "
          "and complained rows become opt-outs; nobody who ever left a channel here is "
          "subscribed to it again; a status not understood rejects the row."))
    consent.add_argument("--consent-column", dest="consent_columns", action="append",
                         default=[], metavar="FIELD=COLUMN",
                         help=_("read FIELD from COLUMN (its header, or #number): status, "
                                "channel, topics, opted_in_at, evidence (repeatable)"))
    consent.add_argument("--consent-status", default="", metavar="STATUS",
                         help=_("the status of every row, for a file without a status "
                                "column (e.g. subscribed for Mailchimp's subscribed export)"))
    consent.add_argument("--consent-channel", default="", metavar="CHANNEL",
                         help=_("the channel of every row, for a file without a channel "
                                "column: email, sms, phone or direct_mail"))
    consent.add_argument("--consent-topic", dest="consent_topics", action="append",
                         default=[], metavar="KEY",
                         help=_("a topic every subscribed row joins (repeatable)"))
    consent.add_argument("--consent-evidence", default="", metavar="TEXT",
                         help=_("where the consent comes from: the tool, the list, the "
                                "export's date"))
    consent.add_argument("--attest", default="", metavar="TEXT",
                         help=_("your attestation, required with any of these options: how "
                                "and when these people agreed to hear from you; the ledger "
                                "keeps it with your name"))
    parser.set_defaults(func=cmd_contacts_import)


def add_order_commands(order_subparsers, acting: argparse.ArgumentParser) -> None:
    """Add `import` to the subparsers of `peyvand orders`."""
    parser = order_subparsers.add_parser(
        "import", parents=[acting], help=_("import orders from a CSV or XLSX file"),
        description=_("Create or update orders from a CSV or XLSX file with one row per "
                      "order line; the rows of one order must be next to each other. "
                      "Customers are matched by e-mail or mobile, new ones are created. "
                      "The last line printed is the summary: read=N created=N updated=N "
                      "merged=N rejected=N."))
    parser.add_argument("file", metavar="FILE", help=_("the CSV or XLSX file"))
    parser.add_argument("--map", dest="mapping", action="append", default=[],
                        metavar="COLUMN=FIELD",
                        help=_("read COLUMN into FIELD: order_id, number, placed_at, status, "
                               "currency, email, phone, first_name, last_name, sku, product, "
                               "quantity, unit_price, line_total, discount, shipping, tax, "
                               "total, channel (repeatable)"))
    parser.add_argument("--report", metavar="REJECTED.csv",
                        help=_("write the rejected rows, with the reason, to this CSV file"))
    parser.add_argument("--currency", default="", metavar="CODE",
                        help=_("the currency of the amounts when the file has no currency "
                               "column (or a row leaves it empty): IRT for toman, IRR for "
                               "rial, USD …; required without a currency column"))
    parser.add_argument("--calendar", choices=["auto", "jalali", "gregorian"], default="auto",
                        help=_("how dates are read: jalali (1403/05/12), gregorian "
                               "(2024-08-02), or auto: years 1300–1499 are Jalali (default)"))
    parser.add_argument("--placed-at", choices=["now"], default=None, dest="placed_at",
                        help=_("date orders without a date now; without it they are refused"))
    parser.add_argument("--preview", action="store_true",
                        help=_("say what would be read (columns, ignored columns, currency, "
                               "how dates are read) and import nothing"))
    parser.set_defaults(func=cmd_orders_import)


def parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise ValueError(_("--map takes COLUMN=FIELD, not “%(item)s”.") % {"item": item})
        mapping[column.strip()] = target.strip()
    return mapping


class _Bar:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.on = stream.isatty()
        self.drawn = False

    def __call__(self, totals, done: int, total: int | None) -> None:
        if not self.on:
            return
        width = 30
        if total:
            share = min(1.0, done / total)
            bar = "#" * int(share * width)
            head = f"[{bar:<{width}}] {share:4.0%} "
        else:
            head = ""
        self.stream.write(f"\r{head}{totals.line()}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def parse_consent_columns(items: list[str]) -> dict[str, str]:
    """--consent-column FIELD=COLUMN … as mapping overrides {COLUMN: consent.FIELD}."""
    from peyvand.imports.subscriptions import FIELDS, PREFIX

    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        name = name.strip()
        if not sep or not column.strip() or name not in FIELDS:
            raise ValueError(_("--consent-column takes FIELD=COLUMN with FIELD one of "
                               "%(fields)s, not “%(item)s”.")
                             % {"fields": ", ".join(FIELDS), "item": item})
        mapping[column.strip()] = PREFIX + name
    return mapping


def cmd_contacts_import(args: argparse.Namespace) -> int:
    from peyvand.imports.contacts import JOB_KIND, import_contacts
    from peyvand.imports.subscriptions import Subscriptions

    subscriptions = Subscriptions(
        attestation=args.attest, evidence=args.consent_evidence, status=args.consent_status,
        channel=args.consent_channel, topics=list(args.consent_topics))
    try:
        consent_mapping = parse_consent_columns(args.consent_columns)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE

    def run(actor, path, mapping, report, progress):
        return import_contacts(actor, path, mapping={**mapping, **consent_mapping},
                               tag=args.tag, report_path=report, progress=progress,
                               subscriptions=subscriptions)

    capabilities = ["contacts.edit"]
    if consent_mapping or subscriptions.given():
        capabilities.append("consent.import")
    return _run_import(args, job_kind=JOB_KIND, capability=capabilities, run=run,
                       params={"tag": args.tag, "consent_columns": consent_mapping,
                               "subscriptions": {k: v for k, v in
                                                 subscriptions.as_params().items()
                                                 if k != "attestation"}})


def cmd_orders_import(args: argparse.Namespace) -> int:
    from peyvand.imports.contacts import ImportFailed
    from peyvand.imports.orders import OrderOptions, import_orders, preview_orders

    options = OrderOptions(currency=args.currency, calendar=args.calendar,
                           placed_at_now=args.placed_at == "now")
    if args.preview:
        try:
            plan = preview_orders(os.path.abspath(args.file), mapping=parse_map(args.mapping),
                                  options=options)
        except (ImportFailed, ValueError) as exc:
            print(_("Cannot import %(file)s: %(reason)s") % {"file": args.file, "reason": exc},
                  file=sys.stderr)
            return EXIT_FAILED
        for line in plan.lines():
            print(line)
        return EXIT_OK

    def run(actor, path, mapping, report, progress):
        return import_orders(actor, path, mapping=mapping, options=options,
                             report_path=report, progress=progress)

    return _run_import(args, job_kind="orders.import", capability="commerce.edit", run=run,
                       params={"currency": options.currency, "calendar": options.calendar,
                               "placed_at_now": options.placed_at_now})


def _run_import(args: argparse.Namespace, *, job_kind: str, capability: str | list[str],
                run, params: dict) -> int:
    """What both import commands share: acting user, job row, progress bar, summary line."""
    from django.core.exceptions import PermissionDenied

    from peyvand.base.jobs import create_job, fail_job, finish_job, start_job
    from peyvand.imports.contacts import ImportFailed, job_progress

    err = sys.stderr
    try:
        actor = actor_of(args)
        mapping = parse_map(args.mapping)
    except CommandFailed as exc:
        print(str(exc), file=err)
        return exc.code
    except ValueError as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
    path = os.path.abspath(args.file)
    report = os.path.abspath(args.report) if args.report else None
    if report and not os.path.isdir(os.path.dirname(report)):
        print(_("The folder of %(path)s does not exist.") % {"path": args.report}, file=err)
        return EXIT_FAILED
    bar = _Bar(err)
    job = None
    try:
        from peyvand.base.roles import require

        for needed in [capability] if isinstance(capability, str) else capability:
            require(actor, needed)
        job = create_job(actor, job_kind, {"filename": os.path.basename(path),
                                           "mapping": mapping, **params})
        start_job(job)

        on_job = job_progress(job)

        def progress(totals, done, total):
            on_job(totals, done, total)
            bar(totals, done, total)

        result = run(actor, path, mapping, report, progress)
    except PermissionDenied as exc:
        bar.close()
        if job is not None:
            fail_job(job, str(exc))
        print(_("Permission denied: %(reason)s") % {"reason": exc}, file=err)
        return EXIT_DENIED
    except ImportFailed as exc:
        bar.close()
        if job is not None:
            fail_job(job, str(exc))
        print(_("Cannot import %(file)s: %(reason)s") % {"file": args.file, "reason": exc},
              file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        bar.close()
        if job is not None:
            fail_job(job, _("Interrupted; run the same import again to finish it."))
        print(_("Interrupted. Batches already done are saved; run the same command again "
                "to finish (rows already imported change nothing)."), file=err)
        return 130
    bar.close()
    finish_job(job, {**result.as_dict(), "filename": os.path.basename(path),
                     "report": report or ""})
    totals = result.totals
    consent = getattr(result, "consent", None)
    # Rows rejected, and rows imported whose subscription was not recorded as given.
    noted = totals.rejected + (consent.not_subscribed if consent is not None else 0)
    if noted:
        for r in result.rejections:
            where = f"{r.column}: " if r.column else ""
            print(_("row %(row)d: %(where)s%(reason)s")
                  % {"row": r.row, "where": where, "reason": r.reason}, file=err)
        if report:
            print(_("Rejected rows are listed in %(path)s.") % {"path": report}, file=err)
        elif noted > len(result.rejections):
            print(_("Add --report REJECTED.csv to get every rejected row."), file=err)
    for note in getattr(result, "notes", []):  # what was read how (orders)
        print(note)
    if consent is not None:
        print(consent.line())
    print(totals.line(), flush=True)
    return EXIT_OK
