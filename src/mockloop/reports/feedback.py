"""What a grade shows, decided once for every view: the terminal's text (rounds.render_feedback),
the page's chat message and card (ui/render.py) and the session report (reports/session.py).

`grade_view(grade)` lists each criterion with its quoted evidence and its missed points (each
with why it matters when the grade gives a reason), the red flags, the rest of the written
feedback, the notes to reread and the notices. Views only format it; none reads the Grade's
text or decides what to leave out. Built from the Grade's data (`missed`, `notes`, criteria),
never by parsing its text: a grade with no `missed` data (an LLM judge's, or one stored before
grader 5) keeps its written feedback whole and its points without reasons.
Leaves out: formatting (the views above) and Markdown to HTML (reports/markdown.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mockloop.grading.explain import flag_text, summary_lines
from mockloop.models import Citation, Grade


@dataclass
class FeedbackParts:
    reasons: dict[str, str] = field(default_factory=dict)  # missed point → why it matters
    text: str = ""  # the feedback without the lines that list missed points


def split_feedback(grade: Grade) -> FeedbackParts:
    """The reasons given for missed points, and the feedback to show beside the criteria."""
    if not grade.missed:
        return FeedbackParts({}, (grade.feedback or "").strip())
    return FeedbackParts({m.point: m.why for m in grade.missed}, "\n".join(summary_lines(grade)))


def missing_text(point: str, reasons: dict[str, str]) -> str:
    """A missed point, with why it matters when the grade gives a reason for it."""
    why = reasons.get(point)
    return f"{point} — why it matters: {why}" if why else point


@dataclass
class Missing:
    point: str
    why: str = ""  # why it matters, when the grade gives a reason

    @property
    def text(self) -> str:
        """'point — why it matters: why', or the point alone."""
        return missing_text(self.point, {self.point: self.why} if self.why else {})


@dataclass
class CriterionView:
    label: str  # the criterion's description, or its id
    score: float  # 0–1
    covered: list[tuple[str, str]]  # (point, quote from the answer)
    missing: list[Missing]


@dataclass
class GradeView:
    """A grade's content in the order every view shows it."""

    grade: Grade
    criteria: list[CriterionView]
    red_flags: list[str]  # each with the sentence that asserts it, when there is one
    text: str  # the written feedback beside the criteria (strengths, round notes)
    reread: list[Citation]  # one per note label, first seen first
    notices: list[str]

    @property
    def reread_labels(self) -> list[str]:
        return [c.label for c in self.reread]


def grade_view(
    grade: Grade, *, covered: int | None = None, missing: int | None = None
) -> GradeView:
    """What to show of a grade; `covered`/`missing` cap the points per criterion (a chat or a
    terminal line shows the first few; a card or a report shows them all)."""
    parts = split_feedback(grade)  # each missed point once: under its criterion, with its why
    criteria = [
        CriterionView(
            c.description or c.criterion_id,
            c.score,
            [(ev.point, ev.quote) for ev in c.covered[:covered]],
            [Missing(p, parts.reasons.get(p, "")) for p in c.missing[:missing]],
        )
        for c in grade.criteria
    ]
    reread: dict[str, Citation] = {}
    for c in grade.citations:
        reread.setdefault(c.label, c)
    return GradeView(
        grade,
        criteria,
        [flag_text(grade, f) for f in grade.red_flags],
        parts.text,
        list(reread.values()),
        list(grade.notices),
    )
