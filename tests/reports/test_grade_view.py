"""One decision of what a grade shows (reports/feedback.grade_view), formatted by every view."""

from __future__ import annotations

from mockloop.models import Citation, CriterionGrade, Evidence, Grade, MissedPoint
from mockloop.reports.feedback import grade_view
from mockloop.reports.session import _md_grade
from mockloop.rounds import Feedback, render_feedback
from mockloop.ui import render


def grade() -> Grade:
    cite = dict(source="ml/reg.md", heading_path=["Dropout"])
    return Grade(
        question_id="q", rubric_version="1", grader="offline", overall=2.5,
        hire_signal="lean hire", feedback="Overall 2.5/5.",
        criteria=[CriterionGrade(
            criterion_id="m", description="Mechanism", score=0.5,
            covered=[Evidence(point=f"p{i}", quote=f"quote {i}") for i in range(3)],
            missing=["rescale by 1/(1-p)", "off at inference"],
        )],
        missed=[MissedPoint(point="rescale by 1/(1-p)", criterion_id="m", why="else activations shrink")],
        citations=[Citation(chunk_id="a", point="x", **cite), Citation(chunk_id="b", **cite)],
        notices=["graded offline"],
    )  # fmt: skip


def test_grade_view_pairs_missed_points_with_their_reasons_and_lists_each_note_once():
    view = grade_view(grade(), covered=2)
    [c] = view.criteria
    assert c.label == "Mechanism" and [q for _, q in c.covered] == ["quote 0", "quote 1"]
    assert [m.text for m in c.missing] == [
        "rescale by 1/(1-p) — why it matters: else activations shrink",
        "off at inference",
    ]
    assert view.reread_labels == ["ml/reg.md § Dropout"] and view.notices == ["graded offline"]


def test_every_view_shows_what_grade_view_decides():
    g = grade()
    reason = "rescale by 1/(1-p) — why it matters: else activations shrink"
    fb = Feedback(question_id="q", topic="reg", prompt="Dropout?", grade=g, text="")
    views = {
        "terminal": render_feedback(g),
        "chat": render.feedback_message(fb)["content"],
        "card": render.grade_card_html(g),
        "report": "\n".join(_md_grade(g)),
    }
    for name, text in views.items():
        assert reason in text or "else activations shrink" in text, name
        assert text.count("ml/reg.md § Dropout") == 1, name
