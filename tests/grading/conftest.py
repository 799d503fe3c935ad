"""Fixtures for the grading tests: hand-written questions with rubrics, and a fake retriever."""

from __future__ import annotations

import pytest

from mockloop.models import Criterion, Hit, Question, Rubric


@pytest.fixture(scope="session")
def l1_l2() -> Question:
    """A breadth question with a two-criterion rubric and a red flag."""
    return Question(
        id="t.l1-vs-l2",
        round="breadth",
        topic="regularization",
        prompt="What is the difference between L1 and L2 regularization, and when would you use each?",
        reference_answer=(
            "L1 adds the sum of absolute weights to the loss and drives some weights exactly to "
            "zero, so it selects features. L2 adds the sum of squared weights and shrinks all "
            "weights smoothly toward zero without making them exactly zero."
        ),
        rubric=Rubric(
            version="3",
            criteria=[
                Criterion(
                    id="definitions",
                    description="Defines both penalties",
                    weight=2,
                    key_points=[
                        "L1 penalises the sum of absolute values of the weights",
                        "L2 penalises the sum of squared weights",
                    ],
                    red_flags=["L2 sets many weights exactly to zero"],
                ),
                Criterion(
                    id="effects",
                    description="Explains the effect on the weights",
                    weight=1,
                    key_points=[
                        "L1 drives some weights exactly to zero, which performs feature selection",
                        "L2 shrinks all weights smoothly but rarely makes them exactly zero",
                    ],
                ),
            ],
        ),
    )


STRONG = (
    "L1 regularization adds the sum of the absolute values of the weights to the loss, while L2 "
    "adds the sum of the squared weights. Because the L1 penalty has a constant gradient, it "
    "pushes many weights exactly to zero, so it performs feature selection. L2 shrinks all "
    "weights smoothly towards zero but rarely makes any of them exactly zero, which is useful "
    "when many features each carry a little signal."
)
PARTIAL = "L2 adds the squared weights to the loss, which keeps the weights small."
WRONG = "L2 sets many weights exactly to zero, and L1 makes the model bigger so it fits better."
OFF_TOPIC = "I enjoy hiking on weekends and my favourite food is pasta with tomato sauce."


@pytest.fixture(scope="session")
def samples() -> dict[str, str]:
    """Answers to `l1_l2` at deliberate quality levels."""
    return {"strong": STRONG, "partial": PARTIAL, "wrong": WRONG, "off_topic": OFF_TOPIC}


@pytest.fixture
def fake_retriever():
    """Factory: fake_retriever(hits, fail=False) → an object with .search(query, k)."""
    return FakeRetriever


class FakeRetriever:
    """Anything with .search(query, k) -> list[Hit]; records its queries."""

    def __init__(self, hits: list[Hit], fail: bool = False):
        self.hits = hits
        self.fail = fail
        self.queries: list[str] = []

    def search(self, query: str, k: int = 5) -> list[Hit]:
        self.queries.append(query)
        if self.fail:
            raise RuntimeError("store is offline")
        return self.hits[:k]
