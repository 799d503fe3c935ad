"""Feedback text as a candidate reads it: each missed point comes with a reason that fits it."""

from __future__ import annotations

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


def _reasons(grade) -> dict[str, str]:
    """{missed point: its 'why it matters' reason}, as the Grade carries them (data, not text)."""
    return {m.point: m.why for m in grade.missed}


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
    why = _reasons(grade_answer(q, OFF_TOPIC))
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
    why = _reasons(grade_answer(q, OFF_TOPIC))
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
    why = _reasons(grade_answer(q, OFF_TOPIC))
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
    reasons = _reasons(grade)
    assert len(missing) >= 2 and reasons  # the written feedback names missed points with a why
    for where, text in _renderings(grade).items():
        for point in missing:
            assert text.count(point.rstrip(".")) == 1, (where, point, text)
        for why in set(reasons.values()):  # the reasons are not lost, each shown once per point
            assert text.count(why) == list(reasons.values()).count(why), (where, why)
        if where != "chat":  # the chat message carries the score in its title
            assert f"{grade.overall:.1f}" in text and grade.hire_signal in text


# A real chunk of the sample corpus (corpus/pdf/ranking-evaluation-cheat-sheet.pdf, p. 3) that the
# old check cited for behavioral questions' "compares the result with the baseline".
CUPED = (
    "- CUPED variance reduction: Y_adj = Y - theta * (X - mean(X)), with X the same metric in the pre-period and theta =\n"
    "cov(X, Y) / var(X). Often cuts variance by 30-50% for engagement metrics.\n"
    "- Novelty and primacy effects: feed changes often spike and fade; run at least two weeks and look at the daily treatment\n"
    "effect, not only the total.\n"
    "Interleaving\n"
    "For comparing two rankers, team-draft interleaving merges both result lists into one page and credits clicks to the ranker\n"
    "that contributed the item. Search engines report it needs one to two orders of magnitude less traffic than an A/B test to\n"
    "find the preferred ranker; it says which is better, not by how much on business metrics.\n"
    "After the test\n"
    "- Keep a long-term holdout (e.g. 1% of users on last quarter's stack) to measure the cumulative effect of many small\n"
    "launches.\n"
    "- Log the offline vs online delta of every launch; over time it tells you how much offline gain is needed before an online\n"
    "win is likely.\n"
    "page 3"
)
STORY = (
    "STAR: fixing the stale churn model. Result: I compared the new model with the old rules "
    "baseline and our target; retention rose 4% against the baseline, beating the 3% target."
)


def test_a_citation_must_be_about_the_question_not_only_the_point(fake_retriever):
    from mockloop.models import Hit

    q = Question(
        id="t.result",
        round="behavioral",
        topic="impact",
        prompt="Tell me about a project where you had to recover a model that stopped working.",
        rubric=Rubric(
            version="1",
            criteria=[
                Criterion(
                    id="quantified_result",
                    description="Backs the result with a number",
                    key_points=["Compares the result with the baseline or the target"],
                )
            ],
        ),
    )
    hits = [
        Hit(chunk_id="c-cuped", text=CUPED, source="pdf/cheat-sheet.pdf", heading_path=[]),
        Hit(chunk_id="c-story", text=STORY, source="behavioral/churn.md", heading_path=["STAR"]),
    ]
    g = grade_answer(q, "We fixed it and everyone was happy.", retriever=fake_retriever(hits))
    cited = {c.chunk_id for c in g.citations}
    assert "c-story" in cited  # the user's own story that holds the point is still cited
    assert "c-cuped" not in cited  # an A/B-testing cheat-sheet is not about this question
