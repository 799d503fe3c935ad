"""Agreement statistics: worked examples, the rounding qwk does, NaN for undefined, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mockloop.evaluation import stats

RNG = np.random.default_rng(7)
HUMAN = RNG.integers(0, 6, 120).astype(float)
PRED = np.clip(HUMAN + RNG.normal(0, 1.2, 120), 0, 5)


def test_worked_examples():
    assert stats.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert stats.spearman([10, 20, 30], [3, 2, 1]) == pytest.approx(-1.0)
    assert stats.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert stats.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts a half
    assert stats.qwk([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]) == pytest.approx(1.0)


def test_qwk_rounds_and_clips_predictions_to_the_scale():
    # 4.6 → 5 and 7 → 5, -1 → 0: the same as predicting the scale points outright.
    assert stats.qwk([0, 2, 5, 5], [-1, 2.2, 4.6, 7]) == pytest.approx(1.0)


def test_rmse_and_within_one_worked_examples():
    assert stats.rmse([0, 5], [1, 3]) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert stats.within_one([0, 3, 5], [1.0, 4.5, 4.2]) == pytest.approx(2 / 3, abs=1e-6)


@pytest.mark.filterwarnings("error")  # undefined is NaN, silently: an eval table must print
def test_undefined_cases_are_nan_not_errors():
    assert math.isnan(stats.pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(stats.spearman([1], [2]))
    assert math.isnan(stats.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(stats.qwk([3, 3, 3], [3, 3, 3]))
    with pytest.raises(ValueError):
        stats.rmse([1, 2], [1])
    with pytest.raises(ValueError):
        stats.pearson([1, 2, 3], [1, 2])


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    lo, hi = stats.bootstrap_ci(stats.spearman, HUMAN, PRED, n=300, seed=1)
    value = stats.spearman(HUMAN, PRED)
    assert lo < value < hi
    assert (lo, hi) == stats.bootstrap_ci(stats.spearman, HUMAN, PRED, n=300, seed=1)
    # more data → narrower interval
    lo_small, hi_small = stats.bootstrap_ci(stats.spearman, HUMAN[:30], PRED[:30], n=300, seed=1)
    assert hi - lo < hi_small - lo_small


def test_bootstrap_skips_resamples_where_the_metric_is_undefined():
    # Three of four rows are one class: some resamples have no positive, and they are left out.
    lo, hi = stats.bootstrap_ci(stats.roc_auc, [0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9], n=200)
    assert lo == hi == 1.0
