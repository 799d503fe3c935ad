"""What a user saw go wrong with grader 4, each pinned on grader 5 (issue 11).

Every case is a grade a person can check by reading it: a point the answer states in other
words is not listed as missing, red flags are raised only when asserted, the prose never
contradicts the ticks, one sentence is not evidence for ten points, and a faithful paraphrase of
a reference answer scores like one.
"""

from __future__ import annotations

import pytest

from mockloop.bank import load_bank
from mockloop.grading import grade_answer
from mockloop.models import Question


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def _missing(grade) -> list[str]:
    return [p for c in grade.criteria for p in c.missing]


def test_a_point_said_in_other_words_is_not_missing(bank):
    q = bank.get("breadth.threshold-selection")
    answer = (
        "0.5 is only right when the scores are calibrated and both mistakes cost the same. I pick "
        "the cut-off on a validation set, never on the test set, so the final numbers stay honest, "
        "and I choose it to minimise expected cost or to hit a precision target the business gives."
    )
    grade = grade_answer(q, answer)
    assert "Choose the threshold on a validation set, not the test set" not in _missing(grade)


def test_short_numbers_meet_their_spelled_out_form(bank):
    q = bank.get("mlsd.harmful-content")
    answer = (
        "We score ~500M posts/day and must decide within a couple of seconds of upload. Policy "
        "categories each get an action: remove, or reduce distribution. We detect at upload and "
        "also take user reports."
    )
    grade = grade_answer(q, answer)
    assert "Hundreds of millions of posts a day, decided within seconds" not in _missing(grade)


def test_k_equal_to_5_or_10(bank):
    q = bank.get("breadth.kfold-cv")
    answer = (
        "Split the data into k folds; train on all but one and score the held-out one, rotating so "
        "each row is scored once, then report the mean and spread. k = 5 or 10 is the usual "
        "default; a bigger k means more compute but each model sees more data."
    )
    grade = grade_answer(q, answer)
    assert "Common choices are k equal to 5 or 10" not in _missing(grade)


def test_no_red_flag_the_answer_never_asserted(bank):
    q = bank.get("breadth.batchnorm-vs-layernorm")
    answer = (
        "Batch norm normalises each feature using statistics over the batch, and keeps running "
        "averages that it uses at inference, so train and serve behave differently; with small "
        "batches its statistics get noisy. Layer norm normalises over the features of one example, "
        "so it is the same in training and inference, even for a batch of one. Both then apply a "
        "learned scale and shift. Transformers use layer norm because sequences vary in length and "
        "are padded, which makes batch statistics awkward, and generation runs one token at a time."
    )
    grade = grade_answer(q, answer)
    assert grade.red_flags == []
    assert grade.overall >= 3.5


def test_a_wrong_mechanism_earns_little(bank):
    q = bank.get("breadth.smote")
    answer = (
        "SMOTE balances the classes by duplicating the positive rows until there are as many as "
        "negatives. It always helps on imbalanced data, so I apply it to the whole dataset first."
    )
    grade = grade_answer(q, answer)
    mechanism = next(c for c in grade.criteria if "generates" in c.description)
    assert mechanism.score <= 0.35
    assert grade.overall <= 2.0


def test_the_prose_never_contradicts_the_ticks(bank):
    q = bank.get("breadth.threshold-selection")
    grade = grade_answer(q, "I would choose the threshold on a validation set.")
    covered = [e.point for c in grade.criteria for e in c.covered]
    assert covered, "the answer states one point"
    assert "No key point" not in grade.feedback
    assert "Nothing in the answer" not in grade.feedback
    assert not set(covered) & set(_missing(grade))
    for m in grade.missed:
        assert m.point in _missing(grade) and m.why


def test_one_sentence_is_not_the_evidence_for_many_points(bank):
    q = next(q for q in bank.questions if q.round == "behavioral")
    answer = (
        "Last year at a payments startup I owned the fraud model's retraining. Our precision had "
        "dropped and the ops team was drowning in false alarms. I proposed moving from weekly to "
        "daily retraining, and I chose that over a bigger model because latency was tight. I worked "
        "with the platform team to schedule it and checked it with a shadow run for two weeks. In "
        "the end false alarms fell by 30% and the ops queue halved, which was the goal we set. I "
        "learned to measure the queue, not just the model, and I now add that metric from day one."
    )
    grade = grade_answer(q, answer)
    quotes = [e.quote for c in grade.criteria for e in c.covered]
    assert quotes
    assert max(quotes.count(x) for x in quotes) <= 3


def _reference_question(prompt: str, reference: str) -> Question:
    return Question(
        id="own", round="breadth", topic="own", prompt=prompt, reference_answer=reference
    )


DROPOUT = _reference_question(
    "What is dropout and how does it behave at test time?",
    "Dropout randomly sets a fraction of activations to zero during training, which prevents "
    "units from co-adapting and acts as a regularizer. At inference no units are dropped and the "
    "activations are scaled so their expected value matches training.",
)
L2 = _reference_question(
    "What does L2 regularization do?",
    "L2 regularization adds the sum of the squared weights, times a coefficient, to the loss. "
    "This shrinks the weights toward zero and reduces overfitting.",
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            DROPOUT,
            "Dropout randomly turns off neurons during training so the network cannot rely on any "
            "single unit; at test time nothing is dropped and activations are scaled",
        ),
        (
            L2,
            "It penalizes large weights by adding the sum of squared weights to the loss, so "
            "weights shrink and the model overfits less",
        ),
    ],
)
def test_a_faithful_paraphrase_of_the_reference_scores_high(question, answer):
    assert grade_answer(question, answer).overall >= 3.5


@pytest.mark.parametrize("answer", ["I like pizza", "", "   "])
@pytest.mark.parametrize("question", [DROPOUT, L2])
def test_nonsense_and_empty_answers_score_low(question, answer):
    assert grade_answer(question, answer).overall <= 1.0
