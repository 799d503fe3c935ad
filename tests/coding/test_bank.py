"""The problem bank: enough problems of each kind, the required ids and signatures, and every
reference solution passing every one of its own tests in the real runner."""

from __future__ import annotations

import re

import pytest

from mockloop.coding import load_problem_bank, run_tests
from mockloop.coding.bank import SPOKEN, clarify, coding_questions
from mockloop.models import Rubric

BANK = load_problem_bank()
SLUG = re.compile(r"coding\.[a-z0-9]+(?:-[a-z0-9]+)*")

REQUIRED = {
    "coding.stable-softmax": "softmax(x: np.ndarray, axis: int = -1) -> np.ndarray",
    "coding.roc-auc": "roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float",
    "coding.merge-intervals": "merge(intervals: list[list[int]]) -> list[list[int]]",
}
ML_TOPICS = [
    "softmax", "log-softmax", "cross-entropy", "roc-auc", "precision-at-k", "ndcg", "kmeans",
    "logistic-regression", "attention", "layer-norm", "sampling", "beam-search", "bm25", "nms",
    "reservoir-sampling", "stratified-split", "convolution",
]  # fmt: skip


def test_bank_has_enough_problems_of_each_kind():
    kinds = [p.kind for p in BANK]
    assert len(BANK) >= 30
    assert kinds.count("ml") >= 15 and kinds.count("algorithm") >= 15


def test_every_ml_topic_the_issue_lists_is_covered():
    tags = {t for p in BANK if p.kind == "ml" for t in p.tags}
    assert not [t for t in ML_TOPICS if t not in tags]


@pytest.mark.parametrize("problem_id, signature", REQUIRED.items())
def test_required_ids_and_signatures_exist(problem_id, signature):
    p = BANK.get(problem_id)
    assert p is not None and p.signature == signature
    assert f"def {signature}" in p.starter


@pytest.mark.parametrize("p", BANK.problems, ids=lambda p: p.id)
def test_every_problem_is_complete(p):
    assert SLUG.fullmatch(p.id), p.id
    assert p.examples and len(p.tests) >= 4
    assert any(t.large and t.time_s for t in p.tests), "needs a large test with a time budget"
    assert all(t.summary for t in p.tests if t.large), "large hidden inputs need a summary"
    assert len(p.hints) >= 3 and len(p.follow_ups) >= 3 and len(p.clarifications) >= 2
    assert p.complexity and p.reference.strip()
    assert set(p.spoken) == set(SPOKEN), (
        "the spoken rubric covers approach, complexity, edge cases, testing"
    )
    rubric = p.rubric
    assert isinstance(rubric, Rubric) and all(c.key_points for c in rubric.criteria)
    q = p.question()
    assert q.id == p.id and q.round == "coding" and q.rubric == rubric


def test_problems_become_questions_for_plans_and_progress():
    qs = coding_questions()
    assert len(qs) == len(BANK) and {q.round for q in qs} == {"coding"}


def test_clarifying_questions_are_answered_from_the_notes():
    p = BANK.get("coding.merge-intervals")
    assert "any order" in clarify(p, "Is the input already sorted?")
    assert "overlap" in clarify(p, "Do touching intervals merge, like [1,2] and [2,3]?")
    assert "your call" in clarify(p, "What colour is the sky?")


@pytest.mark.slow
@pytest.mark.parametrize("p", BANK.problems, ids=lambda p: p.id)
def test_every_reference_passes_its_tests(p):
    report = run_tests(p, p.reference)
    assert report.all_passed, report.text()
    assert report.total == len(p.examples) + len(p.tests)
