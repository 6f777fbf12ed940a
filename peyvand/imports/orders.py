"""Order import from CSV/XLSX: one row per order line, rows of one order next to each other.

Each order goes through commerce.actions.do_upsert_order (idempotent on source + order id),
so importing the same file twice changes nothing and an interrupted import can be re-run.
Unknown customers are created from the order's e-mail/mobile by that action.

Totals count rows, as for contacts: the first row of an order is `created` (a new order) or
`updated` (an order that existed), further rows of the same order are `merged` into it, and
every row of an order that cannot be saved is `rejected` with the reason.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.contacts.actions import ContactInvalid
from peyvand.imports.contacts import (
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
_BY_KEY = {header_key(s): target for target, names in SYNONYMS.items() for s in names}


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
        raise MappingError(_("No column holds the order ID; map one with --map COLUMN=order_id."))
    if not {"sku", "product"} & set(targets):
        raise MappingError(_("No column holds the product (SKU or name)."))
    return targets


def _orders(rows: Iterator[tuple[int, list[Cell]]], targets: list[str]
            ) -> Iterator[tuple[str, list[tuple[int, list[Cell], dict[str, Any]]]]]:
    """Consecutive rows with the same order ID, each row as {target: text}."""
    current: str | None = None
    group: list[tuple[int, list[Cell], dict[str, Any]]] = []
    for number, cells in rows:
        values = {t: _text(c).strip() for t, c in zip(targets, cells, strict=False)
                  if t and _text(c).strip()}
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


def _payload(order_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    head = rows[0]
    customer = {k: head[k] for k in ("email", "phone", "first_name", "last_name") if k in head}
    payload: dict[str, Any] = {
        "source": SOURCE, "external_id": order_id, "customer": customer,
        "lines": [{"sku": r.get("sku", ""), "name": r.get("product", ""),
                   "quantity": r.get("quantity", "1"), "unit_price": r.get("unit_price"),
                   "line_total": r.get("line_total")} for r in rows],
    }
    for key in ("number", "placed_at", "status", "currency", "discount", "shipping", "tax",
                "total", "channel"):
        if key in head:
            payload[key] = head[key]
    payload.setdefault("currency", "IRT")
    return payload


def import_orders(actor: Actor, path: Path | str, *, mapping: dict[str, str] | None = None,
                  report_path: Path | str | None = None,
                  progress: Progress | None = None) -> ImportResult:
    """Import the orders in `path`; raises ImportFailed when the file or mapping is unusable."""
    from peyvand.commerce.actions import do_upsert_order

    require(actor, "commerce.edit")
    try:
        table = open_table(path)
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    totals = Totals()
    sample: list[Rejection] = []
    with table, contextlib.ExitStack() as stack:
        try:
            targets = resolve_order_mapping(table.headers, mapping)
        except MappingError as exc:
            raise ImportFailed(str(exc))
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
            if len(sample) < 20:
                sample.append(rejection)
            if writer:
                write_report_row(writer, [number, column, value, reason, *cells])

        try:
            for order_id, group in _orders(table.rows(), targets):
                totals.read += len(group)
                if not order_id:
                    for number, cells, _values in group:
                        reject(number, cells, "order_id", "", _("The row has no order ID."))
                    continue
                try:
                    with transaction.atomic():
                        result = do_upsert_order(actor, _payload(order_id, [v for *_r, v in group]))
                except ContactInvalid as exc:
                    column, reason = next(iter(exc.errors.items()))
                    for number, cells, values in group:
                        field = column.rsplit(".", 1)[-1]
                        reject(number, cells, column, str(values.get(field, "")), str(reason))
                    continue
                if result.created:
                    totals.created += 1
                else:
                    totals.updated += 1
                totals.merged += len(group) - 1
                if progress:
                    progress(totals, table.position(), table.total)
        except UnreadableFile as exc:
            raise ImportFailed(str(exc))
    record_audit(actor, "orders.import", target_type="order", summary=totals.line(),
                 details={"file": Path(path).name, **totals.as_dict()})
    return ImportResult(totals, table.kind, table.encoding, table.delimiter, table.headers,
                        targets, sample)
