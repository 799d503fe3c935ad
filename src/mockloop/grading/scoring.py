"""The grader's arithmetic: match → point coverage → criterion score → overall 0–5 → hire signal.

Pure functions on numbers, no model calls, so every step has a worked example:

>>> f = MatchFeatures(cosine=0.8, recall=1.0, novel_recall=1.0, bigram_recall=1.0,
...                   point_len=2.0, span_len=2.0)
>>> round(match_probability(f), 2)              # logistic over the weighted features
0.85
>>> point_coverage(0.87)                        # ≥ 0.85 counts as fully covered
1.0
>>> point_coverage(0.65)                        # 0.45 (→ 0.1) to 0.85 (→ 1), linear
0.55
>>> point_coverage(0.3)                         # below 0.45: weak, at most 0.1
0.066667
>>> criterion_score([1.0, 0.5, 0.0])           # mean coverage of the criterion's key points
0.5
>>> criterion_score([1.0, 0.5, 0.0], red_flags_hit=1)   # each red flag multiplies by 0.6
0.3
>>> overall_score([(0.5, 3.0), (1.0, 1.0)])     # 5 × weighted mean: 5 × (1.5 + 1) / 4
3.125
>>> hire_signal(3.125)
'lean hire'

Leaves out: how features are measured (offline.py) and calibration to a user's scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mockloop.models import HireSignal

# Upper bounds (exclusive) of each hire signal band on the 0–5 overall scale.
HIRE_BANDS: tuple[tuple[float, HireSignal], ...] = (
    (1.5, "strong no hire"),
    (2.5, "no hire"),
    (3.25, "lean hire"),
    (4.25, "hire"),
)
RED_FLAG_FACTOR = 0.6  # a criterion's score is multiplied by this for each red flag it hit
STORY_ROUNDS = ("behavioral", "deep-dive")  # graded on a story, not on claims of fact
COVERED = 0.5  # a key point counts as covered (with evidence) at this coverage or above


@dataclass(frozen=True)
class MatchFeatures:
    """How well one answer span matches one key point (see offline.match_features)."""

    cosine: float  # embedding cosine, span vs point
    prompt_cosine: float = 0.0  # embedding cosine, span vs the question's prompt
    recall: float = 0.0  # share of the point's content words present in the span (stemmed)
    precision: float = 0.0  # share of the span's content words that are in the point
    novel_recall: float = 0.0  # recall over the point's words that the prompt did not give away
    bigram_recall: float = 0.0  # share of the point's content-word bigrams present in the span
    negation_mismatch: float = 0.0  # 1 when exactly one of span and point is negated
    antonym: float = 0.0  # 1 when the span uses an antonym of a word in the point
    span_len: float = 0.0  # log(1 + words in the span, counted up to 30)
    point_len: float = 0.0  # log(1 + words in the point)
    extra: float = 0.0  # share of the span's content words in neither the prompt nor the point
    align: float = 0.0  # the align model's probability that the span states the point (align.py)


FEATURES: tuple[str, ...] = tuple(MatchFeatures.__dataclass_fields__)


@dataclass(frozen=True)
class MatchModel:
    """Logistic weights over MatchFeatures.

    Fitted on the SemEval-2013 Beetle *train* split (reference answer = one key point, label
    correct vs not) plus the bank's own point/span pairs, stacked on out-of-fold align
    probabilities, with `mockloop eval grading --fit-match-model`; see evals/README.md.
    """

    bias: float = 0.613
    cosine: float = 0.006
    prompt_cosine: float = 0.921
    recall: float = 0.962
    precision: float = 0.044
    novel_recall: float = 0.815
    bigram_recall: float = 2.217
    negation_mismatch: float = 0.415
    antonym: float = 0.451
    span_len: float = -0.141
    point_len: float = -1.311
    extra: float = -0.639
    align: float = 3.46


DEFAULT_MATCH = MatchModel()
# Story rounds (behavioral, deep dive) match descriptive points ("states the outcome with a
# number") against a candidate's story: not a claim the align model was fitted to judge. They
# keep the weights fitted before it (Beetle train alone, no align feature).
STORY_MATCH = MatchModel(
    bias=0.215,
    cosine=1.946,
    prompt_cosine=-0.262,
    recall=0.495,
    precision=0.503,
    novel_recall=0.276,
    bigram_recall=1.184,
    negation_mismatch=0.294,
    antonym=0.074,
    span_len=0.878,
    point_len=-1.806,
    extra=0.242,
    align=0.0,
)


def match_probability(f: MatchFeatures, model: MatchModel = DEFAULT_MATCH) -> float:
    """Probability that the span states the point: a logistic over the features."""
    z = model.bias + sum(getattr(model, name) * getattr(f, name) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-z))


def point_coverage(
    probability: float, floor: float = 0.45, full: float = 0.85, residual: float = 0.1
) -> float:
    """Coverage 0–1 from a match probability, in two linear pieces.

    Below `floor` a match is weak: it earns at most `residual` (so unrelated text stays near 0
    yet still ranks above nothing); from `floor` to `full` coverage climbs from `residual` to 1.
    `point_coverage(0.225)` → 0.05; `point_coverage(0.65)` → 0.55; `point_coverage(0.9)` → 1.0.
    """
    p = max(0.0, min(1.0, probability))
    if p >= full:
        return 1.0
    if p <= floor:
        return round(residual * p / floor, 6)
    return round(residual + (1 - residual) * (p - floor) / (full - floor), 6)


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


def overall_score(criteria: Sequence[tuple[float, float]], quality: float = 1.0) -> float:
    """5 × the weighted mean of (score, weight) pairs, times an answer-quality factor 0–1."""
    total = sum(w for _, w in criteria)
    if total <= 0:
        return 0.0
    mean = sum(s * w for s, w in criteria) / total
    return round(max(0.0, min(5.0, 5.0 * mean * max(0.0, min(1.0, quality)))), 3)


def hire_signal(overall: float) -> HireSignal:
    """The hire signal band an overall 0–5 score falls in (see HIRE_BANDS)."""
    for upper, signal in HIRE_BANDS:
        if overall < upper:
            return signal
    return "strong hire"
