"""Export of all orders to CSV or XLSX, role-checked and audited; used by the CLI.

Orders are read in primary-key chunks so memory stays flat; amounts are written in the major
unit the pages show them in (toman or rial, as the shop chose; dollar), with that unit in the
currency column (IRT for toman), which is what a spreadsheet user expects.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.commerce.models import Order
from peyvand.commerce.money import display_currency, from_minor
from peyvand.commerce.queries import with_refunded
from peyvand.contacts.export import csv_cell as safe_cell  # the one formula-injection guard
from peyvand.contacts.export import xlsx_cell
from peyvand.contacts.models import Identity

FORMATS = ("csv", "xlsx")
CHUNK = 1000
COLUMNS = ["id", "source", "external_id", "number", "placed_at", "status", "channel",
           "contact_id", "contact_name", "email", "phone", "currency", "subtotal", "discount",
           "shipping", "tax", "total", "refunded", "net", "delivery_status", "promised_at",
           "delivered_at", "items", "deleted"]
AMOUNT_COLUMNS = ("subtotal", "discount", "shipping", "tax", "total", "refunded", "net")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(_("Unknown export format “%(format)s”; use csv or xlsx.")
                         % {"format": fmt})
    return fmt


def _orders() -> Iterator[Order]:
    qs = (with_refunded(Order.objects.select_related("contact")).order_by("pk")
          .prefetch_related("lines", Prefetch(
              "contact__identities",
              queryset=Identity.objects.order_by("kind", "-is_primary", "id"))))
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:CHUNK])
        if not batch:
            return
        yield from batch
        last = batch[-1].pk


def _row(order: Order) -> dict[str, Any]:
    idents = list(order.contact.identities.all())
    first = {kind: next((i.value for i in idents if i.kind == kind), "")
             for kind in (Identity.Kind.EMAIL, Identity.Kind.PHONE)}
    row: dict[str, Any] = {
        "id": order.pk, "source": order.source, "external_id": order.external_id,
        "number": order.number, "placed_at": order.placed_at, "status": order.status,
        "channel": order.channel, "contact_id": order.contact_id,
        "contact_name": order.contact.display_name, "email": first[Identity.Kind.EMAIL],
        "phone": first[Identity.Kind.PHONE], "currency": order.currency,
        "delivery_status": order.delivery_status, "promised_at": order.promised_at,
        "delivered_at": order.delivered_at,
        "items": sum(line.quantity for line in order.lines.all()),
        "deleted": order.deleted_at is not None,
    }
    minor = {name: getattr(order, name) for name in AMOUNT_COLUMNS if name not in
             ("refunded", "net")}
    minor["refunded"] = order.refunded
    minor["net"] = order.total - order.refunded
    # In the shop's display unit, named in the currency column (IRT: toman), as on the pages;
    # an import reads either back to the same rial.
    code, factor = display_currency(order.currency)
    row["currency"] = code
    row.update({name: (Decimal(int(value)) / factor).normalize() if code != order.currency
                else from_minor(value, order.currency) for name, value in minor.items()})
    return row


def write_orders_export(actor: Actor, fmt: str, fileobj: IO[bytes]) -> int:
    """Write every order to `fileobj` (binary) as CSV or XLSX; audited; returns the count."""
    require(actor, "commerce.export")
    check_format(fmt)
    count = 0
    if fmt == "csv":
        # utf-8-sig: Excel, which most shops open CSVs in, needs the BOM to read Persian.
        text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        for order in _orders():
            row = _row(order)
            writer.writerow([safe_cell(row[c]) for c in COLUMNS])
            count += 1
        text.detach()  # leave the caller's file open
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("orders")
        sheet.append(COLUMNS)
        for order in _orders():
            row = _row(order)
            sheet.append([xlsx_cell(row[c]) for c in COLUMNS])
            count += 1
        book.save(fileobj)
    record_audit(actor, "orders.export", target_type="order",
                 summary=f"{count} orders as {fmt}", details={"count": count, "format": fmt})
    return count


def write_orders_file(actor: Actor, fmt: str, path: Path | str) -> int:
    """Export to `path`, which appears only once complete and is readable by its owner only."""
    require(actor, "commerce.export")
    check_format(fmt)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with open(fd, "wb") as fh:
            count = write_orders_export(actor, fmt, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count
