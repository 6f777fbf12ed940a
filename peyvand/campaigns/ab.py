"""Campaign A/B tests: who gets which variant, and which variant the rest receive.

Assignment is a pure function of (seed, contact id): sha256 gives each contact two independent
numbers, a uniform u in [0, 1) that puts them in the test when u < test_share, and a variant
index. Because the variant does not depend on the share, raising the share only moves people
from the rest into variants. Sizes are balanced in expectation; like any per-contact split they
vary by chance (about ±√n), which an exact deal would avoid only by looking at everyone.

The decision is frequentist (z-test or chi-square + Holm for rates, Welch + Holm for revenue),
picks only a variant significantly *better* than the control, and otherwise keeps the control.
P(variant > control) is reported beside it as a reading aid, never used to decide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from peyvand.campaigns import stats

OPEN_RATE, CLICK_RATE, REVENUE = "open_rate", "click_rate", "revenue_per_recipient"
METRICS = (OPEN_RATE, CLICK_RATE, REVENUE)


def _draw(seed: str, contact_id: int) -> tuple[float, int]:
    # An int id ends the key, so "<seed>:<id>" cannot be read two ways.
    digest = hashlib.sha256(f"{seed}:{int(contact_id)}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") >> 11) / 2.0**53  # 53 bits: exact, below 1
    return u, int.from_bytes(digest[8:16], "big")


def group_of(seed: str, contact_id: int, test_share: float, variants: int) -> int | None:
    """The variant index (0 = A, the control) of one contact, or None for "the rest"."""
    if not 0 <= test_share <= 1 or variants < 2:
        raise ValueError("test_share must be within [0, 1] and variants at least 2")
    u, pick = _draw(seed, contact_id)
    return pick % variants if u < test_share else None


def assign(seed: str, contact_ids: Iterable[int], test_share: float,
           variants: int) -> dict[int, int | None]:
    """group_of for many contacts: the same seed always gives the same groups."""
    return {cid: group_of(seed, cid, test_share, variants) for cid in contact_ids}


@dataclass(frozen=True)
class VariantResult:
    """What one variant's recipients did. `n` counts delivered messages. Rates: `successes`
    are human opens (open_rate) or unique clickers (click_rate). Revenue: the sum of each
    recipient's revenue and of its square, recipients without an order adding 0."""

    n: int
    successes: int = 0
    revenue: stats.Amount = 0
    revenue_sq: stats.Amount = 0


@dataclass(frozen=True)
class Decision:
    """`winner` is the index the rest receive: a significantly better variant, else 0 (the
    control); None only when there is not yet data to test. `p_values[i]` is variant i
    against the control (Holm-adjusted when k > 2), `p_b_beats_a[i]` the Bayesian
    P(i > control) for rates; index 0 of both is None."""

    metric: str
    winner: int | None
    significant: bool
    reason: str
    alpha: float
    values: list[float]  # each variant's rate or revenue per recipient
    p_values: list[float | None]
    overall_p: float | None  # chi-square for k > 2 rates, the one test for k = 2
    p_b_beats_a: list[float | None]
    family: stats.FamilyResult | None


def letter(index: int) -> str:
    return chr(ord("A") + index)


def _family(metric: str, variants: list[VariantResult], alpha: float) -> stats.FamilyResult:
    if metric == REVENUE:
        return stats.welch_holm([(v.n, v.revenue, v.revenue_sq) for v in variants], alpha)
    if len(variants) == 2:
        a, b = variants
        return stats.FamilyResult(
            None, [stats.two_proportions(a.successes, a.n, b.successes, b.n, alpha)], alpha)
    return stats.chi_square_holm([v.successes for v in variants], [v.n for v in variants],
                                 alpha)


def decide(metric: str, variants: list[VariantResult], alpha: float = stats.ALPHA,
           money: Callable[[float], str] | None = None) -> Decision:
    """Which variant the rest receive. `money` formats revenue per recipient for the reason
    (say commerce's format_money with the shop currency); by default grouped digits."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if len(variants) < 2:
        raise ValueError("an A/B test has at least two variants")
    rates = metric != REVENUE
    none: list[float | None] = [None] * len(variants)
    if any(v.n < (1 if rates else 2) for v in variants):
        return Decision(metric, None, False, _("Not enough data yet to compare the variants."),
                        alpha, [0.0] * len(variants), none, None, none, None)
    values = [v.successes / v.n if rates else stats.mean_var(v.n, v.revenue, v.revenue_sq)[0]
              for v in variants]
    family = _family(metric, variants, alpha)
    pairs = family.pairwise
    gate = family.overall is None or family.overall.significant
    better = [i for i in range(1, len(variants))
              if gate and pairs[i - 1].significant and pairs[i - 1].statistic > 0]
    winner = max(better, key=lambda i: values[i]) if better else 0
    show = _percent if rates else (money or _amount)
    reason = _reason(metric, family, values, better, winner, show)
    overall = family.overall.p if family.overall else (pairs[0].p if len(pairs) == 1 else None)
    bayes: list[float | None] = none
    if rates:
        a = variants[0]
        bayes = [None] + [stats.prob_b_beats_a(a.successes, a.n, v.successes, v.n)
                          for v in variants[1:]]
    return Decision(metric, winner, bool(better), reason, alpha, values,
                    [None] + [r.p for r in pairs], overall, bayes, family)


def _reason(metric: str, family: stats.FamilyResult, values: list[float], better: list[int],
            winner: int, show: Callable[[float], str]) -> str:
    pairs, alpha = family.pairwise, family.alpha
    if better:
        return _win_text(metric) % {
            "winner": letter(winner), "winner_value": show(values[winner]),
            "control": letter(0), "control_value": show(values[0]),
            "p": _p_text(pairs[winner - 1].p, alpha), "alpha": f"{alpha:g}"}
    ahead = [i for i in range(1, len(values)) if values[i] > values[0]]
    if not ahead:
        return _("No variant did better than the control (%(control)s): it goes to the "
                 "rest.") % {"control": letter(0)}
    # The test that stood in the way: the overall one if it failed, else the closest pair.
    if family.overall is not None and not family.overall.significant:
        shown = family.overall.p
    else:
        shown = min(pairs[i - 1].p for i in ahead)
    return _("No variant is significantly better (%(p)s): the control (%(control)s) goes to "
             "the rest.") % {"p": _p_text(shown, alpha), "control": letter(0)}


def _win_text(metric: str) -> str:
    # One whole sentence per metric, so translators never glue a noun into a sentence.
    if metric == OPEN_RATE:
        return _("%(winner)s's open rate %(winner_value)s beats %(control)s's "
                 "%(control_value)s (%(p)s < %(alpha)s).")
    if metric == CLICK_RATE:
        return _("%(winner)s's click rate %(winner_value)s beats %(control)s's "
                 "%(control_value)s (%(p)s < %(alpha)s).")
    return _("%(winner)s's revenue per recipient %(winner_value)s beats %(control)s's "
             "%(control_value)s (%(p)s < %(alpha)s).")


def _p_text(p: float, alpha: float) -> str:
    """'p = 0.004', 'p = 0.31', 'p < 0.001'; more digits when rounding would cross alpha."""
    if p < 0.001:
        return "p < 0.001"
    digits = 3 if p < 0.01 else 2
    while digits < 6 and (round(p, digits) < alpha) != (p < alpha):
        digits += 1
    return f"p = {p:.{digits}f}"


def _percent(rate: float) -> str:
    return f"{rate:.1%}" if rate >= 0.01 or rate == 0 else f"{rate:.2%}"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
