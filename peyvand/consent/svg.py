"""A tiny server-rendered SVG line chart: no JavaScript, no library, readable in both
directions (time runs left to right; labels are isolated)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#0b6a6a", "#b42318", "#8a5a00", "#3b5bdb", "#7b3fa0", "#2f7d32", "#c2410c",
           "#475569"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if value <= step:
            return step
    return value


def line_chart(series: dict[str, list[float | None]], labels: list[str], *,
               title: str = "", percent: bool = True, width: int = 760, height: int = 280,
               format_value=None) -> SafeString:
    """One polyline per series over `labels` (x); None leaves a gap. Values are fractions
    when `percent` (0.05 shows as 5%). `format_value` renders axis and tooltip numbers."""
    fmt = format_value or ((lambda v: f"{v * 100:.1f}%") if percent else (lambda v: f"{v:g}"))
    left, right, top, bottom = 56, 16, 16, 36
    legend_rows = (len(series) + 3) // 4
    full_height = height + legend_rows * 20
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    ymax = _nice_max(max(values, default=0))
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v / ymax)

    # direction: ltr, or an RTL page would anchor every label from its right end.
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" dir="ltr" '
             f'viewBox="0 0 {width} {full_height}" width="100%" direction="ltr" '
             f'style="max-width:{width}px;font-size:11px;font-family:inherit;direction:ltr">']
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for step in range(5):
        value = ymax * step / 4
        yy = y(value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" '
                     f'stroke="#dde1e8" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                     f'fill="#5b6475">{escape(fmt(value))}</text>')
    every = max(1, -(-n // 12))  # at most about 12 labels on the axis
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle" '
                         f'fill="#5b6475"><tspan>{escape(label)}</tspan></text>')
    for index, (name, vs) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        segment: list[str] = []
        segments = []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                         f'points="{" ".join(seg)}"/>')
        for i, v in enumerate(vs):
            if v is not None:
                label = labels[i] if i < len(labels) else ""
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                             f"<title>{escape(name)} · {escape(label)}: {escape(fmt(v))}"
                             f"</title></circle>")
        lx = left + (index % 4) * (plot_w / 4)
        ly = height + (index // 4) * 20
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="12" rx="2" '
                     f'fill="{colour}"/><text x="{lx + 17:.1f}" y="{ly + 1}" fill="#1d2330" '
                     f'style="unicode-bidi:isolate">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
