"""RFM scores by quantile and the segment each (R, F, M) cell belongs to."""

from __future__ import annotations

import numpy as np
from django.utils.translation import gettext_lazy as _

from peyvand.insights.models import Segment

# (segment, R range, F range, M range) on the 1–5 scale, inclusive. Read on the recency ×
# frequency grid; every one of the 125 cells falls in exactly one rule (tested).
SEGMENT_RULES: list[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]]] = [
    (Segment.HIBERNATING, (1, 2), (1, 2), (1, 5)),
    (Segment.AT_RISK, (1, 2), (3, 4), (1, 5)),
    (Segment.CANT_LOSE, (1, 2), (5, 5), (1, 5)),
    (Segment.ABOUT_TO_SLEEP, (3, 3), (1, 2), (1, 5)),
    (Segment.NEED_ATTENTION, (3, 3), (3, 3), (1, 5)),
    (Segment.LOYAL, (3, 4), (4, 5), (1, 5)),
    (Segment.PROMISING, (4, 4), (1, 1), (1, 5)),
    (Segment.NEW, (5, 5), (1, 1), (1, 5)),
    (Segment.POTENTIAL_LOYALIST, (4, 5), (2, 3), (1, 5)),
    (Segment.CHAMPIONS, (5, 5), (4, 5), (1, 5)),
]

SEGMENT_HELP = {
    Segment.CHAMPIONS: _("Bought recently and often."),
    Segment.LOYAL: _("Buy often; fairly recent."),
    Segment.POTENTIAL_LOYALIST: _("Recent, with a few orders."),
    Segment.NEW: _("First order, very recent."),
    Segment.PROMISING: _("First order, recent."),
    Segment.NEED_ATTENTION: _("Middling recency and frequency."),
    Segment.ABOUT_TO_SLEEP: _("Few orders, not lately."),
    Segment.AT_RISK: _("Used to buy fairly often; not for a long time."),
    Segment.CANT_LOSE: _("Used to buy very often; not for a long time."),
    Segment.HIBERNATING: _("Few orders, long ago."),
}


def segment_matches(r: int, f: int, m: int) -> list[str]:
    """Every rule (r, f, m) falls in; exactly one for any cell on the 1–5 scale."""
    return [seg for seg, (r0, r1), (f0, f1), (m0, m1) in SEGMENT_RULES
            if r0 <= r <= r1 and f0 <= f <= f1 and m0 <= m <= m1]


def _segment_grid() -> np.ndarray:
    grid = np.empty((6, 6), dtype=object)
    grid[:] = ""
    for r in range(1, 6):
        for f in range(1, 6):
            grid[r, f] = segment_matches(r, f, 1)[0]
    return grid


_GRID = _segment_grid()


def to_five(scores: np.ndarray, bins: int) -> np.ndarray:
    """Scores on `bins` bins read on the 1–5 scale (0 stays 0: no orders)."""
    scores = np.asarray(scores, dtype=np.int64)
    if bins == 5:
        return scores
    five = 1 + (scores - 1) * 5 // bins
    return np.where(scores > 0, five, 0)


def segments(r: np.ndarray, f: np.ndarray, bins: int) -> np.ndarray:
    """Segment names for score arrays; "" where there is no score."""
    r5, f5 = to_five(r, bins), to_five(f, bins)
    return _GRID[r5, f5]


def edges(values: np.ndarray, bins: int) -> list[float]:
    """Bin edges such that a value's score is 1 + how many edges it exceeds.

    Equal values always get equal scores; a value scores s when at least (s-1)/bins of the
    population is strictly below it, so a mass of ties (most customers bought once) lands
    in the lowest bin it reaches rather than being spread at random.
    """
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0:
        return []
    out = []
    for s in range(2, bins + 1):
        k = -(-(s - 1) * n // bins)  # ceil((s-1) n / bins)
        out.append(float(values[k - 1]) if k >= 1 else float("-inf"))
    return out


def scores(values: np.ndarray, bin_edges: list[float]) -> np.ndarray:
    """1 + how many edges each value is strictly above."""
    if not bin_edges:
        return np.ones(np.shape(values), dtype=np.int64)
    return 1 + np.searchsorted(np.asarray(bin_edges, dtype=float),
                               np.asarray(values, dtype=float), side="left").astype(np.int64)
