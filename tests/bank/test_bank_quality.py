"""The bank's quality bars, as a user practising for a week meets them: every rubric is complete
enough to grade and to follow up on, no question comes back under a reworded prompt, and the
breadth round covers the classic topics a real loop asks about (issue 14).

The rubric check is a plain function so it is also shown failing on broken questions.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from mockloop.bank import load_bank
from mockloop.models import Criterion, Question, Rubric

# Prompts whose bundled-encoder (all-MiniLM-L6-v2) cosine exceeds this are one question asked
# twice. Measured on the bank when this test was written (217 questions): the highest pairs are
# legitimate neighbours on one topic that ask different things — dropout-scaling / dropout-why
# 0.78, curve-underfitting / val-below-train 0.77, two behavioral feedback prompts 0.73 — and
# no other pair reaches 0.75. Close rewordings of a bank prompt score 0.93-0.99 against it
# (see the paraphrases below). 0.9 sits between the two with room on each side, so new
# questions on a covered topic pass while a reworded copy does not.
NEAR_DUPLICATE = 0.9

# Rewordings of bank prompts that the check must catch (each scored 0.93-0.95 when measured).
PARAPHRASES = {
    "breadth.dropout-scaling": (
        "Explain how dropout behaves in training versus at inference. What is inverted dropout?"
    ),
    "breadth.choosing-k": (
        "When clustering customers with k-means, how would you pick k, and how would you assess "
        "cluster quality without labels?"
    ),
}

MIN_BREADTH = 110
# Issue 14: topics a real breadth loop covers that the bank lacked; each needs at least three.
REQUIRED_BREADTH_TOPICS = [
    "pca", "clustering", "knn", "naive-bayes", "statistics", "ab-testing", "cnn",
    "generative-models", "trees-ensembles",
]  # fmt: skip
MIN_PER_TOPIC = 3


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_bank().questions


def rubric_problems(q: Question) -> list[str]:
    """What keeps a question from being graded and followed up on; empty when it is complete."""
    problems = []
    if not q.reference_answer.strip():
        problems.append(f"{q.id}: empty reference answer")
    if not [f for f in q.follow_ups if f.strip()]:
        problems.append(f"{q.id}: no follow-ups")
    if q.rubric is None:
        return [*problems, f"{q.id}: no rubric"]
    if not str(q.rubric.version).strip():
        problems.append(f"{q.id}: rubric without a version")
    if not q.rubric.criteria:
        problems.append(f"{q.id}: rubric without criteria")
    ids = Counter(c.id for c in q.rubric.criteria)
    problems += [f"{q.id}: criterion id {i!r} used {n} times" for i, n in ids.items() if n > 1]
    for c in q.rubric.criteria:
        if not c.weight > 0:
            problems.append(f"{q.id}/{c.id}: weight {c.weight} is not positive")
        if not [p for p in c.key_points if p.strip()]:
            problems.append(f"{q.id}/{c.id}: no key points")
    points = Counter(p.strip().lower() for c in q.rubric.criteria for p in c.key_points)
    problems += [f"{q.id}: key point listed twice: {p!r}" for p, n in points.items() if n > 1]
    return problems


def test_every_rubric_in_every_round_is_complete(questions):
    problems = [p for q in questions for p in rubric_problems(q)]
    assert not problems, "\n".join(problems)


def _question(**changes) -> Question:
    good = Question(
        id="breadth.sample",
        round="breadth",
        topic="pca",
        prompt="Why standardize before PCA?",
        follow_ups=["When would you not?"],
        reference_answer="PCA maximizes variance, so units decide the components.",
        rubric=Rubric(
            version="1",
            criteria=[Criterion(id="reason", description="Why", key_points=["Units dominate"])],
        ),
    )
    # model_construct skips validation, so shapes the loader would refuse can still be checked
    return Question.model_construct(**{**good.__dict__, **changes})


def _criterion(**changes) -> Criterion:
    base = dict(id="reason", description="Why", weight=1.0, key_points=["A"], red_flags=[])
    return Criterion.model_construct(**{**base, **changes})


@pytest.mark.parametrize(
    "changes, complaint",
    [
        ({"reference_answer": "  "}, "empty reference answer"),
        ({"follow_ups": []}, "no follow-ups"),
        ({"rubric": None}, "no rubric"),
        ({"rubric": Rubric.model_construct(version="", criteria=[_criterion()])}, "version"),
        ({"rubric": Rubric.model_construct(version="1", criteria=[])}, "without criteria"),
        (
            {"rubric": Rubric.model_construct(version="1", criteria=[_criterion(weight=0.0)])},
            "not positive",
        ),
        (
            {"rubric": Rubric.model_construct(version="1", criteria=[_criterion(key_points=[])])},
            "no key points",
        ),
        (
            {"rubric": Rubric.model_construct(version="1", criteria=[_criterion()] * 2)},
            "used 2 times",
        ),
    ],
)
def test_the_rubric_check_names_each_defect(changes, complaint):
    assert rubric_problems(_question()) == []
    problems = rubric_problems(_question(**changes))
    assert any(complaint in p for p in problems), problems


def near_duplicates(prompts: dict[str, str], threshold: float = NEAR_DUPLICATE):
    """Pairs of ids whose prompts' cosine similarity exceeds threshold, most similar first."""
    from mockloop.embeddings import encode

    ids = list(prompts)
    vectors = encode([prompts[i] for i in ids])  # unit-normalised, so the dot is the cosine
    sims = vectors @ vectors.T
    rows, cols = np.triu_indices(len(ids), k=1)
    hits = [(float(sims[r, c]), ids[r], ids[c]) for r, c in zip(rows, cols, strict=True)]
    return sorted((h for h in hits if h[0] > threshold), reverse=True)


@pytest.fixture(scope="module")
def prompts(questions) -> dict[str, str]:
    return {q.id: q.prompt for q in questions}


@pytest.mark.slow  # loads the bundled encoder
def test_no_two_questions_are_near_duplicates(prompts):
    pairs = near_duplicates(prompts)
    assert not pairs, "prompts that ask the same thing:\n" + "\n".join(
        f"{s:.3f}  {a}  |  {b}" for s, a, b in pairs
    )


@pytest.mark.slow  # loads the bundled encoder
def test_a_reworded_copy_of_a_bank_prompt_is_caught(prompts):
    copies = {f"{qid}-copy": text for qid, text in PARAPHRASES.items()}
    pairs = near_duplicates({**prompts, **copies})
    found = {(a, b) for _, a, b in pairs}
    for qid in PARAPHRASES:
        assert (qid, f"{qid}-copy") in found, f"a rewording of {qid} passed as a new question"


def test_breadth_is_as_wide_as_a_real_loop(questions):
    breadth = [q for q in questions if q.round == "breadth"]
    assert len(breadth) >= MIN_BREADTH, f"breadth has {len(breadth)} questions"
    per_topic = Counter(q.topic for q in breadth)
    thin = {t: per_topic[t] for t in REQUIRED_BREADTH_TOPICS if per_topic[t] < MIN_PER_TOPIC}
    assert not thin, f"topics with fewer than {MIN_PER_TOPIC} questions: {thin}"


def test_breadth_topics_are_asked_at_more_than_one_level(questions):
    # adaptive difficulty needs somewhere to move: each required topic spans two levels or more
    levels: dict[str, set[int]] = {}
    for q in questions:
        if q.round == "breadth":
            levels.setdefault(q.topic, set()).add(q.difficulty)
    flat = {t: levels.get(t, set()) for t in REQUIRED_BREADTH_TOPICS if len(levels.get(t, ())) < 2}
    assert not flat, f"topics asked at a single difficulty: {flat}"
