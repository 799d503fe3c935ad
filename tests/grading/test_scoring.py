"""The grader's arithmetic, step by step, on worked examples."""

from __future__ import annotations

import doctest

import pytest

from mockloop.grading import scoring
from mockloop.grading.scoring import MatchFeatures


def test_docstring_worked_examples_hold():
    result = doctest.testmod(scoring)
    assert result.attempted >= 6 and result.failed == 0


@pytest.mark.parametrize(
    ("probability", "coverage"),
    [(0.0, 0.0), (0.225, 0.05), (0.45, 0.1), (0.65, 0.55), (0.85, 1.0), (0.99, 1.0), (1.7, 1.0)],
)
def test_point_coverage_has_a_weak_piece_and_a_strong_piece(probability, coverage):
    assert scoring.point_coverage(probability) == pytest.approx(coverage)


def test_point_coverage_is_strictly_increasing_below_full():
    grid = [scoring.point_coverage(p / 100) for p in range(0, 86)]
    assert all(a < b for a, b in zip(grid, grid[1:], strict=False))


def test_criterion_score_weights_points_and_penalises_red_flags():
    # (1×1 + 0×3) / 4 = 0.25, then 0.25 × 0.6 × 0.6 for two red flags
    assert scoring.criterion_score([1.0, 0.0], weights=[1, 3]) == 0.25
    assert scoring.criterion_score([1.0, 0.0], weights=[1, 3], red_flags_hit=2) == pytest.approx(
        0.09
    )
    assert scoring.criterion_score([]) == 0.0


def test_overall_is_five_times_weighted_mean_times_quality():
    criteria = [(1.0, 2.0), (0.4, 1.0), (0.0, 1.0)]  # (2 + 0.4 + 0) / 4 = 0.6 → 3.0
    assert scoring.overall_score(criteria) == 3.0
    assert scoring.overall_score(criteria, quality=0.5) == 1.5
    assert scoring.overall_score([(1.0, 1.0)], quality=7) == 5.0  # clipped
    assert scoring.overall_score([]) == 0.0


@pytest.mark.parametrize(
    ("overall", "signal"),
    [
        (0.0, "strong no hire"),
        (1.49, "strong no hire"),
        (1.5, "no hire"),
        (2.49, "no hire"),
        (2.5, "lean hire"),
        (3.25, "hire"),
        (4.24, "hire"),
        (4.25, "strong hire"),
        (5.0, "strong hire"),
    ],
)
def test_hire_signal_bands(overall, signal):
    assert scoring.hire_signal(overall) == signal


def test_blend_mixes_semantic_score_with_signal():
    assert scoring.blend(0.4, 1.0, 0.5) == 0.7
    assert scoring.blend(0.9, 0.0, 0.5) == 0.45


def test_match_probability_rises_with_evidence_and_falls_with_point_length():
    weak = MatchFeatures(cosine=0.2, recall=0.0, point_len=2.0, span_len=2.0)
    strong = MatchFeatures(
        cosine=0.8, recall=1.0, novel_recall=1.0, bigram_recall=1.0, point_len=2.0, span_len=2.0
    )
    assert scoring.match_probability(strong) > 0.8 > 0.4 > scoring.match_probability(weak)
    longer_point = MatchFeatures(
        cosine=0.8, recall=1.0, novel_recall=1.0, bigram_recall=1.0, point_len=3.0, span_len=2.0
    )
    assert scoring.match_probability(longer_point) < scoring.match_probability(strong)
