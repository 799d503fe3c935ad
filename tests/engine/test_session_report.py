"""Session reports (Markdown and HTML) and the plain-text renderers, from a real session log."""

from __future__ import annotations

import pytest

from mockloop.config import Settings
from mockloop.models import Citation, CriterionGrade, Evidence, Grade
from mockloop.reports.session import session_report
from mockloop.rounds import render_feedback, start_round
from mockloop.sessions import SessionLog


def test_feedback_renders_score_evidence_missing_and_notes():
    grade = Grade(
        question_id="q",
        rubric_version="2",
        grader="offline",
        overall=2.8,
        hire_signal="lean hire",
        criteria=[
            CriterionGrade(
                criterion_id="m",
                description="Mechanism",
                score=0.5,
                covered=[Evidence(point="p", quote="keeps a running mean")],
                missing=["per-parameter step sizes"],
            )
        ],
        red_flags=["Says Adam needs no learning rate"],
        citations=[Citation(chunk_id="c", source="ml/opt.md", heading_path=["Adam"], point="x")],
        notices=["The LLM judge failed (timed out); this answer was graded offline."],
    )
    text = render_feedback(grade, elapsed_s=95, budget_s=90)
    assert text.splitlines()[0] == "Score 2.8/5 · lean hire  (answered in 95s of 90s — over time)"
    assert "✓ “keeps a running mean”" in text and "✗ missing: per-parameter step sizes" in text
    assert "⚑ red flag: Says Adam needs no learning rate" in text
    assert "Reread: ml/opt.md § Adam" in text and "graded offline" in text


@pytest.fixture
def finished_session(tiny_bank, notes_retriever, clock):
    s = start_round(
        "nlp",
        Settings.from_env(),
        n=1,
        bank=tiny_bank,
        retriever=notes_retriever,
        clock=clock,
        seed=0,
    )
    s.begin()
    s.answer("LoRA freezes the pretrained weights and learns a low-rank update BA <b>fast</b>.")
    if not s.finished:
        s.answer("At serving time it is merged into the weights.")
    return s


def test_markdown_report_has_transcript_grades_evidence_and_citations(finished_session):
    md = session_report(SessionLog(Settings.from_env()), finished_session.session_id, "md")
    assert md.startswith(f"# Mock interview · nlp · {finished_session.session_id}")
    assert "## Summary" in md and "Round summary — nlp" in md
    assert md.index("**Interviewer:**") < md.index("**You:**")
    assert "**Interviewer (follow-up):**" in md
    assert "| criterion | score | evidence | missing |" in md
    assert "“LoRA freezes the pretrained weights" in md


def test_html_report_is_escaped_and_complete(finished_session):
    html = session_report(SessionLog(Settings.from_env()), finished_session.session_id, "html")
    assert html.startswith("<!doctype html>")
    assert "&lt;b&gt;fast&lt;/b&gt;" in html and "<b>fast</b>" not in html
    assert "<table>" in html and "Score " in html
