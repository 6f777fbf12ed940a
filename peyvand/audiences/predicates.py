"""Ops turned into `Q` lookups on one column or annotation, shared by every path.

A predicate is about a value a person has; "has no value" is decided by the path (a missing
row, a null, an empty text) before or around it, so that `not` and `is_not_set` agree on every
database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import DecimalField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from peyvand.base.errors import Invalid

TEXT_OPS = ("eq", "ne", "in", "contains", "starts_with", "is_set", "is_not_set")
CHOICE_OPS = ("eq", "ne", "in", "is_set", "is_not_set")
NUMBER_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "between", "is_set", "is_not_set")
DATE_OPS = ("eq", "lt", "lte", "gt", "gte", "between", "within_last", "not_within_last",
            "within_next", "is_set", "is_not_set")
BOOLEAN_OPS = ("eq",)
SET_OPS = ("has", "has_not")
ACTIVITY_OPS = ("has", "has_not", "within_last", "not_within_last")
SEGMENT_OPS = ("eq", "ne", "in")

OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": TEXT_OPS, "choice": CHOICE_OPS, "number": NUMBER_OPS, "money": NUMBER_OPS,
    "date": DATE_OPS, "datetime": DATE_OPS, "birthday": DATE_OPS, "boolean": BOOLEAN_OPS,
    "set": SET_OPS, "activity": ACTIVITY_OPS, "segment": SEGMENT_OPS,
}
ALL_OPS = tuple(dict.fromkeys(op for ops in OPS_BY_TYPE.values() for op in ops))
MAX_DAYS = 36600


@dataclass
class Context:
    """What a compilation reads besides the rule: the moment it runs, the segments being
    expanded (to refuse cycles) and the path of the node being compiled (for errors)."""

    now: dt.datetime
    node: str = "rules"
    expanding: tuple[int, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def refuse(self, reason: Any, where: str = "") -> Invalid:
        return Invalid({f"{self.node}{where}": reason})


def everyone() -> Q:
    """Every contact, as a `Q` that holds under `~` and `|` (an empty `Q()` negates to itself
    and is dropped from an `|`, so `{"not": {"all": []}}` would match everyone)."""
    return ~Q(pk__in=[])


def no_one() -> Q:
    return Q(pk__in=[])


def day_start(day: dt.date) -> dt.datetime:
    """Midnight starting `day` in the server's time zone: datetimes compare by that day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def parse_day(value: Any, ctx: Context) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ctx.refuse(_("expected a date as YYYY-MM-DD, got %(value)r") % {"value": value},
                     ".value")


def parse_days(value: Any, ctx: Context, *, required: bool = True) -> int | None:
    days = value.get("days") if isinstance(value, dict) else None
    if days is None and not required:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        raise ctx.refuse(_("expected {\"days\": N} with N a whole number from 0 to %(max)s")
                         % {"max": MAX_DAYS}, ".value")
    return days


def parse_number(value: Any, ctx: Context, where: str = ".value") -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ctx.refuse(_("expected a number, got %(value)r") % {"value": value}, where)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ctx.refuse(_("expected a number, got %(value)r") % {"value": value}, where)
    if not number.is_finite():
        raise ctx.refuse(_("expected a number, got %(value)r") % {"value": value}, where)
    return number


def parse_pair(value: Any, ctx: Context) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise ctx.refuse(_("between takes [low, high]"), ".value")
    return value[0], value[1]


def parse_text(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise ctx.refuse(_("expected a text of at most 500 characters, got %(value)r")
                         % {"value": value}, ".value")
    return value


def parse_texts(value: Any, ctx: Context) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > 500:
        raise ctx.refuse(_("expected a text or a list of 1 to 500 texts"), ".value")
    return [parse_text(v, ctx) for v in values]


def text_predicate(name: str, op: str, value: Any, ctx: Context,
                   choices: tuple[str, ...] | None = None) -> Q:
    """Text and choice columns; "" and null are both "not set". contains and starts_with
    ignore case (SQLite's LIKE always does; PostgreSQL is asked to)."""
    is_set = Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""})
    if op == "is_set":
        return is_set
    if op == "is_not_set":
        return ~is_set
    values = parse_texts(value, ctx) if op == "in" else [parse_text(value, ctx)]
    if choices is not None:
        for v in values:
            if v not in choices:
                raise ctx.refuse(_("%(value)r is not one of %(choices)s")
                                 % {"value": v, "choices": ", ".join(choices)}, ".value")
    # Every op asks for a value: "" is none, even for eq "", contains "" or in [""].
    if op == "eq":
        return is_set & Q(**{name: values[0]})
    if op == "ne":
        return is_set & ~Q(**{name: values[0]})
    if op == "in":
        return is_set & Q(**{f"{name}__in": values})
    if op == "contains":
        return is_set & Q(**{f"{name}__icontains": values[0]})
    return is_set & Q(**{f"{name}__istartswith": values[0]})  # starts_with


def number_predicate(name: str, op: str, value: Any, ctx: Context, *,
                     integer: bool = False) -> Q:
    if op == "is_set":
        return Q(**{f"{name}__isnull": False})
    if op == "is_not_set":
        return Q(**{f"{name}__isnull": True})
    if op == "between":
        low, high = parse_pair(value, ctx)
        return (Q(**{f"{name}__gte": _num(low, ctx, integer)})
                & Q(**{f"{name}__lte": _num(high, ctx, integer)}))
    number = _num(value, ctx, integer)
    if op == "ne":
        return Q(**{f"{name}__isnull": False}) & ~Q(**{name: number})
    lookup = {"eq": "exact", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte"}[op]
    return Q(**{f"{name}__{lookup}": number})


def _num(value: Any, ctx: Context, integer: bool) -> Any:
    number = parse_number(value, ctx)
    if integer:
        if number != number.to_integral_value():
            raise ctx.refuse(_("expected a whole number (money is in minor units), got %(value)r")
                             % {"value": value}, ".value")
        return int(number)
    if number == number.to_integral_value():
        return int(number)
    # A fraction goes as an exact decimal expression: as a plain value the column's type
    # would convert it first (an integer column truncates 2.5 to 2, so r_score lt 2.5 missed
    # the 2s), and as a float 1.1 is 1.100000000000000088…, never PostgreSQL's numeric 1.1.
    return Value(number, output_field=DecimalField())


def date_predicate(name: str, op: str, value: Any, ctx: Context, *, is_datetime: bool) -> Q:
    """Dates and datetimes; a datetime compares by its day in the server's time zone."""
    def bound(day: dt.date) -> Any:
        return day_start(day) if is_datetime else day

    one = dt.timedelta(days=1)
    if op == "is_set":
        return Q(**{f"{name}__isnull": False})
    if op == "is_not_set":
        return Q(**{f"{name}__isnull": True})
    if op in ("within_last", "not_within_last"):
        days = parse_days(value, ctx)
        assert days is not None
        cutoff = (ctx.now - dt.timedelta(days=days) if is_datetime
                  else ctx.today - dt.timedelta(days=days))
        return Q(**{f"{name}__{'gte' if op == 'within_last' else 'lt'}": cutoff})
    if op == "within_next":
        days = parse_days(value, ctx)
        assert days is not None
        return (Q(**{f"{name}__gte": bound(ctx.today)})
                & Q(**{f"{name}__lt": bound(ctx.today + dt.timedelta(days=days) + one)}))
    if op == "between":
        low, high = parse_pair(value, ctx)
        return (Q(**{f"{name}__gte": bound(parse_day(low, ctx))})
                & Q(**{f"{name}__lt": bound(parse_day(high, ctx) + one)}))
    day = parse_day(value, ctx)
    if op == "eq":
        return Q(**{f"{name}__gte": bound(day)}) & Q(**{f"{name}__lt": bound(day + one)})
    if op == "lt":
        return Q(**{f"{name}__lt": bound(day)})
    if op == "lte":
        return Q(**{f"{name}__lt": bound(day + one)})
    if op == "gt":
        return Q(**{f"{name}__gte": bound(day + one)})
    return Q(**{f"{name}__gte": bound(day)})  # gte


def zero_satisfies(op: str, value: Any, ctx: Context) -> bool:
    """Whether a count or sum of nothing (0) meets the condition: then the people without
    rows match too, and the query asks who fails it instead."""
    if op == "is_set":
        return True
    if op == "is_not_set":
        return False
    if op == "between":
        low, high = parse_pair(value, ctx)
        return parse_number(low, ctx) <= 0 <= parse_number(high, ctx)
    number = parse_number(value, ctx)
    return {"eq": number == 0, "ne": number != 0, "lt": number > 0, "lte": number >= 0,
            "gt": number < 0, "gte": number <= 0}[op]
