"""Agreement statistics against scipy/sklearn on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from mockloop.evaluation import stats

RNG = np.random.default_rng(7)
HUMAN = RNG.integers(0, 6, 120).astype(float)
PRED = np.clip(HUMAN + RNG.normal(0, 1.2, 120), 0, 5)
TIED = np.round(PRED)  # many ties
CASES = {
    "continuous": (HUMAN, PRED),
    "tied": (HUMAN, TIED),
    "tiny": ([0, 1, 1, 3], [0.5, 0.5, 2, 2]),
}


@pytest.mark.parametrize("case", CASES)
def test_pearson_and_spearman_match_scipy(case):
    h, p = CASES[case]
    assert stats.pearson(h, p) == pytest.approx(sps.pearsonr(h, p)[0], abs=1e-9)
    assert stats.spearman(h, p) == pytest.approx(sps.spearmanr(h, p)[0], abs=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_qwk_matches_sklearn_on_rounded_scores(case):
    h, p = CASES[case]
    expected = cohen_kappa_score(
        np.rint(h).astype(int),
        np.clip(np.rint(p), 0, 5).astype(int),
        weights="quadratic",
        labels=list(range(6)),
    )
    assert stats.qwk(h, p) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_roc_auc_matches_sklearn_with_ties(case):
    h, p = CASES[case]
    labels = (np.asarray(h) >= 3).astype(int)
    assert stats.roc_auc(labels, p) == pytest.approx(roc_auc_score(labels, p), abs=1e-12)


def test_rmse_and_within_one_worked_examples():
    assert stats.rmse([0, 5], [1, 3]) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert stats.within_one([0, 3, 5], [1.0, 4.5, 4.2]) == pytest.approx(2 / 3, abs=1e-6)


def test_rankdata_matches_scipy():
    a = [10, 20, 20, 5, 20, 1]
    assert stats.rankdata(a).tolist() == sps.rankdata(a).tolist()


def test_undefined_cases_are_nan_not_errors():
    assert math.isnan(stats.pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(stats.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(stats.spearman([1], [2]))
    with pytest.raises(ValueError):
        stats.rmse([1, 2], [1])


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    lo, hi = stats.bootstrap_ci(stats.spearman, HUMAN, PRED, n=300, seed=1)
    value = stats.spearman(HUMAN, PRED)
    assert lo < value < hi
    assert (lo, hi) == stats.bootstrap_ci(stats.spearman, HUMAN, PRED, n=300, seed=1)
    # more data → narrower interval
    lo_small, hi_small = stats.bootstrap_ci(stats.spearman, HUMAN[:30], PRED[:30], n=300, seed=1)
    assert hi - lo < hi_small - lo_small
