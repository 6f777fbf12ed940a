"""What an order import will read, said before it runs: options whoever imports gave for the
whole file, and the plan (mapping, ignored columns, currency, how dates read) shown by the
preview and the summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils.translation import gettext as _

from peyvand.base.normalise import InvalidValue
from peyvand.commerce.money import currency_code
from peyvand.imports.mapping import IGNORE, MappingError
from peyvand.imports.order_dates import CALENDARS, FORMS, DateNotes


def ignored_columns(headers: list[str], targets: list[str]) -> list[str]:
    """The columns nothing is read from, as the file names them."""
    return [h for h, t in zip(headers, targets, strict=True) if t == IGNORE]


@dataclass
class OrderOptions:
    """What whoever imports said about the whole file.

    `currency`: the currency of orders whose row names none (required when no column holds
    one: amounts are never read in a currency nobody chose). `calendar`: how dates are
    read (order_dates.CALENDARS). `placed_at_now`: orders without a date are dated now;
    otherwise they are refused.
    """

    currency: str = ""
    calendar: str = "auto"
    placed_at_now: bool = False


@dataclass
class OrderPlan:
    """What will be read, said before importing: the mapping, the columns left out, the
    currency and how dates are read (from the first rows in a preview, from all after)."""

    headers: list[str]
    targets: list[str]
    options: OrderOptions
    dates: DateNotes = field(default_factory=DateNotes)

    @property
    def ignored(self) -> list[str]:
        return ignored_columns(self.headers, self.targets)

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> OrderPlan:
        """The plan back from a job's result (OrderImportResult.as_dict()), to say it again
        in the reader's language."""
        options = OrderOptions(currency=result.get("currency", ""),
                               calendar=result.get("calendar", "auto"),
                               placed_at_now=bool(result.get("placed_at_now")))
        dates = DateNotes()
        for form, seen in (result.get("dates") or {}).items():
            if form in FORMS:
                dates.counts[form] = seen.get("count", 0)
                dates.examples[form] = tuple(seen.get("example") or ("", ""))[:2]
        return cls(list(result.get("headers") or []), list(result.get("targets") or []),
                   options, dates)

    def lines(self, hints: bool = True, digits: Callable[[str], str] = str) -> list[str]:
        """The plan in words; `hints` names the CLI's options and the columns by field key
        (the web UI has its own words and shows the columns in the preview)."""
        out = [_("columns: %(columns)s") % {"columns": ", ".join(
            f"{h} → {t}" for h, t in zip(self.headers, self.targets, strict=True) if t)}
               ] if hints else []
        if self.ignored:
            out.append(_("ignored: %(columns)s") % {"columns": ", ".join(self.ignored)})
        if "currency" in self.targets:
            if self.options.currency:
                out.append(_("currency: from the column “%(column)s”; %(currency)s where it "
                             "is empty") % {"column": self._column("currency"),
                                            "currency": self.options.currency})
            else:
                out.append(_("currency: from the column “%(column)s”")
                           % {"column": self._column("currency")})
        elif hints:
            out.append(_("currency: every order in %(currency)s (--currency)")
                       % {"currency": self.options.currency})
        else:
            out.append(_("currency: every order in %(currency)s")
                       % {"currency": self.options.currency})
        out += self.dates.lines(digits)
        if self.options.placed_at_now:
            out.append(_("orders without a date: dated now (--placed-at now)") if hints
                       else _("orders without a date: dated now"))
        return out

    def _column(self, target: str) -> str:
        return self.headers[self.targets.index(target)]

    def as_dict(self) -> dict[str, Any]:
        return {"ignored": self.ignored, "currency": self.options.currency,
                "currency_column": "currency" in self.targets,
                "calendar": self.options.calendar, "dates": self.dates.as_dict(),
                "placed_at_now": self.options.placed_at_now}


def check_order_options(targets: list[str], options: OrderOptions) -> OrderOptions:
    """Refuse, naming the option to give, what the import would otherwise have to assume."""
    if options.calendar not in CALENDARS:
        raise MappingError(_("The calendar is one of: %(calendars)s.")
                           % {"calendars": ", ".join(CALENDARS)})
    currency = ""
    if options.currency:
        try:
            currency = currency_code(options.currency, "currency")
        except InvalidValue as exc:
            raise MappingError(str(exc.message))
    elif "currency" not in targets:
        raise MappingError(_("The file has no currency column: say which currency its amounts "
                             "are in with --currency (IRT for toman, IRR for rial, USD …)."))
    if "placed_at" not in targets and not options.placed_at_now:
        raise MappingError(_("No column holds the order date; map one with "
                             "--map COLUMN=placed_at, or give --placed-at now to date every "
                             "order today."))
    return replace(options, currency=currency)
