"""What the order wizard's preview page shows: the plan of the file's first rows (columns and
what each is read into, ignored columns, how dates read, where the currency comes from),
with a few values of each column, and the header names the automatic mapping knows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peyvand.imports.contacts import ImportFailed, _text
from peyvand.imports.order_dates import FORMS
from peyvand.imports.order_plan import OrderOptions, OrderPlan
from peyvand.imports.orders import SYNONYMS, TARGETS, preview_orders
from peyvand.imports.reader import UnreadableFile, open_table

SAMPLE_ROWS = 5
PLAN_ROWS = 200  # dates are read from this many rows to say how they read


@dataclass
class OrderPreview:
    plan: OrderPlan
    columns: list[dict[str, Any]]  # header, target, label, samples
    dates: list[dict[str, Any]]  # form, count, written, read
    currency_column: str  # the header of the currency column, or ""
    date_column: str


def _samples(path: Path | str, width: int) -> list[list[str]]:
    try:
        with open_table(path) as table:
            rows = []
            for _number, cells in table.rows():
                if any(_text(c).strip() for c in cells):
                    rows.append([_text(c) for c in cells] + [""] * (width - len(cells)))
                if len(rows) >= SAMPLE_ROWS:
                    break
    except UnreadableFile as exc:
        raise ImportFailed(str(exc))
    return rows


def order_preview(path: Path | str, options: OrderOptions) -> OrderPreview:
    """The plan with `options` as given, not yet checked (the page asks what is missing);
    ImportFailed when the file cannot be read or its headers name no order ID or product."""
    plan = preview_orders(path, options=options, rows=PLAN_ROWS, check=False)
    rows = _samples(path, len(plan.headers))
    columns = [{"header": h, "target": t, "label": TARGETS.get(t, ""),
                "samples": [r[i] for r in rows if i < len(r) and r[i].strip()]}
               for i, (h, t) in enumerate(zip(plan.headers, plan.targets, strict=True))]
    dates = [{"form": FORMS[form], "count": plan.dates.counts.get(form, 0),
              "written": written, "read": read}
             for form, (written, read) in plan.dates.examples.items()]

    def header_of(target: str) -> str:
        return plan.headers[plan.targets.index(target)] if target in plan.targets else ""

    return OrderPreview(plan, columns, dates, header_of("currency"), header_of("placed_at"))


def recognised_headers() -> list[tuple[Any, str]]:
    """(field, the header names read into it), for the page's note on automatic mapping."""
    return [(label, ", ".join([key, *SYNONYMS.get(key, [])])) for key, label in TARGETS.items()]
