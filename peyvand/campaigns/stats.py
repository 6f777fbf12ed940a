"""Statistics for campaign A/B tests: the tests a decision rests on, sample size, and P(B > A).

Pure functions over counts and sums, no database. Every test is two-sided and its statistic is
signed "B minus A" (positive when B, or variant i, is higher than A, the control at index 0),
so a caller reads the direction from the sign. With more than two variants each one is tested
against the control and the p-values are Holm-adjusted (family-wise error at `alpha`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy import stats as sps
from scipy.special import betaln, logsumexp
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
Z_TEST, CHI_SQUARE, WELCH = "two_proportion_z", "chi_square", "welch_t"
TEST_LABELS = {
    Z_TEST: _("two-proportion z-test"),
    CHI_SQUARE: _("chi-square test of homogeneity"),
    WELCH: _("Welch's t-test"),
}
Amount = int | float | Decimal


@dataclass(frozen=True)
class TestResult:
    """One test. In a Holm family `p_adjusted` is set and decides `significant`."""

    __test__ = False  # pytest: a result, not a test class

    test: str  # a key of TEST_LABELS
    statistic: float
    p_value: float
    alpha: float = ALPHA
    df: float | None = None
    p_adjusted: float | None = None
    significant: bool = field(init=False)

    def __post_init__(self) -> None:
        p = self.p_value if self.p_adjusted is None else self.p_adjusted
        object.__setattr__(self, "significant", bool(p < self.alpha))

    @property
    def p(self) -> float:
        """The p-value to compare with alpha (adjusted when in a family)."""
        return self.p_value if self.p_adjusted is None else self.p_adjusted

    @property
    def label(self) -> str:
        return str(TEST_LABELS[self.test])


@dataclass(frozen=True)
class FamilyResult:
    """An overall test (None for Welch) and `pairwise[i - 1]`: variant i against the control."""

    overall: TestResult | None
    pairwise: list[TestResult]
    alpha: float = ALPHA
    significant: bool = field(init=False)

    def __post_init__(self) -> None:
        gate = self.overall is None or self.overall.significant
        object.__setattr__(self, "significant",
                           gate and any(r.significant for r in self.pairwise))


def _check(successes: int, n: int, *, empty_ok: bool = False) -> None:
    if n < 0 or (n == 0 and not empty_ok) or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")


def two_proportions(successes_a: int, n_a: int, successes_b: int, n_b: int,
                    alpha: float = ALPHA) -> TestResult:
    """Pooled two-proportion z-test, two-sided: statsmodels' `proportions_ztest([b, a],
    [n_b, n_a])`. When nobody (or everybody) succeeded in both groups, p = 1."""
    _check(successes_a, n_a)
    _check(successes_b, n_b)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return TestResult(Z_TEST, 0.0, 1.0, alpha)
    z = (successes_b / n_b - successes_a / n_a) / se
    return TestResult(Z_TEST, z, float(2 * sps.norm.sf(abs(z))), alpha)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (statsmodels `multipletests(method="holm")`)."""
    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]


def chi_square_holm(successes: Sequence[int], totals: Sequence[int],
                    alpha: float = ALPHA) -> FamilyResult:
    """A chi-square test of homogeneity over all variants (no Yates correction), then each
    variant against the control (index 0) by the z-test, Holm-adjusted. The family is
    significant only when the overall test is too (a protected procedure)."""
    if len(successes) != len(totals) or len(totals) < 2:
        raise ValueError("need successes and totals for at least two variants")
    for s, n in zip(successes, totals, strict=True):
        _check(s, n)
    table = np.array([[s, n - s] for s, n in zip(successes, totals, strict=True)])
    dof = len(totals) - 1
    if table[:, 0].sum() in (0, table.sum()):  # one outcome only: expected counts of zero
        overall = TestResult(CHI_SQUARE, 0.0, 1.0, alpha, df=dof)
    else:
        chi2, p, _dof, _expected = sps.chi2_contingency(table, correction=False)
        overall = TestResult(CHI_SQUARE, float(chi2), float(p), alpha, df=dof)
    raw = [two_proportions(successes[0], totals[0], s, n, alpha)
           for s, n in zip(successes[1:], totals[1:], strict=True)]
    return FamilyResult(overall, _adjusted(raw), alpha)


def _adjusted(raw: list[TestResult]) -> list[TestResult]:
    return [TestResult(r.test, r.statistic, r.p_value, r.alpha, r.df, p)
            for r, p in zip(raw, holm([r.p_value for r in raw]), strict=True)]


def welch_from_stats(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float,
                     n_b: int, alpha: float = ALPHA) -> TestResult:
    """Welch's unequal-variance t-test from each group's mean, sample variance (ddof 1) and
    size: scipy's `ttest_ind(b, a, equal_var=False)`, with Welch–Satterthwaite df."""
    if n_a < 2 or n_b < 2:
        raise ValueError("Welch's test needs at least two observations per group")
    va, vb = var_a / n_a, var_b / n_b
    diff = mean_b - mean_a
    if va + vb == 0:  # no spread at all: equal means tell nothing, unequal ones everything
        if diff == 0:
            return TestResult(WELCH, 0.0, 1.0, alpha, df=n_a + n_b - 2)
        return TestResult(WELCH, math.copysign(math.inf, diff), 0.0, alpha, df=n_a + n_b - 2)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    t = diff / math.sqrt(va + vb)
    return TestResult(WELCH, t, float(2 * sps.t.sf(abs(t), df)), alpha, df=df)


def mean_var(n: int, total: Amount, total_sq: Amount) -> tuple[float, float]:
    """Mean and sample variance from n, the sum and the sum of squares. Computed exactly
    (fractions), so rial-sized sums of squares do not cancel away in floating point."""
    if n < 2:
        raise ValueError("a variance needs at least two observations")
    s, sq = Fraction(total), Fraction(total_sq)
    var = (n * sq - s * s) / (n * (n - 1))
    return float(s / n), max(float(var), 0.0)


def welch_from_sums(n_a: int, total_a: Amount, total_sq_a: Amount, n_b: int, total_b: Amount,
                    total_sq_b: Amount, alpha: float = ALPHA) -> TestResult:
    """Welch's test on per-recipient values given as count, sum and sum of squares: for
    revenue per recipient, recipients without an order count in n and add 0 to the sums."""
    mean_a, var_a = mean_var(n_a, total_a, total_sq_a)
    mean_b, var_b = mean_var(n_b, total_b, total_sq_b)
    return welch_from_stats(mean_a, var_a, n_a, mean_b, var_b, n_b, alpha)


def welch_holm(groups: Sequence[tuple[int, Amount, Amount]], alpha: float = ALPHA
               ) -> FamilyResult:
    """Each (n, sum, sum of squares) group against the control (index 0) by Welch's test,
    Holm-adjusted; there is no overall test."""
    if len(groups) < 2:
        raise ValueError("need at least two variants")
    raw = [welch_from_sums(*groups[0], *g, alpha=alpha) for g in groups[1:]]
    return FamilyResult(None, _adjusted(raw), alpha)


def sample_size_per_variant(baseline_rate: float, minimum_detectable_lift: float,
                            alpha: float = ALPHA, power: float = 0.8, variants: int = 2) -> int:
    """Recipients per variant for a two-sided two-proportion z-test to detect a *relative*
    lift (0.2: a 10% rate becoming 12%) with the given power.

    The pooled-variance normal formula, without continuity correction (Fleiss, Levin & Paik,
    *Statistical Methods for Rates and Proportions*, 3rd ed., 2003, ch. 4; statsmodels'
    `samplesize_proportions_2indep_onetail`)::

        n = (z(1 - a/2) * sqrt(2 p(1 - p)) + z(power) * sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2

    with p the mean of p1 and p2. With k > 2 variants, each compared with the control, alpha
    is Bonferroni-split as a = alpha / (k - 1): what Holm needs in the worst case.
    """
    p1 = baseline_rate
    p2 = p1 * (1 + minimum_detectable_lift)
    if not (0 < p1 < 1 and 0 < p2 < 1 and p1 != p2 and 0 < alpha < 1 and 0 < power < 1):
        raise ValueError("rates must stay strictly between 0 and 1 and the lift be non-zero")
    if variants < 2:
        raise ValueError("an A/B test has at least two variants")
    a = alpha / (variants - 1)
    p = (p1 + p2) / 2
    root = (sps.norm.isf(a / 2) * math.sqrt(2 * p * (1 - p))
            + sps.norm.ppf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    return math.ceil(root**2 / (p2 - p1) ** 2)


def prob_b_beats_a(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """P(rate B > rate A) with Beta(1, 1) priors, exactly: Evan Miller's closed form
    ("Formulas for Bayesian A/B Testing", 2015), summed in log space over the side with
    fewer successes (P(A > B) = 1 - P(B > A): the posteriors are continuous)."""
    _check(successes_a, n_a, empty_ok=True)
    _check(successes_b, n_b, empty_ok=True)
    if successes_b > successes_a:
        return 1.0 - prob_b_beats_a(successes_b, n_b, successes_a, n_a)
    alpha_a, beta_a = successes_a + 1, n_a - successes_a + 1
    beta_b = n_b - successes_b + 1
    i = np.arange(successes_b + 1, dtype=float)  # 0 .. alpha_b - 1
    terms = (betaln(alpha_a + i, beta_a + beta_b) - np.log(beta_b + i)
             - betaln(1 + i, beta_b) - betaln(alpha_a, beta_a))
    return float(min(max(np.exp(logsumexp(terms)), 0.0), 1.0))
