"""Churn (E5): opt-outs per period as a share of the reachable base at the period's start.

The ledger is replayed once, contact by contact, with the same fold the cache uses; every
(channel, topic) row entering or leaving "subscribed" moves the base, and every person's own
opt-out of a subscribed row is one opt-out. Bounces are not refusals and are not counted.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jdatetime
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.dates import persian_digits
from peyvand.base.roles import require
from peyvand.consent.ledger import Key, Row, apply
from peyvand.consent.models import Action, ConsentChange, SignupForm, Source, Status, Topic

PERIODS = ("week", "month")
DIMENSIONS = ("channel", "topic", "reason", "source", "form", "campaign")
CALENDARS = ("jalali", "gregorian")
MAX_PERIODS = 60
ALL = "*"
NOT_REFUSALS = {Source.BOUNCE}


@dataclass
class ChurnRow:
    period_start: dt.date
    label: str
    group: str
    base: int
    opt_outs: int

    @property
    def rate(self) -> float | None:
        return round(self.opt_outs / self.base, 4) if self.base else None


@dataclass
class ChurnReport:
    period: str
    by: str
    calendar: str
    starts: list[dt.date]
    labels: list[str]
    groups: list[str]
    rows: list[ChurnRow] = field(default_factory=list)

    def series(self) -> dict[str, list[float | None]]:
        """group -> rate per period (None where the base was empty), for the chart."""
        out: dict[str, list[float | None]] = {g: [None] * len(self.starts) for g in self.groups}
        index = {d: i for i, d in enumerate(self.starts)}
        for row in self.rows:
            out[row.group][index[row.period_start]] = row.rate
        return out


def period_starts(period: str, count: int, calendar: str, today: dt.date) -> list[dt.date]:
    """The first days of the last `count` periods, oldest first, the current one last.

    Jalali months and Saturday weeks, or Gregorian months and Monday weeks."""
    starts: list[dt.date] = []
    if period == "week":
        first_weekday = 5 if calendar == "jalali" else 0  # Saturday / Monday
        start = today - dt.timedelta(days=(today.weekday() - first_weekday) % 7)
        starts = [start - dt.timedelta(weeks=i) for i in range(count)]
    elif calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=today)
        year, month = j.year, j.month
        for _i in range(count):
            starts.append(jdatetime.date(year, month, 1).togregorian())
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    else:
        year, month = today.year, today.month
        for _i in range(count):
            starts.append(dt.date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(starts)


def period_label(start: dt.date, period: str, calendar: str, language: str) -> str:
    if calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=start)
        text = f"{j.year}/{j.month:02d}" if period == "month" else \
            f"{j.year}/{j.month:02d}/{j.day:02d}"
    else:
        text = start.strftime("%Y-%m") if period == "month" else start.isoformat()
    return persian_digits(text) if language == "fa" else text


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _next_start(start: dt.date, period: str, calendar: str) -> dt.date:
    if period == "week":
        return start + dt.timedelta(weeks=1)
    if calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=start)
        year, month = (j.year, j.month + 1) if j.month < 12 else (j.year + 1, 1)
        return jdatetime.date(year, month, 1).togregorian()
    return dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def _reason(change: Any) -> str:
    details = change.details or {}
    if details.get("reason"):
        return str(details["reason"])
    if change.source == Source.ONE_CLICK:
        return "one_click"
    return "unspecified"


def churn(actor: Actor, *, period: str = "month", by: str = "channel", periods: int = 12,
          calendar: str = "jalali", language: str = "en", today: dt.date | None = None) \
        -> ChurnReport:
    require(actor, "consent.view")
    if period not in PERIODS:
        raise ValueError(_("period must be one of: %(choices)s") % {"choices": ", ".join(PERIODS)})
    if by not in DIMENSIONS:
        raise ValueError(_("by must be one of: %(choices)s") % {"choices": ", ".join(DIMENSIONS)})
    if calendar not in CALENDARS:
        raise ValueError(_("calendar must be one of: %(choices)s")
                         % {"choices": ", ".join(CALENDARS)})
    periods = max(1, min(int(periods), MAX_PERIODS))
    today = today or timezone.localdate()
    starts = period_starts(period, periods, calendar, today)
    bounds = [_moment(d) for d in starts] + [_moment(_next_start(starts[-1], period, calendar))]
    topic_keys = dict(Topic.objects.values_list("pk", "key"))
    form_keys = dict(SignupForm.objects.values_list("pk", "slug"))

    def group_of(key: Key, row: Row) -> str | None:
        channel, topic_id = key
        if by == "topic":
            return topic_keys.get(topic_id, "?") if topic_id is not None else None
        if topic_id is not None:
            return None  # every other dimension counts channels, not topics
        if by == "channel":
            return channel
        if by == "form":
            return form_keys.get(row.form_id, "?") if row.form_id else "none"
        return ALL

    moves: list[tuple[dt.datetime, str, int]] = []  # (when, group, +1 joins / -1 leaves)
    outs: list[tuple[dt.datetime, str]] = []
    rows = (ConsentChange.objects.order_by("contact_id", "at", "id")
            .values_list("id", "contact_id", "channel", "topic_id", "action", "source",
                         "form_id", "details", "at"))
    current: int | None = None
    state: dict[Key, Row] = {}
    for (pk, contact_id, channel, topic_id, action, source, form_id, details,
         at) in rows.iterator(chunk_size=2000):
        if contact_id != current:
            current, state = contact_id, {}
        change = SimpleNamespace(id=pk, channel=channel, topic_id=topic_id, action=action,
                                 source=source, form_id=form_id, details=details, at=at)
        before = {k: r.status for k, r in state.items() if k[0] == channel}
        for key in apply(state, change):
            was, now = before.get(key), state[key].status
            group = group_of(key, state[key])
            if group is None or was == now:
                continue
            if now == Status.IN:
                moves.append((at, group, +1))
            elif was == Status.IN:
                moves.append((at, group, -1))
                if action == Action.OPT_OUT and source not in NOT_REFUSALS:
                    if by == "reason":
                        outs.append((at, _reason(change)))
                    elif by == "source":
                        outs.append((at, source))
                    elif by == "campaign":
                        outs.append((at, str((details or {}).get("campaign") or "none")))
                    else:
                        outs.append((at, group))

    moves.sort(key=lambda m: m[0])
    shared_base = by in ("reason", "source", "campaign")
    out_groups = sorted({g for _t, g in outs})
    groups = out_groups if shared_base else sorted({g for _t, g, _d in moves} | set(out_groups))
    report = ChurnReport(period, by, calendar, starts,
                         [period_label(d, period, calendar, language) for d in starts], groups)
    counted: dict[tuple[int, str], int] = defaultdict(int)
    for t, g in outs:
        i = bisect.bisect_right(bounds, t) - 1
        if 0 <= i < len(starts):
            counted[(i, g)] += 1
    base: dict[str, int] = defaultdict(int)
    pos = 0
    for i, start in enumerate(starts):
        while pos < len(moves) and moves[pos][0] < bounds[i]:
            base[moves[pos][1]] += moves[pos][2]
            pos += 1
        for g in groups:
            report.rows.append(ChurnRow(start, report.labels[i], g,
                                        base[ALL] if shared_base else base[g], counted[(i, g)]))
    return report


def churn_csv(report: ChurnReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period_start", "period", report.by, "base", "opt_outs", "rate"])
    for row in report.rows:
        writer.writerow([row.period_start.isoformat(), row.label, row.group, row.base,
                         row.opt_outs, "" if row.rate is None else f"{row.rate:.4f}"])
    return out.getvalue()
