"""Charts as inline SVG drawn on the server: no script, no external file, printable.

Each chart is laid out in logical coordinates (x grows along the text) and mirrored for
right-to-left pages, so Persian charts read from the right; text carries direction="rtl"
there, which makes text-anchor "start" the right edge, as the mirrored layout expects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from peyvand.base.dates import persian_digits

ACCENT = "#0b6a6a"
ACCENT_SOFT = "#e3f1f1"
INK = "#1d2330"
MUTED = "#5b6475"
LINE = "#dde1e8"
WARN = "#b7791f"
STAGE_COLOURS = ["#9aa5b8", "#7fa8b0", "#4f9a9a", "#2f8282", "#0b6a6a", "#084e4e"]


def number(value: float | int, lang: str, places: int = 0) -> str:
    text = f"{value:,.{places}f}"
    if lang == "fa":
        return persian_digits(text.replace(",", "\u066c").replace(".", "\u066b"))
    return text


def percent(share: float, lang: str, places: int = 1) -> str:
    value = share * 100
    if places and value >= 10:
        places = 0
    text = number(value, lang, places)
    return f"{text}٪" if lang == "fa" else f"{text}%"


def compact(value: float, lang: str) -> str:
    """1,250,000 -> "1.3M" / «۱٫۳ میلیون»: axis labels for amounts in the millions."""
    steps = [(1e12, "T", "هزار میلیارد"), (1e9, "B", "میلیارد"), (1e6, "M", "میلیون"),
             (1e3, "K", "هزار")]
    for size, en, fa in steps:
        if abs(value) >= size:
            scaled = value / size
            places = 0 if scaled >= 10 or scaled == int(scaled) else 1
            text = number(scaled, lang, places)
            return f"{text} {fa}" if lang == "fa" else f"{text}{en}"
    return number(value, lang)


class Canvas:
    """An SVG being built, with the mirroring for right-to-left pages."""

    def __init__(self, width: int, height: int, lang: str, label: str, css: str = ""):
        self.w, self.h, self.lang = width, height, lang
        self.rtl = lang == "fa"
        self.parts: list[str] = []
        self.label = label
        self.css = css

    def x(self, x: float, width: float = 0) -> float:
        return self.w - x - width if self.rtl else x

    def rect(self, x: float, y: float, w: float, h: float, fill: str, title: str = "",
             **attrs: Any) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<rect x="{self.x(x, w):.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
                          f'height="{max(h, 0):.1f}" fill="{fill}"{extra}>{tip}</rect>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = LINE,
             width: float = 1, dash: str = "") -> None:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{self.x(x1):.1f}" y1="{y1:.1f}" x2="{self.x(x2):.1f}" '
                          f'y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"{dashed}/>')

    def text(self, x: float, y: float, content: str, *, anchor: str = "start",
             size: float = 12, fill: str = INK, weight: str = "normal",
             cls: str = "") -> None:
        direction = ' direction="rtl"' if self.rtl else ""
        klass = f' class="{cls}"' if cls else ""
        self.parts.append(
            f'<text x="{self.x(x):.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}"{direction}{klass}>{escape(content)}</text>')

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, width: float = 2,
                 dash: str = "") -> None:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{self.x(px):.1f},{py:.1f}" for px, py in points)
        self.parts.append(f'<polyline points="{coords}" fill="none" stroke="{stroke}" '
                          f'stroke-width="{width}"{dashed}/>')

    def circle(self, x: float, y: float, r: float, fill: str, title: str = "") -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<circle cx="{self.x(x):.1f}" cy="{y:.1f}" r="{r}" '
                          f'fill="{fill}">{tip}</circle>')

    def render(self) -> SafeString:
        direction = "rtl" if self.rtl else "ltr"
        return mark_safe(
            f'<svg class="chart {self.css}" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {self.w} {self.h}" width="{self.w}" height="{self.h}" '
            f'aria-label="{escape(self.label)}" data-dir="{direction}" '
            f'font-family="inherit"><title>{escape(self.label)}</title>'
            + "".join(self.parts) + "</svg>")


# --- the charts ----------------------------------------------------------------------------

def pyramid(data: dict, lang: str) -> SafeString:
    """Bands of customers (top 1%, next 4%, …) with the share of revenue each holds."""
    bands = data.get("bands") or []
    row, gap, label_w = 34, 6, 230
    c = Canvas(600, max(1, len(bands)) * (row + gap) + 10, lang,
               _("Revenue pyramid: share of net revenue by customer percentile"), "pyramid")
    width = c.w - label_w - 20
    for i, band in enumerate(bands):
        y = 5 + i * (row + gap)
        # Narrow at the top like a pyramid: the band's width grows with its rank.
        bar = width * (0.25 + 0.75 * (i + 1) / len(bands))
        filled = bar * band["share"] / max(max(b["share"] for b in bands), 1e-9)
        x0 = label_w + (width - bar) / 2
        c.rect(x0, y, bar, row, ACCENT_SOFT)
        c.rect(x0 + (bar - filled) / 2, y, filled, row, ACCENT,
               title=percent(band["share"], lang))
        if band["from"] == 0:
            name = _("Top %(to)s") % {"to": percent(band["to"] / 100, lang, 0)}
        else:
            name = _("%(from)s–%(to)s") % {"from": percent(band["from"] / 100, lang, 0),
                                          "to": percent(band["to"] / 100, lang, 0)}
        c.text(0, y + row / 2 - 2, name, size=12, weight="bold")
        c.text(0, y + row / 2 + 12, _("%(share)s of revenue · %(count)s customers")
               % {"share": percent(band["share"], lang),
                  "count": number(band["customers"], lang)}, size=11, fill=MUTED)
    return c.render()


def heatmap(data: dict, lang: str, segment_of=None) -> SafeString:
    """Customers per (R, F) cell: R down the side (best at the top), F along the text."""
    bins = data.get("bins") or 5
    counts = data.get("counts") or [[0] * bins for _ in range(bins)]
    cell, left, top = 52, 70, 14
    c = Canvas(left + bins * cell + 20, top + bins * cell + 56, lang,
               _("RFM heat map: customers by recency and frequency score"), "heatmap")
    peak = max((max(r) for r in counts), default=0) or 1
    for r in range(bins, 0, -1):
        y = top + (bins - r) * cell
        c.text(left - 10, y + cell / 2 + 4, f"R{number(r, lang)}", anchor="end", size=12,
               fill=MUTED)
        for f in range(1, bins + 1):
            x = left + (f - 1) * cell
            n = counts[r - 1][f - 1]
            share = n / peak
            fill = _blend(share)
            seg = segment_of(r, f) if segment_of else ""
            title = f"R{r} F{f}: {n}" + (f" · {seg}" if seg else "")
            c.rect(x + 1, y + 1, cell - 2, cell - 2, fill, title=title,
                   data_r=str(r), data_f=str(f), data_count=str(n))
            c.text(x + cell / 2, y + cell / 2 + 4, number(n, lang), anchor="middle", size=12,
                   fill="#fff" if share > 0.55 else INK)
    for f in range(1, bins + 1):
        c.text(left + (f - 1) * cell + cell / 2, top + bins * cell + 16, f"F{number(f, lang)}",
               anchor="middle", size=12, fill=MUTED)
    axis = _("Frequency score (F)")
    arrow = "←" if c.rtl else "→"  # F grows along the text
    c.text(left + bins * cell / 2, top + bins * cell + 40, f"{axis} {arrow}", anchor="middle",
           size=12, fill=MUTED)
    return c.render()


def _blend(share: float) -> str:
    """From the soft accent (few) to the accent (most)."""
    lo, hi = (0xF1, 0xF7, 0xF7), (0x0B, 0x6A, 0x6A)
    share = max(0.0, min(1.0, share)) ** 0.6
    rgb = [round(a + (b - a) * share) for a, b in zip(lo, hi, strict=True)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def histogram(data: dict, lang: str, unit: str, factor: int = 1) -> SafeString:
    """Customers by net revenue on a log scale; zero-or-less apart. Bin edges are in minor
    units; `factor` of them make one `unit` (10 rial to the toman)."""
    bins = list(data.get("bins") or [])
    bars = ([{"label": "≤ " + number(0, lang), "customers": data.get("zero_or_less", 0),
              "zero": True}] if data.get("zero_or_less") else []) + bins
    left, bottom, top = 50, 48, 12
    bar_w = 44
    c = Canvas(max(360, left + len(bars) * (bar_w + 8) + 20), 230, lang,
               _("Customers by net revenue (log scale)"), "histogram")
    height = c.h - bottom - top
    peak = max((b["customers"] for b in bars), default=0) or 1
    for tick in (0, 0.5, 1):
        y = top + height * (1 - tick)
        c.line(left, y, c.w - 10, y)
        c.text(left - 6, y + 4, number(round(peak * tick), lang), anchor="end", size=10,
               fill=MUTED)
    for i, b in enumerate(bars):
        x = left + 8 + i * (bar_w + 8)
        h = height * b["customers"] / peak
        label = b.get("label") or compact(b["from"] / factor, lang)
        c.rect(x, top + height - h, bar_w, h, WARN if b.get("zero") else ACCENT,
               title=f"{label}: {b['customers']}", data_count=str(b["customers"]))
        c.text(x + bar_w / 2, top + height + 14, label, anchor="middle", size=10, fill=MUTED)
    c.text(left + (c.w - left) / 2, c.h - 8,
           _("Net revenue per customer (%(unit)s)") % {"unit": unit}, anchor="middle",
           size=11, fill=MUTED)
    return c.render()


def funnel(stages: Sequence[dict], lang: str) -> SafeString:
    """The ladder of loyalty, lowest rung at the top, bars centred like a funnel."""
    row, gap, label_w = 30, 6, 150
    c = Canvas(600, len(stages) * (row + gap) + 10, lang, _("Ladder of loyalty"), "funnel")
    width = c.w - label_w - 10
    peak = max((s["count"] for s in stages), default=0) or 1
    for i, stage in enumerate(stages):
        y = 5 + i * (row + gap)
        w = max(4.0, width * stage["count"] / peak) if stage["count"] else 2.0
        c.rect(label_w + (width - w) / 2, y, w, row, STAGE_COLOURS[i % len(STAGE_COLOURS)],
               title=f"{stage['label']}: {stage['count']}", data_stage=stage["stage"])
        c.text(0, y + row / 2 + 4, stage["label"], size=12, weight="bold")
        c.text(label_w + width / 2, y + row / 2 + 4, number(stage["count"], lang),
               anchor="middle", size=12, fill="#fff" if w > 60 else INK)
    return c.render()


def holdout(data: dict, lang: str) -> SafeString:
    """Mean hold-out purchases per customer, actual and predicted, by calibration repeats."""
    groups = data.get("groups") or []
    left, bottom, top = 44, 56, 14
    step = 56
    c = Canvas(left + len(groups) * step + 30, 250, lang,
               _("Hold-out check: purchases per customer, actual and predicted"), "holdout")
    height = c.h - bottom - top
    peak = max([g["actual"] for g in groups] + [g["predicted"] for g in groups] + [0.1])
    peak = math.ceil(peak * 2) / 2
    for tick in (0, 0.5, 1):
        y = top + height * (1 - tick)
        c.line(left, y, c.w - 10, y)
        c.text(left - 6, y + 4, number(peak * tick, lang, 1), anchor="end", size=10,
               fill=MUTED)
    actual, predicted = [], []
    for i, g in enumerate(groups):
        x = left + 20 + i * step
        ya = top + height * (1 - g["actual"] / peak)
        yp = top + height * (1 - g["predicted"] / peak)
        actual.append((x, ya))
        predicted.append((x, yp))
        # "7+" stays "7+" in Persian: a left-to-right isolate keeps the plus after the digit.
        label = f"\u2066{persian_digits(g['label'])}\u2069" if lang == "fa" else g["label"]
        c.text(x, top + height + 16, label, anchor="middle", size=11, fill=MUTED)
    c.polyline(actual, INK, 2)
    c.polyline(predicted, ACCENT, 2, dash="6 4")
    for (x, ya), (_x, yp), g in zip(actual, predicted, groups, strict=True):
        c.circle(x, ya, 3.5, INK, title=_("actual %(value)s") % {
            "value": number(g["actual"], lang, 2)})
        c.circle(x, yp, 3.5, ACCENT, title=_("predicted %(value)s") % {
            "value": number(g["predicted"], lang, 2)})
    c.text(left + (c.w - left) / 2, top + height + 34,
           _("Repeat purchases in the calibration period"), anchor="middle", size=11,
           fill=MUTED)
    legend_y = c.h - 6
    c.line(left, legend_y - 4, left + 24, legend_y - 4, INK, 2)
    c.text(left + 30, legend_y, _("Actual"), size=11)
    c.line(left + 110, legend_y - 4, left + 134, legend_y - 4, ACCENT, 2, dash="6 4")
    c.text(left + 140, legend_y, _("Predicted"), size=11)
    return c.render()
