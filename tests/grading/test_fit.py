"""The refit recipe behind the shipped match weights runs end to end (on a tiny table)."""

from __future__ import annotations

import csv
import math

import numpy as np

from mockloop.evaluation.grading import fit_match_model
from mockloop.grading.scoring import FEATURES

QUESTIONS = [
    (
        "What does dropout do at training time?",
        "It zeroes random units so the network cannot rely on any one of them.",
        ["It randomly drops units so no single unit is relied on.", "Random neurons are zeroed."],
        ["It speeds up inference.", "It lowers the learning rate."],
    ),
    (
        "Why does a larger batch give smoother gradients?",
        "Averaging over more examples lowers the variance of the gradient estimate.",
        ["More samples averaged means less gradient variance.", "The estimate's variance drops."],
        ["Because the learning rate goes up.", "Larger batches add noise to the gradient."],
    ),
    (
        "What does early stopping watch?",
        "The validation loss, stopping when it has not improved for a while.",
        ["It tracks validation loss and stops once it stalls.", "Validation loss plateauing."],
        ["The training loss reaching zero.", "The number of parameters."],
    ),
    (
        "What does L1 regularisation do to weights?",
        "It drives some weights exactly to zero, which selects features.",
        ["Some weights become exactly zero, so it does feature selection.", "Sparse weights."],
        ["It shrinks all weights evenly but never to zero.", "It makes weights larger."],
    ),
]


def test_fit_match_model_on_a_small_table(tmp_path):
    path = tmp_path / "train.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "reference", "answer", "label"])
        for q, ref, good, bad in QUESTIONS:
            w.writerows([q, ref, a, "correct"] for a in good)
            w.writerows([q, ref, a, "incorrect"] for a in bad)
    match, aligner, n, cv = fit_match_model(
        path,
        folds=2,
        with_bank=False,
        members=2,
        mapping={"label": "score"},
        labels={"correct": 1, "incorrect": 0},
    )
    assert n == 16
    assert all(math.isfinite(getattr(match, k)) for k in ("bias", *FEATURES))
    assert 0.0 <= cv["table"] <= 1.0 and "bank" not in cv
    assert aligner.members == 2
    tokens = aligner.project(np.ones((3, aligner.proj_w.shape[1]), np.float32))
    assert 0.0 < float(aligner.probability(tokens, [tokens])[0]) < 1.0
    aligner.save(tmp_path / "align.npz")
    assert (tmp_path / "align.npz").stat().st_size > 0
