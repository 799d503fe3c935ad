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


def _renderings(grade):
    """The feedback on one grade as the terminal, the chat, the card and the report show it."""
    from types import SimpleNamespace

    from mockloop.reports.session import _md_grade
    from mockloop.rounds.base import render_feedback
    from mockloop.ui.render import feedback_message, grade_card_html

    fb = SimpleNamespace(grade=grade, stage=None, topic="regularization")
    return {
        "terminal": render_feedback(grade),
        "chat": feedback_message(fb)["content"],
        "card": grade_card_html(grade),
        "report": "\n".join(_md_grade(grade)),
    }


def test_each_missed_point_is_shown_once_with_its_reason(l1_l2):
    partial = "L2 adds the squared weights to the loss, which keeps the weights small."
    grade = grade_answer(l1_l2, partial)
    missing = [p for c in grade.criteria for p in c.missing]
    reasons = _reasons(grade.feedback)
    assert len(missing) >= 2 and reasons  # the written feedback names missed points with a why
    for where, text in _renderings(grade).items():
        for point in missing:
            assert text.count(point.rstrip(".")) == 1, (where, point, text)
        for why in reasons.values():  # the reasons are not lost, each shown once
            assert text.count(why) == 1, (where, why)
        assert "Overall" in text  # the rest of the written feedback is still there
