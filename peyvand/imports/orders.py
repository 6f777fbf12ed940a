"""Order import from CSV/XLSX: one row per order line, rows of one order next to each other.

Orders are handed to commerce in batches (commerce.actions.BulkOrders: new orders, their
lines, customers and timeline entries written in bulk, existing ones through
do_upsert_order, idempotent on source + order id), so importing the same file twice changes
nothing and an interrupted import can be re-run. Unknown customers become contacts there.

Nothing is assumed silently: a file without a currency column needs `currency` (OrderOptions),
an order without a date is refused unless `placed_at_now` was chosen, and how the dates were
read (Jalali, Gregorian, Excel serials) and which columns were left out is said before
(preview_orders) and after the import (OrderPlan.lines()).

Totals count rows, as for contacts: the first row of an order is `created` (a new order) or
`updated` (an order that existed), further rows of the same order are `merged` into it, and
every row of an order that cannot be saved is `rejected` with the reason.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import InvalidValue
from peyvand.base.roles import require
from peyvand.imports.contacts import (
    BATCH_SIZE,
    SAMPLE_REJECTIONS,
    ImportFailed,
    ImportResult,
    Progress,
    Rejection,
    Totals,
    _open_report,
    _text,
    write_report_row,
)
from peyvand.imports.mapping import IGNORE, MappingError, header_key
from peyvand.imports.order_dates import DateNotes, read_order_date
from peyvand.imports.order_plan import (  # noqa: F401  (callers import them from here)
    OrderOptions,
    OrderPlan,
    check_order_options,
    ignored_columns,
)
from peyvand.imports.reader import Cell, UnreadableFile, open_table

SOURCE = "import"

# Order-level targets (taken from the order's first row) and line-level ones (every row).
ORDER_TARGETS = {
    "order_id": gettext_lazy("Order ID"),
    "number": gettext_lazy("Order number"),
    "placed_at": gettext_lazy("Order date"),
    "status": gettext_lazy("Status"),
    "currency": gettext_lazy("Currency"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Mobile"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "discount": gettext_lazy("Discount"),
    "shipping": gettext_lazy("Shipping"),
    "tax": gettext_lazy("Tax"),
    "total": gettext_lazy("Order total"),
    "channel": gettext_lazy("Channel"),
}
LINE_TARGETS = {
    "sku": gettext_lazy("SKU"),
    "product": gettext_lazy("Product name"),
    "quantity": gettext_lazy("Quantity"),
    "unit_price": gettext_lazy("Unit price"),
    "line_total": gettext_lazy("Line total"),
}
TARGETS = {**ORDER_TARGETS, **LINE_TARGETS}
SYNONYMS = {
    "order_id": ["order id", "order", "order no", "order number", "id", "شناسه سفارش",
                 "شماره سفارش", "کد سفارش", "سفارش"],
    "number": ["number", "invoice", "invoice number", "شماره فاکتور", "فاکتور"],
    "placed_at": ["date", "order date", "created", "date created", "تاریخ", "تاریخ سفارش",
                  "تاریخ ثبت"],
    "status": ["status", "order status", "وضعیت", "وضعیت سفارش"],
    "currency": ["currency", "واحد پول", "ارز"],
    "email": ["email", "e-mail", "billing email", "customer email", "ایمیل", "ایمیل مشتری"],
    "phone": ["phone", "mobile", "billing phone", "customer phone", "موبایل", "تلفن",
              "شماره موبایل", "تلفن همراه", "شماره تماس"],
    "first_name": ["first name", "billing first name", "نام", "نام مشتری"],
    "last_name": ["last name", "billing last name", "نام خانوادگی"],
    "discount": ["discount", "discount total", "تخفیف"],
    "shipping": ["shipping", "shipping total", "هزینه ارسال", "ارسال"],
    "tax": ["tax", "tax total", "مالیات"],
    "total": ["total", "order total", "مبلغ کل", "جمع کل", "مبلغ سفارش"],
    "channel": ["channel", "کانال"],
    "sku": ["sku", "product sku", "item sku", "کد کالا", "کد محصول", "شناسه کالا"],
    "product": ["product", "item", "product name", "item name", "کالا", "محصول", "نام کالا",
                "نام محصول"],
    "quantity": ["quantity", "qty", "تعداد"],
    "unit_price": ["price", "unit price", "item price", "قیمت", "قیمت واحد", "فی"],
    "line_total": ["line total", "item total", "subtotal", "جمع", "جمع ردیف", "مبلغ"],
}
# A header spelled as the field's own key (`placed_at`, `line_total`, as --help names them)
# is that field too.
_BY_KEY = {header_key(s): target for target, names in SYNONYMS.items()
           for s in [target, *names]}


def auto_order_mapping(headers: list[str]) -> list[str]:
    """A target per column from its header; each target used once, unknown columns skipped."""
    used: set[str] = set()
    targets = []
    for header in headers:
        target = _BY_KEY.get(header_key(header), IGNORE)
        if target in used:
            target = IGNORE
        used.add(target)
        targets.append(target)
    return targets


def resolve_order_mapping(headers: list[str], overrides: dict[str, str] | None) -> list[str]:
    targets = auto_order_mapping(headers)
    for column, target in (overrides or {}).items():
        if target and target not in TARGETS:
            raise MappingError(_("“%(field)s” is not an order field; use one of: %(fields)s.")
                               % {"field": target, "fields": ", ".join(TARGETS)})
        if column not in headers:
            raise MappingError(_("The file has no column “%(column)s”.") % {"column": column})
        if target:
            targets = [IGNORE if t == target else t for t in targets]
        targets[headers.index(column)] = target
    if "order_id" not in targets:
        raise MappingError(_("No column holds the order ID: head it with a name Peyvand "
                             "recognises (“order id”, «شماره سفارش» …), or on the command "
                             "line map it with --map COLUMN=order_id."))
    if not {"sku", "product"} & set(targets):
        raise MappingError(_("No column holds the product: head its SKU or name with a name "
                             "Peyvand recognises (“sku”, “product”, «کالا» …), or on the "
                             "command line map it with --map COLUMN=sku."))
    return targets


@dataclass
class OrderImportResult(ImportResult):
    plan: OrderPlan | None = None

    @property
    def notes(self) -> list[str]:
        """What was read how, for the summary (printed before the totals line)."""
        return self.plan.lines() if self.plan else []

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        if self.plan is not None:
            out.update(self.plan.as_dict())
        return out


def _orders(rows: Iterator[tuple[int, list[Cell]]], targets: list[str]
            ) -> Iterator[tuple[str, list[tuple[int, list[Cell], dict[str, Any]]]]]:
    """Consecutive rows with the same order ID, each row as {target: text} (the date as the
    cell holds it: a spreadsheet's date stays a date)."""
    current: str | None = None
    group: list[tuple[int, list[Cell], dict[str, Any]]] = []
    for number, cells in rows:
        values: dict[str, Any] = {}
        for t, c in zip(targets, cells, strict=False):
            if t:
                text = _text(c).strip()
                if text:
                    values[t] = c if t == "placed_at" and isinstance(c, dt.date) else text
        if not values:
            continue
        order_id = values.get("order_id", "")
        if group and order_id != current:
            yield current or "", group
            group = []
        current = order_id
        group.append((number, cells, values))
    if group:
        yield current or "", group


def _payload(order_id: str, rows: list[dict[str, Any]], options: OrderOptions,
             placed_at: dt.datetime | None) -> dict[str, Any]:
    head = rows[0]
    customer = {k: head[k] for k in ("email", "phone", "first_name", "last_name") if k in head}
    payload: dict[str, Any] = {
        "source": SOURCE, "external_id": order_id, "customer": customer,
        "lines": [{"sku": r.get("sku", ""), "name": r.get("product", ""),
                   "quantity": r.get("quantity", "1"), "unit_price": r.get("unit_price"),
                   "line_total": r.get("line_total")} for r in rows],
        "placed_at": placed_at or timezone.now(),  # now only when chosen (--placed-at now)
    }
    for key in ("number", "status", "currency", "discount", "shipping", "tax", "total",
                "channel"):
        if key in head:
            payload[key] = head[key]
    if not payload.get("currency") and options.currency:
        payload["currency"] = options.currency
    return payload


def _date_of(values: dict[str, Any], options: OrderOptions,
             notes: DateNotes) -> dt.datetime | None:
    """The order's date; InvalidValue when unreadable or missing (unless --placed-at now)."""
    moment = read_order_date(values.get("placed_at"), options.calendar, notes)
    if moment is None and not options.placed_at_now:
        raise InvalidValue("placed_at", _("The order has no date; fill it in, or import "
                                          "again choosing “Date orders without a date now” "
                                          "(--placed-at now)."), "")
    return moment


def preview_orders(path: Path | str, *, mapping: dict[str, str] | None = None,
                   options: OrderOptions | None = None, rows: int = 200,
                   check: bool = True) -> OrderPlan:
    """What an import of `path` would read, from its first `rows` rows; writes nothing.
    Raises ImportFailed as the import would; with `check=False` the options are not checked
    (the wizard shows the plan before the currency and the dating are chosen)."""
    options = options or OrderOptions()
    try:
        table = open_table(path)
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    with table:
        try:
            targets = resolve_order_mapping(table.headers, mapping)
            if check:
                options = check_order_options(targets, options)
        except MappingError as exc:
            raise ImportFailed(str(exc))
        plan = OrderPlan(table.headers, targets, options)
        try:
            for _number, cells in itertools.islice(table.rows(), rows):
                if "placed_at" in targets:
                    with contextlib.suppress(InvalidValue):
                        read_order_date(cells[targets.index("placed_at")]
                                        if targets.index("placed_at") < len(cells) else "",
                                        options.calendar, plan.dates)
        except UnreadableFile as exc:
            raise ImportFailed(str(exc))
    return plan


def import_orders(actor: Actor, path: Path | str, *, mapping: dict[str, str] | None = None,
                  options: OrderOptions | None = None,
                  report_path: Path | str | None = None,
                  progress: Progress | None = None,
                  batch_size: int = BATCH_SIZE) -> OrderImportResult:
    """Import the orders in `path`; raises ImportFailed when the file, the mapping or the
    options are unusable (nothing imported then)."""
    from peyvand.commerce.actions import BulkOrders

    require(actor, "commerce.edit")
    options = options or OrderOptions()
    try:
        table = open_table(path)
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    totals = Totals()
    sample: list[Rejection] = []
    with table, contextlib.ExitStack() as stack:
        try:
            targets = resolve_order_mapping(table.headers, mapping)
            options = check_order_options(targets, options)
        except MappingError as exc:
            raise ImportFailed(str(exc))
        plan = OrderPlan(table.headers, targets, options)
        report: IO[str] | None = _open_report(report_path)
        writer = None
        if report is not None:
            stack.enter_context(report)
            writer = csv.writer(report)
            write_report_row(writer, [_("row"), _("column"), _("value"), _("reason"),
                                      *table.headers])

        def reject(number: int, cells: list[Cell], column: str, value: str, reason: str):
            totals.rejected += 1
            rejection = Rejection(number, column, value, reason)
            if len(sample) < SAMPLE_REJECTIONS:
                sample.append(rejection)
            if writer:
                write_report_row(writer, [number, column, value, reason, *cells])

        def reject_order(group, column: str, reason: str) -> None:
            field_name = column.rsplit(".", 1)[-1]
            for number, cells, values in group:
                value = values.get(field_name, "") if column != "order_id" else ""
                reject(number, cells, column, _text(value) if value else "", reason)

        session = BulkOrders(actor)
        # (rows of an order, its payload, or why it is refused before commerce sees it); the
        # report keeps the file's order, so refusals wait for their batch too.
        batch: list[tuple[list, dict[str, Any] | None, tuple[str, str]]] = []
        rows_in_batch = 0

        def flush() -> None:
            outcomes = iter(session.write([p for _g, p, _e in batch if p is not None]))
            for group, payload, refused in batch:
                if payload is None:
                    reject_order(group, *refused)
                    continue
                outcome = next(outcomes)
                if outcome.errors:
                    column, reason = next(iter(outcome.errors.items()))
                    reject_order(group, column, str(reason))
                    continue
                if outcome.created:
                    totals.created += 1
                else:
                    totals.updated += 1
                totals.merged += len(group) - 1
            batch.clear()
            if progress:
                progress(totals, table.position(), table.total)

        try:
            for order_id, group in _orders(table.rows(), targets):
                totals.read += len(group)
                rows_in_batch += len(group)
                if not order_id:
                    batch.append((group, None, ("order_id", _("The row has no order ID."))))
                else:
                    try:
                        placed_at = _date_of(group[0][2], options, plan.dates)
                    except InvalidValue as exc:
                        batch.append((group, None, ("placed_at", str(exc.message))))
                    else:
                        batch.append((group, _payload(order_id, [v for *_r, v in group],
                                                      options, placed_at), ("", "")))
                if rows_in_batch >= batch_size:
                    flush()
                    rows_in_batch = 0
            if batch:
                flush()
        except UnreadableFile as exc:
            raise ImportFailed(str(exc))
        finally:
            session.finish()
    record_audit(actor, "orders.import", target_type="order", summary=totals.line(),
                 details={"file": Path(path).name, **totals.as_dict(),
                          "ignored": plan.ignored})
    return OrderImportResult(totals, table.kind, table.encoding, table.delimiter, table.headers,
                             targets, sample, plan=plan)
