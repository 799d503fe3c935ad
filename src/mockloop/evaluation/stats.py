"""Agreement statistics for grading evals, with bootstrap confidence intervals.

Pearson and Spearman come from scipy.stats, quadratic weighted kappa on the 0–5 scale and
ROC-AUC from sklearn.metrics; RMSE and within-1 accuracy are one line of numpy each. Undefined
values (a constant input, a single class, fewer than two rows) are NaN rather than an exception
or a warning, so an eval table always prints, bootstrap resamples included.

>>> round(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 3)
0.8
>>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.75
>>> within_one([0, 3, 5], [1.0, 4.5, 4.2])
0.666667
>>> pearson([1, 1, 1], [1, 2, 3])
nan
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps
from sklearn import metrics

Array = Sequence[float] | np.ndarray


def _pair(x: Array, y: Array) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"length mismatch: {x.shape} vs {y.shape}")
    return x, y


def _nan_if_undefined(metric: Callable[..., float]):
    """Check the lengths, then turn the library's undefined cases into NaN: fewer than two rows,
    a ValueError (one class for ROC-AUC) or a warning (scipy's constant input, a zero division)."""

    @functools.wraps(metric)
    def wrapped(x: Array, y: Array, *args) -> float:
        x, y = _pair(x, y)
        if len(x) < 2:
            return float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return float(metric(x, y, *args))
            except (ValueError, Warning):
                return float("nan")

    return wrapped


@_nan_if_undefined
def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r; NaN when either side is constant or has fewer than 2 values."""
    return sps.pearsonr(x, y).statistic


@_nan_if_undefined
def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties)."""
    return sps.spearmanr(x, y).statistic


@_nan_if_undefined
def qwk(h: np.ndarray, p: np.ndarray, low: int = 0, high: int = 5) -> float:
    """Quadratic weighted kappa after rounding both sides to integers in [low, high]."""
    return metrics.cohen_kappa_score(
        np.clip(np.rint(h), low, high).astype(int),
        np.clip(np.rint(p), low, high).astype(int),
        labels=list(range(low, high + 1)),
        weights="quadratic",
    )


def rmse(human: Array, predicted: Array) -> float:
    """Root mean squared error."""
    h, p = _pair(human, predicted)
    return float(np.sqrt(np.mean((h - p) ** 2))) if len(h) else float("nan")


def within_one(human: Array, predicted: Array) -> float:
    """Share of predictions within 1 point of the human score (|p − h| ≤ 1)."""
    h, p = _pair(human, predicted)
    return round(float(np.mean(np.abs(h - p) <= 1 + 1e-9)), 6) if len(h) else float("nan")


@_nan_if_undefined
def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability a random positive (label > 0) outscores a random negative (ties count ½)."""
    return metrics.roc_auc_score(labels > 0, scores)


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    x: Array,
    y: Array,
    *,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of metric(x, y) over rows resampled with replacement."""
    x, y = _pair(x, y)
    if len(x) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(x), len(x))
        v = metric(x[idx], y[idx])
        if not np.isnan(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "pearson": pearson,
    "spearman": spearman,
    "qwk": qwk,
    "rmse": rmse,
    "within_1": within_one,
}
