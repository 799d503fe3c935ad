"""The grader's arithmetic, step by step, on worked examples."""

from __future__ import annotations

import doctest

import pytest

from mockloop.grading import scoring
from mockloop.grading.match import Fitted


def test_docstring_worked_examples_hold():
    result = doctest.testmod(scoring)
    assert result.attempted >= 6 and result.failed == 0


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
        (1.44, "strong no hire"),
        (1.49, "no hire"),  # shown as 1.5
        (1.5, "no hire"),
        (2.44, "no hire"),
        (2.5, "lean hire"),
        (3.24, "lean hire"),
        (3.25, "lean hire"),  # shown as 3.2: the band is read on the score as every view shows it
        (3.26, "hire"),  # shown as 3.3
        (4.24, "hire"),
        (4.26, "strong hire"),
        (5.0, "strong hire"),
    ],
)
def test_hire_signal_bands(overall, signal):
    assert scoring.hire_signal(overall) == signal


def test_blend_mixes_semantic_score_with_signal():
    assert scoring.blend(0.4, 1.0, 0.5) == 0.7
    assert scoring.blend(0.9, 0.0, 0.5) == 0.45


def test_hire_signal_agrees_with_the_score_as_shown():
    # every score that prints as the same one-decimal number gets the same signal
    for hundredths in range(0, 501):
        overall = hundredths / 100
        shown = float(f"{overall:.1f}")
        assert scoring.hire_signal(overall) == scoring.hire_signal(shown)


def test_score_map_is_a_logistic_of_three_readings():
    coefficients = (-10.0, 8.0, 4.0, 2.0)  # bias, whole, points, coverage
    assert scoring.score_from((1.25, 0.0, 0.0), coefficients) == 2.5  # z = 0 → the middle
    assert 4.9 < scoring.score_from((1.0, 1.0, 1.0), coefficients) < 5.0
    assert scoring.score_from((0.0, 0.0, 0.0), coefficients) < 0.01
    # non-negative weights: more agreement on any reading never lowers the score
    low = scoring.score_from((0.8, 0.7, 0.2), coefficients)
    assert scoring.score_from((0.8, 0.7, 0.6), coefficients) > low


def test_a_linear_score_map_is_the_weighted_sum_clipped_to_the_scale():
    coefficients = (-2.0, 3.0, 0.0, 0.5)  # bias, whole, points, coverage
    assert scoring.score_from((0.8, 0.0, 0.4), coefficients, linear=True) == 3.0  # 5 × 0.6
    assert scoring.score_from((1.0, 1.0, 1.0), coefficients, linear=True) == 5.0  # 1.5 → 1
    assert scoring.score_from((0.5, 0.0, 0.0), coefficients, linear=True) == 0.0  # −0.5 → 0
    # the same coefficients as a logistic give another number: the form is the mode's choice
    assert scoring.score_from((0.8, 0.0, 0.4), coefficients) != 3.0


def test_red_flags_and_keyword_lists_cut_the_overall():
    assert scoring.penalised(4.0, red_flags=0, keyword_list=False) == 4.0
    assert scoring.penalised(4.0, red_flags=1, keyword_list=False) == 2.4
    assert scoring.penalised(4.0, red_flags=5, keyword_list=False) == 1.44  # at most two count
    assert scoring.penalised(4.0, red_flags=0, keyword_list=True) == 2.0


def test_the_shipped_score_map_keeps_every_weight_non_negative():
    fitted = Fitted()
    from mockloop.grading.match import WEIGHTS, read_fitted

    fitted = read_fitted(WEIGHTS)
    for mode in ("rubric", "rubric_noref", "reference"):
        assert all(w >= 0 for w in fitted.coefficients(mode)[1:]), mode
    assert fitted.linear == ("reference",)  # reference mode is a line, the rubric modes logistic
