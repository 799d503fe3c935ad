"""The grader's arithmetic: match probabilities → criterion score → overall 0–5 → hire signal.

Pure functions on numbers, no model calls, so every step has a worked example:

>>> criterion_score([1.0, 0.5, 0.0])           # mean coverage of the criterion's key points
0.5
>>> criterion_score([1.0, 0.5, 0.0], red_flags_hit=1)   # each red flag multiplies by 0.6
0.3
>>> weighted_mean([(0.5, 3.0), (1.0, 1.0)])     # (1.5 + 1) / 4
0.625
>>> score_from((0.9, 0.8, 0.5), (-10.0, 8.0, 4.0, 2.0))  # 5 × sigmoid(−10 + 7.2 + 3.2 + 1)
4.011
>>> score_from((0.9, 0.8, 0.5), (-2.0, 3.0, 0.0, 0.4), linear=True)  # 5 × (−2 + 2.7 + 0.2)
4.5
>>> penalised(4.0, red_flags=1, keyword_list=False)      # one red flag: × 0.6
2.4
>>> hire_signal(3.249), hire_signal(3.26)       # banded on the score as shown (one decimal)
('lean hire', 'hire')

Leaves out: how probabilities are measured (offline.py, match.py) and a user's own calibration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mockloop.models import HireSignal

# Upper bounds (exclusive) of each hire signal band on the 0–5 overall scale.
HIRE_BANDS: tuple[tuple[float, HireSignal], ...] = (
    (1.5, "strong no hire"),
    (2.5, "no hire"),
    (3.25, "lean hire"),
    (4.25, "hire"),
)
RED_FLAG_FACTOR = 0.6  # a criterion's score (and the overall) is multiplied by this per red flag
KEYWORD_LIST_FACTOR = 0.5  # a bare list of terms states no claim: half credit at most
STORY_ROUNDS = ("behavioral", "deep-dive")  # graded on a story, not on claims of fact
COVERED = 0.5  # a key point counts as covered (quoted as evidence) at this probability or above
FLAG_P = 0.7  # a red flag is raised only when a span states it at least this surely


def criterion_score(
    coverages: Sequence[float],
    weights: Sequence[float] | None = None,
    red_flags_hit: int = 0,
) -> float:
    """Weighted mean coverage of a criterion's key points, times 0.6 per red flag hit."""
    if not coverages:
        return 0.0
    weights = weights or [1.0] * len(coverages)
    mean = sum(c * w for c, w in zip(coverages, weights, strict=True)) / sum(weights)
    return round(max(0.0, min(1.0, mean * RED_FLAG_FACTOR**red_flags_hit)), 6)


def blend(semantic: float, signal: float, weight: float) -> float:
    """Mix a criterion's semantic score with a surface signal: `blend(0.4, 1.0, 0.5)` → 0.7."""
    return round(max(0.0, min(1.0, (1 - weight) * semantic + weight * signal)), 6)


def weighted_mean(criteria: Sequence[tuple[float, float]]) -> float:
    """The weighted mean of (score, weight) pairs; 0 when there are none."""
    total = sum(w for _, w in criteria)
    if total <= 0:
        return 0.0
    return round(sum(s * w for s, w in criteria) / total, 6)


def score_from(
    readings: Sequence[float], coefficients: Sequence[float], *, linear: bool = False
) -> float:
    """0–5 on the humans' scale from (whole, points, coverage) and a mode's fitted coefficients
    (bias, whole, points, coverage): 5 × the logistic of the weighted sum, or with `linear`
    5 × the weighted sum itself, clipped to 0–1."""
    bias, *weights = coefficients
    z = bias + sum(w * x for w, x in zip(weights, readings, strict=True))
    if linear:
        return round(5.0 * max(0.0, min(1.0, z)), 3)
    return round(5.0 / (1.0 + math.exp(-z)), 3)


def penalised(overall: float, red_flags: int, keyword_list: bool) -> float:
    """The overall after what the score map cannot see: each red flag the answer asserts (at
    most two count) multiplies it by 0.6, and a bare list of terms halves it."""
    factor = RED_FLAG_FACTOR ** min(red_flags, 2) * (KEYWORD_LIST_FACTOR if keyword_list else 1.0)
    return round(overall * factor, 3)


def hire_signal(overall: float) -> HireSignal:
    """The hire signal band of an overall 0–5 score, read at one decimal as every view shows it
    (so a shown 3.2 is always "lean hire", never "hire" in one place and "lean hire" in another)."""
    shown = round(overall, 1)
    for upper, signal in HIRE_BANDS:
        if shown < upper:
            return signal
    return "strong hire"


def overall_score(criteria: Sequence[tuple[float, float]], quality: float = 1.0) -> float:
    """5 × the weighted mean of (score, weight) pairs: an LLM judge's criteria on the 0–5 scale."""
    return round(max(0.0, min(5.0, 5.0 * weighted_mean(criteria) * quality)), 3)
