"""Exemplar voting: nearest labelled answers to other questions, blended with the grade."""

from __future__ import annotations

import doctest

import numpy as np

from mockloop.grading import exemplars
from mockloop.grading.exemplars import Blend, ExemplarIndex, fit_blend


def test_docstring_example_holds():
    assert doctest.testmod(exemplars).failed == 0


def test_vote_never_counts_answers_to_the_same_question():
    vecs = np.eye(2, dtype=np.float32)
    index = ExemplarIndex(
        np.vstack([vecs, vecs]), np.array([1.0, 0.0, 0.0, 0.0]), ["q1", "q2", "q3", "q3"]
    )
    probe = np.array([1.0, 0.0], dtype=np.float32)
    assert index.vote(probe, exclude="q3", k=1) == 1.0  # its twin in q3 is ignored
    assert index.vote(probe, exclude="q1", k=1) == 0.0


def test_vote_with_no_similar_exemplar_is_neutral():
    index = ExemplarIndex(np.array([[1.0, 0.0]], dtype=np.float32), np.array([1.0]), ["q1"])
    assert index.vote(np.array([-1.0, 0.0], dtype=np.float32)) == 0.5


def test_fitted_blend_rises_with_both_the_grade_and_the_vote():
    rng = np.random.default_rng(0)
    overall = rng.uniform(0, 5, 400)
    vote = rng.uniform(0, 1, 400)
    label = (overall / 5 + vote + rng.normal(0, 0.3, 400)) > 1.0
    blend = fit_blend(overall, vote, label)
    assert blend.overall > 0 and blend.vote > 0
    assert blend.apply(4.0, 0.9) > blend.apply(4.0, 0.1) and blend.apply(4.0, 0.5) > blend.apply(
        1.0, 0.5
    )
    assert 0 <= Blend(bias=-50).apply(0, 0) <= Blend(bias=50).apply(5, 1) <= 5
