"""Agreement statistics for grading evals, in plain numpy, with bootstrap confidence intervals.

Pearson, Spearman (average ranks for ties), quadratic weighted kappa on the 0–5 scale,
RMSE, within-1 accuracy and ROC-AUC (Mann–Whitney, ties count a half). Undefined values
(a constant input, a single class) are NaN rather than an exception, so an eval table always
prints. Tests compare each against scipy/sklearn.

>>> round(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 3)
0.8
>>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.75
>>> within_one([0, 3, 5], [1.0, 4.5, 4.2])
0.666667
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Array = Sequence[float] | np.ndarray


def _pair(x: Array, y: Array) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"length mismatch: {x.shape} vs {y.shape}")
    return x, y


def pearson(x: Array, y: Array) -> float:
    """Pearson's r; NaN when either side is constant or has fewer than 2 values."""
    x, y = _pair(x, y)
    if len(x) < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc**2).sum() * (yc**2).sum())
    return float((xc * yc).sum() / denom) if denom > 0 else float("nan")


def rankdata(a: Array) -> np.ndarray:
    """Ranks 1..n with ties given their average rank: `[10, 20, 20, 5]` → `[2, 3.5, 3.5, 1]`."""
    a = np.asarray(a, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=float)
    sorted_a = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Array, y: Array) -> float:
    """Spearman's rho: Pearson on average ranks."""
    x, y = _pair(x, y)
    return pearson(rankdata(x), rankdata(y))


def qwk(human: Array, predicted: Array, low: int = 0, high: int = 5) -> float:
    """Quadratic weighted kappa after rounding both sides to integers in [low, high]."""
    h, p = _pair(human, predicted)
    h = np.clip(np.rint(h), low, high).astype(int) - low
    p = np.clip(np.rint(p), low, high).astype(int) - low
    k = high - low + 1
    observed = np.zeros((k, k))
    np.add.at(observed, (h, p), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(1, len(h))
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2
    denom = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denom) if denom > 0 else float("nan")


def rmse(human: Array, predicted: Array) -> float:
    """Root mean squared error."""
    h, p = _pair(human, predicted)
    return float(np.sqrt(np.mean((h - p) ** 2))) if len(h) else float("nan")


def within_one(human: Array, predicted: Array) -> float:
    """Share of predictions within 1 point of the human score (|p − h| ≤ 1)."""
    h, p = _pair(human, predicted)
    return round(float(np.mean(np.abs(h - p) <= 1 + 1e-9)), 6) if len(h) else float("nan")


def roc_auc(labels: Array, scores: Array) -> float:
    """Probability a random positive outscores a random negative (ties count ½)."""
    y, s = _pair(labels, scores)
    pos = y > 0
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


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
