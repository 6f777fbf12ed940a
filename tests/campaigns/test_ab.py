"""Assigning contacts to A/B variants, and deciding which variant the rest receive."""

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats as sps

from peyvand.campaigns import ab, stats
from peyvand.campaigns.ab import VariantResult

IDS = range(1, 20_001)


def test_assignment_is_a_function_of_seed_and_contact():
    first = ab.assign("campaign-7", IDS, 0.3, 3)
    assert ab.assign("campaign-7", reversed(IDS), 0.3, 3) == first
    assert all(ab.group_of("campaign-7", cid, 0.3, 3) == g for cid, g in first.items())
    other = ab.assign("campaign-8", IDS, 0.3, 3)
    moved = sum(first[cid] != other[cid] for cid in IDS)
    # Independent splits agree on about 0.7² + 3 · 0.1² = 52% of contacts.
    assert 0.4 * len(IDS) < moved < 0.56 * len(IDS)


@pytest.mark.parametrize("seed", ["campaign-1", "spring-sale", "x"])
@pytest.mark.parametrize("variants", [2, 3, 4])
def test_assignment_is_balanced(seed, variants):
    groups = ab.assign(seed, IDS, 0.2, variants)
    counts = Counter(g for g in groups.values() if g is not None)
    tested = sum(counts.values())
    assert abs(tested / len(IDS) - 0.2) <= 0.015
    assert sorted(counts) == list(range(variants))
    assert sps.chisquare([counts[v] for v in range(variants)]).pvalue > 0.001
    # With 10,000 contacts all tested, each variant is within 3.5 standard deviations of
    # its even share: 3.5% (two variants) to 7% (four) at the very most.
    everyone = Counter(ab.assign(seed, range(1, 10_001), 1.0, variants).values())
    even = 10_000 / variants
    assert all(abs(everyone[v] - even) <= 3.5 * math.sqrt(even) for v in range(variants))


@pytest.mark.parametrize("variants", [2, 4])
def test_a_larger_test_share_only_takes_people_from_the_rest(variants):
    small = ab.assign("campaign-9", IDS, 0.2, variants)
    large = ab.assign("campaign-9", IDS, 0.3, variants)
    assert all(large[cid] == g for cid, g in small.items() if g is not None)
    joined = [cid for cid in IDS if small[cid] is None and large[cid] is not None]
    assert abs(len(joined) / len(IDS) - 0.1) <= 0.015


def test_test_share_bounds():
    assert set(ab.assign("s", range(500), 0.0, 2).values()) == {None}
    assert set(ab.assign("s", range(500), 1.0, 2).values()) == {0, 1}
    with pytest.raises(ValueError):
        ab.group_of("s", 1, 1.5, 2)
    with pytest.raises(ValueError):
        ab.group_of("s", 1, 0.2, 1)


def _rates(*pairs):
    return [VariantResult(n=n, successes=s) for s, n in pairs]


def test_click_rate_two_variants_b_wins():
    d = ab.decide("click_rate", _rates((320, 10_000), (410, 10_000)))
    z = stats.two_proportions(320, 10_000, 410, 10_000)
    assert (d.winner, d.significant) == (1, True)
    assert d.p_values == [None, pytest.approx(z.p_value, rel=1e-12)] and d.overall_p == z.p_value
    assert d.reason == "B's click rate 4.1% beats A's 3.2% (p < 0.001 < 0.05)."
    assert d.values == [0.032, 0.041]
    assert d.p_b_beats_a[0] is None
    assert d.p_b_beats_a[1] == pytest.approx(stats.prob_b_beats_a(320, 10_000, 410, 10_000))
    assert d.p_b_beats_a[1] > 0.99


def test_open_rate_two_variants_not_significant_keeps_the_control():
    d = ab.decide("open_rate", _rates((3200, 10_000), (3260, 10_000)))
    p = stats.two_proportions(3200, 10_000, 3260, 10_000).p_value
    assert p > 0.05 and (d.winner, d.significant) == (0, False)
    assert d.reason == (f"No variant is significantly better (p = {p:.2f}): the control (A) "
                        "goes to the rest.")
    assert 0.5 < d.p_b_beats_a[1] < 0.95


def test_a_significantly_worse_variant_never_wins():
    d = ab.decide("click_rate", _rates((410, 10_000), (320, 10_000)))
    assert stats.two_proportions(410, 10_000, 320, 10_000).significant
    assert (d.winner, d.significant) == (0, False)
    assert d.reason == "No variant did better than the control (A): it goes to the rest."
    assert d.p_b_beats_a[1] < 0.01


def test_click_rate_three_variants_picks_the_significantly_better_one():
    data = [(300, 10_000), (315, 10_000), (400, 10_000)]
    d = ab.decide("click_rate", _rates(*data))
    family = stats.chi_square_holm([s for s, _ in data], [n for _, n in data])
    assert d.overall_p == family.overall.p_value < 0.05
    assert d.p_values == [None] + [r.p_adjusted for r in family.pairwise]
    assert d.p_values[1] > 0.05 > d.p_values[2]
    assert (d.winner, d.significant) == (2, True)
    assert d.reason.startswith("C's click rate 4.0% beats A's 3.0% (p ")


def test_open_rate_four_variants_best_of_the_significant_ones_wins():
    # B significantly worse, C and D significantly better, D the higher of the two.
    data = [(3000, 10_000), (2700, 10_000), (3250, 10_000), (3300, 10_000)]
    d = ab.decide("open_rate", _rates(*data))
    pairs = d.family.pairwise
    assert pairs[0].significant and pairs[0].statistic < 0
    assert pairs[1].significant and pairs[2].significant
    assert (d.winner, d.significant) == (3, True)
    assert d.reason == (f"D's open rate 33.0% beats A's 30.0% ({ab._p_text(d.p_values[3], 0.05)}"
                        " < 0.05).")
    assert len(d.p_b_beats_a) == 4 and d.p_b_beats_a[1] < 0.01 < 0.99 < d.p_b_beats_a[3]


def test_without_a_significant_overall_test_the_control_stays():
    # B beats A pairwise after Holm (p ≈ 0.042), but the chi-square over all three does not.
    data = [(40, 433), (188, 1400), (241, 2023)]
    d = ab.decide("click_rate", _rates(*data))
    assert d.family.pairwise[0].significant and d.family.pairwise[0].statistic > 0
    assert not d.family.overall.significant
    assert (d.winner, d.significant) == (0, False)
    assert d.reason == (f"No variant is significantly better (p = {d.overall_p:.2f}): the "
                        "control (A) goes to the rest.")


def _revenue(seed, groups):
    """VariantResults for per-recipient revenue drawn as (recipients, buy rate, mean order)."""
    rng = np.random.default_rng(seed)
    out, raw = [], []
    for n, rate, mean in groups:
        values = np.where(rng.random(n) < rate, np.rint(rng.gamma(2.0, mean / 2, n)), 0)
        values = [int(v) for v in values]
        raw.append(values)
        out.append(VariantResult(n=n, revenue=sum(values), revenue_sq=sum(v * v for v in values)))
    return out, raw


@pytest.mark.parametrize("k", [2, 3, 4])
def test_revenue_per_recipient_winner_by_welch_and_holm(k):
    # A the control, B no different, C more buyers, D fewer; with k = 2, B has more buyers.
    control, same, more, fewer = ((4000, rate, 3_000_000) for rate in (0.05, 0.05, 0.08, 0.02))
    groups = [control, more] if k == 2 else [control, same, more, fewer][:k]
    results, raw = _revenue(5, groups)
    d = ab.decide("revenue_per_recipient", results, money=lambda v: f"IRR {v:,.0f}")
    welch = [sps.ttest_ind(values, raw[0], equal_var=False).pvalue for values in raw[1:]]
    assert d.p_values[1:] == pytest.approx(stats.holm(welch), rel=1e-9)
    assert d.values == pytest.approx([np.mean(values) for values in raw], rel=1e-12)
    winner = 1 if k == 2 else 2
    assert (d.winner, d.significant) == (winner, True)
    assert d.reason.startswith(f"{ab.letter(winner)}'s revenue per recipient "
                               f"IRR {d.values[winner]:,.0f} beats A's IRR {d.values[0]:,.0f}")
    assert d.p_b_beats_a == [None] * k and d.overall_p == (d.p_values[1] if k == 2 else None)
    if k == 4:
        assert d.family.pairwise[2].significant and d.family.pairwise[2].statistic < 0


def test_revenue_not_significant_and_not_enough_data():
    results, _ = _revenue(6, [(3000, 0.05, 3_000_000), (3000, 0.05, 3_100_000)])
    d = ab.decide("revenue_per_recipient", results)
    assert (d.winner, d.significant) == (0, False)
    assert d.reason.startswith("No variant ")
    empty = ab.decide("revenue_per_recipient", [results[0], VariantResult(n=1, revenue=5)])
    assert (empty.winner, empty.significant, empty.family) == (None, False, None)
    assert empty.reason == "Not enough data yet to compare the variants."
    assert ab.decide("open_rate", _rates((5, 100), (0, 0))).winner is None
    with pytest.raises(ValueError):
        ab.decide("conversions", _rates((5, 100), (6, 100)))


def test_p_values_are_written_without_crossing_alpha():
    assert ab._p_text(0.31, 0.05) == "p = 0.31"
    assert ab._p_text(0.004, 0.05) == "p = 0.004"
    assert ab._p_text(0.0002, 0.05) == "p < 0.001"
    assert ab._p_text(0.0496, 0.05) == "p = 0.0496"  # 0.05 would read as not below alpha
    assert ab._p_text(0.0504, 0.05) == "p = 0.05"
