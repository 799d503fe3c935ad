"""A grade's written feedback, split for renderers that also list each criterion's missed points.

The offline grader's feedback names the costliest missed points ("Missing: P — why it matters:
R.", "  Also missing under “C”: P2; P3."). A card, chat message, terminal block or session report
that lists every criterion's missed points would show those points twice; `split_feedback` takes
the reasons out of the text so the renderer attaches each one to its point in the criterion list
and shows the rest of the text (strengths, red flags, round notes) as it was.
Leaves out: rendering itself (ui/render.py, rounds/base.py, reports/session.py).

    feedback "Overall 2.1/5 (lean no hire).\nMissing: Labels arrive weeks late — why it matters:
    the labels decide what the model learns …." → reasons {"Labels arrive weeks late.": "the
    labels decide what the model learns …"}, text "Overall 2.1/5 (lean no hire)."
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mockloop.grading.why import bare
from mockloop.models import Grade

_MISSING = re.compile(r"^Missing: (?P<point>.+?) — why it matters: (?P<why>.+?)\.?$")
_ALSO = re.compile(r"^\s*Also missing under “(?P<criterion>.+?)”: .+$")


@dataclass
class FeedbackParts:
    reasons: dict[str, str] = field(default_factory=dict)  # missed point → why it matters
    text: str = ""  # the feedback without the lines that list missed points


def split_feedback(grade: Grade) -> FeedbackParts:
    """The reasons given for missed points, and the feedback text without those lines.

    Only lines about points the grade's criteria list as missing are taken out, so nothing is
    lost: the renderer lists those points under their criterion.
    """
    points = {bare(p): p for c in grade.criteria for p in c.missing}
    criteria = {c.description or c.criterion_id for c in grade.criteria if c.missing}
    parts = FeedbackParts()
    kept = []
    for line in (grade.feedback or "").splitlines():
        m = _MISSING.match(line)
        if m and m.group("point") in points:
            parts.reasons[points[m.group("point")]] = m.group("why")
            continue
        m = _ALSO.match(line)
        if m and m.group("criterion") in criteria:
            continue
        kept.append(line)
    parts.text = "\n".join(kept).strip()
    return parts


def missing_text(point: str, reasons: dict[str, str]) -> str:
    """A missed point, with why it matters when the feedback gave a reason for it."""
    why = reasons.get(point)
    return f"{point} — why it matters: {why}" if why else point
