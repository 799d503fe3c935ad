"""Exemplar voting: labelled answers to *other* questions as extra evidence for a grade.

When a user has human-labelled answers (the file they calibrate with, or a dataset's train
split), an answer that reads like answers people marked correct is more likely correct. The
vote is the similarity-weighted share of correct answers among the k nearest labelled
answers, never counting answers to the same question; a logistic blend of the grader's
overall and the vote, fitted on the exemplars themselves (each voted on by the others, leaving
its own question out), gives the final 0–5 score.
Used by `mockloop eval grading --exemplars`; `grade_answer` itself never needs it.

>>> index = ExemplarIndex(np.eye(3, dtype=np.float32), np.array([1.0, 0.0, 1.0]), ["a", "b", "c"])
>>> index.vote(np.array([1.0, 0.2, 0.0], dtype=np.float32), exclude="z", k=2)
0.833333
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

K = 20


@dataclass
class ExemplarIndex:
    """Unit vectors of labelled answers, their binary labels and question keys."""

    vectors: np.ndarray
    labels: np.ndarray
    groups: list[str]

    def vote(self, vec: np.ndarray, exclude: str | None = None, k: int = K) -> float:
        """Similarity-weighted share of correct answers among the k nearest (other questions)."""
        sims = self.vectors @ vec
        if exclude is not None:
            sims = np.where(np.asarray(self.groups) == exclude, -np.inf, sims)
        top = np.argsort(-sims)[:k]
        weights = np.clip(sims[top], 0.0, None)
        weights[~np.isfinite(weights)] = 0.0
        if weights.sum() <= 0:
            return 0.5
        return round(float((weights * self.labels[top]).sum() / weights.sum()), 6)


@dataclass
class Blend:
    """Logistic weights combining the grader's overall (0–5) with the exemplar vote."""

    bias: float = 0.0
    overall: float = 1.0
    vote: float = 0.0

    def apply(self, overall: float, vote: float) -> float:
        z = self.bias + self.overall * overall + self.vote * vote
        return round(5.0 / (1.0 + math.exp(-z)), 3)


def fit_blend(overalls, votes, labels) -> Blend:
    """Fit the blend on exemplars (their own overall, their leave-question-out vote, label)."""
    from sklearn.linear_model import LogisticRegression

    x = np.column_stack([np.asarray(overalls, float), np.asarray(votes, float)])
    clf = LogisticRegression(max_iter=2000).fit(x, np.asarray(labels) > 0)
    return Blend(
        bias=float(clf.intercept_[0]), overall=float(clf.coef_[0][0]), vote=float(clf.coef_[0][1])
    )
