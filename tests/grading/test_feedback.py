"""Feedback text as a candidate reads it: each missed point comes with a reason that fits it."""

from __future__ import annotations

import re

from mockloop.grading import grade_answer
from mockloop.models import Criterion, Question, Rubric

OFF_TOPIC = "I enjoy hiking on weekends and my favourite food is pasta with tomato sauce."


def _question(round_name: str, criteria: list[tuple[str, str, str]]) -> Question:
    return Question(
        id=f"t.why-{round_name}",
        round=round_name,
        topic="feedback",
        prompt="Tell me what you know.",
        rubric=Rubric(
            version="1",
            criteria=[
                Criterion(id=cid, description=desc, key_points=[point])
                for cid, desc, point in criteria
            ],
        ),
    )


def _reasons(feedback: str) -> dict[str, str]:
    """{missed point: its 'why it matters' reason} from the feedback text."""
    return dict(re.findall(r"^Missing: (.+?) — why it matters: (.+)\.$", feedback, re.M))


def test_why_it_matters_fits_the_missed_point_not_words_in_the_criterion():
    q = _question(
        "breadth",
        [
            # the description says "data" and "features"; the point is about leakage
            (
                "pipeline",
                "Prepares the data and features without contaminating validation",
                "Fitting the scaler on all rows leaks test statistics into training",
            ),
            # the description says "numbers"; the point is a limit of the metric, not a result
            (
                "limits",
                "Knows what makes perplexity numbers incomparable",
                "Perplexity does not mean the outputs are factual",
            ),
        ],
    )
    why = _reasons(grade_answer(q, OFF_TOPIC).feedback)
    leak = why["Fitting the scaler on all rows leaks test statistics into training"]
    assert "leakage" in leak
    assert "labels and data" not in leak and "features carry" not in leak
    limit = why["Perplexity does not mean the outputs are factual"]
    assert "a number is how an interviewer" not in limit
    assert "breaks down" in limit


def test_story_point_gets_the_reason_of_what_it_asks_for():
    q = _question(
        "behavioral",
        [("result", "Says how the situation ended", "Says how it ended, such as we shipped it")],
    )
    why = _reasons(grade_answer(q, OFF_TOPIC).feedback)
    reason = why["Says how it ended, such as we shipped it"]
    assert "outcome" in reason and "context" not in reason


def test_a_point_no_reason_fits_gets_a_plain_statement_of_what_the_rubric_checks():
    q = _question(
        "nlp",
        [
            (
                "mechanics",
                "Explains how the heads are combined",
                "Head outputs are concatenated and passed through an output projection",
            )
        ],
    )
    why = _reasons(grade_answer(q, OFF_TOPIC).feedback)
    reason = why["Head outputs are concatenated and passed through an output projection"]
    assert reason == "it is what the rubric checks for “Explains how the heads are combined”"
