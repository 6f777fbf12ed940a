"""RFM scoring by quantiles and the segment rule table."""

import itertools

import numpy as np
import pytest

from peyvand.insights import rfm
from peyvand.insights.models import Segment


def test_every_one_of_the_125_cells_is_in_exactly_one_segment():
    seen = {}
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        matches = rfm.segment_matches(r, f, m)
        assert len(matches) == 1, (r, f, m, matches)
        seen[(r, f, m)] = matches[0]
    assert len(seen) == 125
    assert set(seen.values()) == set(Segment.values)  # every segment is reachable


@pytest.mark.parametrize("r, f, segment", [
    (1, 1, "hibernating"), (2, 2, "hibernating"), (1, 3, "at_risk"), (2, 4, "at_risk"),
    (2, 5, "cant_lose"), (3, 2, "about_to_sleep"), (3, 3, "need_attention"), (3, 4, "loyal"),
    (4, 5, "loyal"), (4, 1, "promising"), (5, 1, "new"), (4, 2, "potential_loyalist"),
    (5, 3, "potential_loyalist"), (5, 4, "champions"), (5, 5, "champions"),
])
def test_grid_follows_the_recency_frequency_table(r, f, segment):
    for m in range(1, 6):
        assert rfm.segment_matches(r, f, m) == [segment]
    assert rfm.segments(np.array([r]), np.array([f]), 5)[0] == segment


def test_distinct_values_split_into_equal_quintiles():
    values = np.arange(100)
    scores = rfm.scores(values, rfm.edges(values, 5))
    assert [int((scores == s).sum()) for s in range(1, 6)] == [20] * 5
    assert scores[0] == 1 and scores[-1] == 5
    assert np.all(np.diff(scores) >= 0)  # higher value, never a lower score


def test_ties_share_a_score_and_mass_of_ties_lands_low():
    # Most customers bought once: they all get F1, not a random spread over F1-F4.
    days = np.array([1] * 70 + [2] * 15 + [3] * 10 + [8] * 5)
    scores = rfm.scores(days, rfm.edges(days, 5))
    for value in (1, 2, 3, 8):
        assert len(set(scores[days == value])) == 1
    assert scores[days == 1][0] == 1
    assert scores[days == 8][0] == 5


def test_number_of_bins_is_configurable_and_read_as_quintiles_for_segments():
    values = np.arange(30)
    scores = rfm.scores(values, rfm.edges(values, 3))
    assert sorted(set(scores.tolist())) == [1, 2, 3]
    assert list(rfm.to_five(np.array([0, 1, 2, 3]), 3)) == [0, 1, 2, 4]
    assert list(rfm.to_five(np.array([1, 10]), 10)) == [1, 5]
    assert rfm.segments(np.array([3]), np.array([3]), 3)[0] == Segment.LOYAL  # R4 F4 on five


def test_a_new_value_is_scored_by_the_stored_edges():
    edges = rfm.edges(np.arange(100), 5)
    assert list(rfm.scores(np.array([-5, 19, 20, 500]), edges)) == [1, 1, 2, 5]
