"""The campaign charts, inline SVG on insights' canvas (mirrored for Persian, no script): the
funnel of one campaign, its opens and clicks by local hour, and the overview comparing the
last campaigns' open and click rates over time."""

from __future__ import annotations

from typing import Any

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from peyvand.insights.charts import (
    ACCENT,
    LINE,
    MUTED,
    STAGE_COLOURS,
    WARN,
    Canvas,
    number,
    percent,
)

OVERVIEW_CAMPAIGNS = 12


def _stages(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [("sent", _("Sent"), report.get("sent", 0)),
            ("delivered", _("Delivered"), report.get("delivered", 0)),
            ("opened", _("Opened (people)"), report.get("opened", 0)),
            ("clicked", _("Clicked"), report.get("clicked", 0)),
            ("ordered", _("Ordered within the window"), report.get("ordered", 0))]


def funnel(report: dict[str, Any], lang: str) -> SafeString:
    """Sent → delivered → opened → clicked → ordered, each bar with its count and its share
    of the one before."""
    stages = _stages(report)
    row, gap, label_w = 30, 6, 190
    c = Canvas(640, len(stages) * (row + gap) + 10, lang, _("Campaign funnel"),
               "campaign-funnel")
    width = c.w - label_w - 130
    peak = max((n for *_x, n in stages), default=0) or 1
    before = None
    for i, (key, label, count) in enumerate(stages):
        y = 5 + i * (row + gap)
        w = max(3.0, width * count / peak) if count else 2.0
        c.rect(label_w, y, w, row, STAGE_COLOURS[i % len(STAGE_COLOURS)],
               title=f"{label}: {count}", data_stage=key, data_count=str(count))
        c.text(0, y + row / 2 + 4, label, size=12, weight="bold")
        share = f" · {percent(count / before, lang)}" if before else ""
        c.text(label_w + w + 8, y + row / 2 + 4, number(count, lang) + share, size=12,
               fill=MUTED)
        before = count or None
    return c.render()


def hours(report: dict[str, Any], lang: str) -> SafeString:
    """Opens and clicks by the contact's local hour, 0–23."""
    data = report.get("hours") or {}
    opens = list(data.get("open") or [0] * 24)
    clicks = list(data.get("click") or [0] * 24)
    left, bottom, top, slot = 40, 36, 12, 24
    c = Canvas(left + 24 * slot + 20, 200, lang,
               _("Opens and clicks by the contact's local hour"), "campaign-hours")
    height = c.h - bottom - top
    peak = max(opens + clicks + [1])
    c.line(left, top + height, c.w - 10, top + height)
    for hour in range(24):
        x = left + hour * slot
        for j, (values, colour, name) in enumerate(((opens, ACCENT, _("opens")),
                                                    (clicks, WARN, _("clicks")))):
            h = height * values[hour] / peak
            c.rect(x + 2 + j * 10, top + height - h, 9, h, colour,
                   title=f"{hour}:00 {name}: {values[hour]}", data_hour=str(hour),
                   data_kind=name)
        if hour % 3 == 0:
            c.text(x + 10, top + height + 14, number(hour, lang), anchor="middle", size=10,
                   fill=MUTED)
    c.text(left, c.h - 6, _("opens"), size=11, fill=ACCENT)
    c.text(left + 80, c.h - 6, _("clicks"), size=11, fill=WARN)
    return c.render()


def overview(lang: str) -> dict[str, Any]:
    """The last campaigns that went, oldest first, with their rates: a chart to compare them
    and the rows it is drawn from."""
    rows = overview_rows()
    return {"rows": rows, "chart": _rates_chart(rows, lang) if rows else None}


def overview_rows() -> list[dict[str, Any]]:
    from peyvand.campaigns.groups import sources_of
    from peyvand.campaigns.models import Campaign
    from peyvand.tracking.report import source_report

    went = list(Campaign.objects.filter(started_at__isnull=False).order_by("-started_at")
                .prefetch_related("variants")[:OVERVIEW_CAMPAIGNS])[::-1]
    rows = []
    for campaign in went:
        numbers = source_report(sources_of(campaign))
        delivered = numbers.get("delivered", 0)
        rows.append({"campaign": campaign, "delivered": delivered,
                     "opened": numbers.get("opened", 0), "clicked": numbers.get("clicked", 0),
                     "ordered": numbers.get("ordered", 0),
                     "open_rate": numbers.get("opened", 0) / delivered if delivered else 0.0,
                     "click_rate": numbers.get("clicked", 0) / delivered if delivered
                     else 0.0})
    return rows


def _rates_chart(rows: list[dict[str, Any]], lang: str) -> SafeString:
    left, bottom, top = 50, 50, 14
    step = 56
    c = Canvas(max(420, left + len(rows) * step + 30), 240, lang,
               _("Open and click rates of the last campaigns"), "campaign-overview")
    height = c.h - bottom - top
    peak = max([r["open_rate"] for r in rows] + [r["click_rate"] for r in rows] + [0.05])
    for tick in (0, 0.5, 1):
        y = top + height * (1 - tick)
        c.line(left, y, c.w - 10, y, LINE)
        c.text(left - 6, y + 4, percent(peak * tick, lang), anchor="end", size=10, fill=MUTED)
    for key, colour in (("open_rate", ACCENT), ("click_rate", WARN)):
        points = [(left + 20 + i * step, top + height * (1 - r[key] / peak))
                  for i, r in enumerate(rows)]
        if len(points) > 1:
            c.polyline(points, colour)
        for (x, y), r in zip(points, rows, strict=True):
            c.circle(x, y, 4, colour, title=f"{r['campaign'].name}: {percent(r[key], lang)}")
    for i, r in enumerate(rows):
        name = r["campaign"].name
        c.text(left + 20 + i * step, top + height + 16, name[:9] + ("…" if len(name) > 9
                                                                     else ""),
               anchor="middle", size=10, fill=MUTED)
    c.text(left, c.h - 8, _("open rate (people)"), size=11, fill=ACCENT)
    c.text(left + 150, c.h - 8, _("click rate"), size=11, fill=WARN)
    return c.render()
