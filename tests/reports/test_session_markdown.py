"""The HTML session report renders the Markdown of notes, answers and feedback, safely."""

from __future__ import annotations

from mockloop.models import CriterionGrade, Evidence, Grade
from mockloop.reports.session import session_html
from mockloop.sessions import SessionInfo, Turn


def test_html_report_renders_markdown_and_never_raw_html():
    grade = Grade(
        question_id="q1", rubric_version="1", grader="offline", overall=3.0,
        hire_signal="lean hire", feedback="Name **the rescaling** next time.",
        criteria=[CriterionGrade(
            criterion_id="m", description="Mechanism", score=0.5,
            covered=[Evidence(point="p", quote="drops `units`")],
            missing=["rescale by _1/(1-p)_"],
        )],
    )  # fmt: skip
    info = SessionInfo("s1", "breadth", "offline", "ended", "2026-01-01T10:00", None, {})
    turns = [
        Turn(
            "interviewer", "question", "What does **dropout** do?", "q1", {"index": 1, "total": 1}
        ),
        Turn("candidate", "answer", "It drops `units` <script>alert(1)</script>", "q1"),
        Turn("interviewer", "feedback", "…", "q1", {"grade": grade.model_dump(mode="json")}),
    ]
    html = session_html(info, turns)
    assert "What does <strong>dropout</strong> do?" in html
    assert "<code>units</code>" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "<strong>the rescaling</strong>" in html and "<em>1/(1-p)</em>" in html
    assert "**" not in html
