"""The A/B statistics agree with statsmodels and scipy, and with values worked by hand."""

from decimal import Decimal

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from peyvand.campaigns import stats

TIGHT = {"rel": 1e-9, "abs": 1e-9}


@pytest.mark.parametrize("a, n_a, b, n_b", [
    (32, 1000, 41, 1000), (320, 10_000, 410, 10_000), (5, 80, 1, 120), (900, 1000, 870, 950),
    (0, 500, 3, 500),
])
def test_two_proportions_is_statsmodels_pooled_z_test(a, n_a, b, n_b):
    result = stats.two_proportions(a, n_a, b, n_b)
    z, p = proportions_ztest([b, a], [n_b, n_a])  # B first: z > 0 when B is higher
    assert result.statistic == pytest.approx(z, **TIGHT)
    assert result.p_value == pytest.approx(p, **TIGHT)
    assert result.test == stats.Z_TEST and result.label == "two-proportion z-test"
    assert result.alpha == 0.05
    assert result.significant == (p < 0.05)
    assert (result.statistic > 0) == (b / n_b > a / n_a)


def test_two_proportions_textbook_value():
    # 32/1000 vs 41/1000: pooled p = 0.0365, se = sqrt(p q (2/1000)), z = 0.009 / se.
    se = (0.0365 * 0.9635 * 2 / 1000) ** 0.5
    result = stats.two_proportions(32, 1000, 41, 1000)
    assert result.statistic == pytest.approx(0.009 / se, **TIGHT)
    assert result.p_value == pytest.approx(0.28321, abs=1e-5)
    assert not result.significant


def test_two_proportions_without_any_success_is_not_significant():
    result = stats.two_proportions(0, 100, 0, 200)
    assert (result.statistic, result.p_value, result.significant) == (0.0, 1.0, False)
    with pytest.raises(ValueError):
        stats.two_proportions(5, 0, 1, 10)
    with pytest.raises(ValueError):
        stats.two_proportions(11, 10, 1, 10)


def test_significance_follows_alpha():
    assert stats.two_proportions(320, 10_000, 380, 10_000, alpha=0.05).significant
    assert not stats.two_proportions(320, 10_000, 380, 10_000, alpha=0.01).significant


def test_holm_on_a_worked_example():
    # Sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, then max(1 x 0.04, 0.06) in input order.
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], **TIGHT)
    assert stats.holm([0.2]) == [0.2]


@pytest.mark.parametrize("successes, totals", [
    ([30, 45, 28], [1000, 1000, 1000]),
    ([300, 360, 290, 330], [10_000, 9_800, 10_050, 9_900]),
    ([12, 30, 18], [400, 410, 395]),
])
def test_chi_square_holm_matches_scipy_and_statsmodels(successes, totals):
    family = stats.chi_square_holm(successes, totals)
    table = [[s, n - s] for s, n in zip(successes, totals, strict=True)]
    chi2, p, dof, _ = sps.chi2_contingency(table, correction=False)
    assert family.overall is not None
    assert family.overall.statistic == pytest.approx(chi2, **TIGHT)
    assert family.overall.p_value == pytest.approx(p, **TIGHT)
    assert family.overall.df == dof == len(totals) - 1
    raw = [proportions_ztest([s, successes[0]], [n, totals[0]])[1]
           for s, n in zip(successes[1:], totals[1:], strict=True)]
    adjusted = multipletests(raw, method="holm")[1]
    assert [r.p_value for r in family.pairwise] == pytest.approx(raw, **TIGHT)
    assert [r.p_adjusted for r in family.pairwise] == pytest.approx(list(adjusted), **TIGHT)
    assert [r.significant for r in family.pairwise] == [q < 0.05 for q in adjusted]
    assert family.significant == (p < 0.05 and any(q < 0.05 for q in adjusted))


def test_chi_square_of_two_groups_is_the_z_test_squared():
    family = stats.chi_square_holm([32, 41], [1000, 1000])
    z = stats.two_proportions(32, 1000, 41, 1000)
    assert family.overall.statistic == pytest.approx(z.statistic**2, **TIGHT)
    assert family.overall.p_value == pytest.approx(z.p_value, **TIGHT)


def test_chi_square_holm_without_successes_and_bad_input():
    family = stats.chi_square_holm([0, 0, 0], [100, 100, 100])
    assert family.overall.p_value == 1.0 and not family.significant
    with pytest.raises(ValueError):
        stats.chi_square_holm([1, 2], [10])


def _revenue(rng, n, buy_rate, mean_order):
    """Per-recipient revenue: most recipients 0, buyers an integer rial amount."""
    bought = rng.random(n) < buy_rate
    return np.where(bought, np.rint(rng.gamma(2.0, mean_order / 2, n)), 0).astype(np.int64)


@pytest.mark.parametrize("seed, n_a, n_b, mean_b", [
    (1, 2000, 2100, 5_000_000), (2, 300, 500, 8_000_000), (3, 50, 40, 2_000_000)])
def test_welch_matches_scipy_on_raw_revenue(seed, n_a, n_b, mean_b):
    rng = np.random.default_rng(seed)
    a = _revenue(rng, n_a, 0.04, 4_000_000)
    b = _revenue(rng, n_b, 0.05, mean_b)
    expected = sps.ttest_ind(b, a, equal_var=False)
    sums = [int(x) for x in (a.sum(), (a.astype(object) ** 2).sum())]
    sums_b = [int(x) for x in (b.sum(), (b.astype(object) ** 2).sum())]
    from_sums = stats.welch_from_sums(n_a, *sums, n_b, *sums_b)
    from_stats = stats.welch_from_stats(a.mean(), a.var(ddof=1), n_a, b.mean(), b.var(ddof=1),
                                        n_b)
    for result in (from_sums, from_stats):
        assert result.test == stats.WELCH
        assert result.statistic == pytest.approx(expected.statistic, **TIGHT)
        assert result.p_value == pytest.approx(expected.pvalue, **TIGHT)
        assert result.df == pytest.approx(expected.df, **TIGHT)


def test_welch_from_sums_takes_decimals_and_floats_alike():
    ints = stats.welch_from_sums(4, 10, 30, 5, 20, 90)  # 1..4 against 2,3,4,5,6
    assert ints.statistic == pytest.approx(
        sps.ttest_ind([2, 3, 4, 5, 6], [1, 2, 3, 4], equal_var=False).statistic, **TIGHT)
    decimals = stats.welch_from_sums(4, Decimal(10), Decimal(30), 5, Decimal(20), Decimal(90))
    floats = stats.welch_from_sums(4, 10.0, 30.0, 5, 20.0, 90.0)
    assert decimals == ints == floats


def test_welch_without_spread():
    nobody_bought = stats.welch_from_sums(100, 0, 0, 120, 0, 0)
    assert (nobody_bought.p_value, nobody_bought.significant) == (1.0, False)
    with pytest.raises(ValueError):
        stats.welch_from_sums(1, 5, 25, 10, 5, 25)


def test_welch_holm_adjusts_each_variant_against_the_control():
    groups = [(1000, 4_000_000, 9e11), (1000, 5_500_000, 1.2e12), (1000, 4_200_000, 9.5e11)]
    family = stats.welch_holm(groups)
    raw = [stats.welch_from_sums(*groups[0], *g).p_value for g in groups[1:]]
    assert family.overall is None
    assert [r.p_adjusted for r in family.pairwise] == pytest.approx(
        list(multipletests(raw, method="holm")[1]), **TIGHT)


def test_sample_size_textbook_value():
    # 10% -> 12%, two-sided alpha 0.05, power 0.8, pooled-variance formula: 3,840.85 -> 3,841.
    assert stats.sample_size_per_variant(0.10, 0.20) == 3841
    exact = samplesize_proportions_2indep_onetail(0.02, 0.10, 0.8, alpha=0.05)
    assert exact == pytest.approx(3840.847, abs=1e-3)
    # At that size the test reaches the power asked for, and only just.
    power = power_proportions_2indep(0.02, 0.10, 3841, alpha=0.05).power
    assert 0.8 <= power < 0.8005


@pytest.mark.parametrize("baseline, lift", [(0.03, 0.1), (0.2, -0.15), (0.45, 0.05)])
def test_sample_size_agrees_with_statsmodels(baseline, lift):
    n = stats.sample_size_per_variant(baseline, lift)
    p2 = baseline * (1 + lift)
    exact = samplesize_proportions_2indep_onetail(p2 - baseline, baseline, 0.8, alpha=0.05)
    assert n == int(np.ceil(exact))
    # The arcsine (Cohen's h) approximation lands within 1%.
    h = proportion_effectsize(p2, baseline)
    assert n == pytest.approx(NormalIndPower().solve_power(h, alpha=0.05, power=0.8), rel=0.01)


def test_sample_size_with_more_variants_splits_alpha():
    assert stats.sample_size_per_variant(0.1, 0.2, variants=3) == \
        stats.sample_size_per_variant(0.1, 0.2, alpha=0.025)
    assert stats.sample_size_per_variant(0.1, 0.2, variants=4) == \
        stats.sample_size_per_variant(0.1, 0.2, alpha=0.05 / 3)
    assert stats.sample_size_per_variant(0.1, 0.4) < stats.sample_size_per_variant(0.1, 0.2)
    with pytest.raises(ValueError):
        stats.sample_size_per_variant(0.6, 1.0)


def test_prob_b_beats_a_exact_small_cases():
    assert stats.prob_b_beats_a(30, 1000, 30, 1000) == pytest.approx(0.5, **TIGHT)
    # Beta(2,1) against Beta(1,1): integral of 2x * x over [0, 1] = 2/3.
    assert stats.prob_b_beats_a(0, 0, 1, 1) == pytest.approx(2 / 3, **TIGHT)
    # Beta(2,1) against Beta(1,2): integral of 2b (1 - (1 - b)^2) = 5/6.
    assert stats.prob_b_beats_a(0, 1, 1, 1) == pytest.approx(5 / 6, **TIGHT)
    assert stats.prob_b_beats_a(1, 1, 0, 1) == pytest.approx(1 / 6, **TIGHT)


@pytest.mark.parametrize("a, n_a, b, n_b", [
    (40, 1000, 55, 1000), (12, 80, 7, 95), (300, 10_000, 320, 10_000)])
def test_prob_b_beats_a_matches_numerical_integration(a, n_a, b, n_b):
    post_a, post_b = sps.beta(a + 1, n_a - a + 1), sps.beta(b + 1, n_b - b + 1)
    lo, hi = post_b.ppf(1e-15), post_b.isf(1e-15)
    integral, _ = integrate.quad(lambda x: post_b.pdf(x) * post_a.cdf(x), lo, hi,
                                 epsabs=1e-13, epsrel=1e-12, limit=200)
    got = stats.prob_b_beats_a(a, n_a, b, n_b)
    assert got == pytest.approx(integral, **TIGHT)
    assert got + stats.prob_b_beats_a(b, n_b, a, n_a) == pytest.approx(1.0, **TIGHT)


def test_prob_b_beats_a_matches_seeded_monte_carlo_and_scales():
    rng = np.random.default_rng(17)
    draws = 1_000_000
    share = np.mean(rng.beta(56, 946, draws) > rng.beta(41, 961, draws))
    assert stats.prob_b_beats_a(40, 1000, 55, 1000) == pytest.approx(share, abs=0.002)
    # 100,000 per arm: the posteriors are nearly normal, and the sum still fast.
    a, b = sps.beta(20_001, 80_001), sps.beta(20_401, 79_601)
    normal = sps.norm.cdf((b.mean() - a.mean()) / np.sqrt(a.var() + b.var()))
    assert stats.prob_b_beats_a(20_000, 100_000, 20_400, 100_000) == pytest.approx(normal,
                                                                                  abs=1e-3)
