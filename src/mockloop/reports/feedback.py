"""A grade's feedback split for renderers that list each criterion's missed points themselves.

Built from the Grade's data (`missed`, `notes`, criteria), never by parsing its text: the
reasons for each missed point, and the rest of the feedback (score line, strengths, red flags,
round notes) to show as it is. A grade with no `missed` data (an LLM judge's, or one stored
before grader 5) keeps its written feedback whole and its points without reasons.
Leaves out: rendering itself (ui/render.py, rounds/base.py, reports/session.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mockloop.grading.explain import summary_lines
from mockloop.models import Grade


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
