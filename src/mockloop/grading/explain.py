"""Explaining a grade as data: missed points with why they matter, round notes, the feedback text.

Everything here reads the Grade's own criteria, so ticks, missing lists, red flags, score and
prose cannot contradict each other: a point quoted as evidence is never listed as missing, and
"nothing met a criterion" is said only when no point was covered.

>>> from mockloop.models import CriterionGrade, Evidence, Grade
>>> g = Grade(question_id="q", rubric_version="1", grader="offline", overall=2.0,
...           hire_signal="no hire", criteria=[CriterionGrade(criterion_id="pitfalls",
...           score=0.5, covered=[Evidence(point="A", quote="a")], missing=["Resample only the "
...           "training data, never validation or test"])])
>>> fill_missed(g, "breadth")
>>> g.missed[0].point, g.missed[0].criterion_id
('Resample only the training data, never validation or test', 'pitfalls')
>>> feedback_text(g).splitlines()[0]
'Overall 2.0/5 (no hire).'

Leaves out: deciding what was covered (offline.py) and formatting for a view (ui/render.py,
rounds/base.py, reports/session.py take `FeedbackParts` from reports/feedback.py).
"""

from __future__ import annotations

from mockloop.grading.signals import Signals
from mockloop.grading.why import bare, why_it_matters
from mockloop.models import Grade, MissedPoint, Question


def fill_missed(grade: Grade, round_name: str) -> None:
    """Set `grade.missed` from its criteria: every missing point with why it matters, the
    costliest criterion (weight × what is left) first."""
    order = sorted(grade.criteria, key=lambda g: -(1 - g.score) * g.weight)
    grade.missed = [
        MissedPoint(point=p, criterion_id=g.criterion_id, why=why_it_matters(g, p, round_name))
        for g in order
        for p in g.missing
    ]


def round_notes(question: Question, grade: Grade, sig: Signals) -> list[str]:
    """Round-specific checks (STAR, stage coverage, decisions and their reasons)."""
    out = []
    if question.round == "behavioral":
        star = " · ".join(f"{k} {'✓' if v else '✗'}" for k, v in sig.star.items())
        out.append(f"STAR: {star}.")
        out.append(
            "Quantified result: "
            + (", ".join(f"“{q}”" for q in sig.quantities[:3]) or "none")
            + f". Ownership: “I” {sig.first_singular}× vs “we” {sig.first_plural}×."
        )
    elif question.round == "mlsd":
        touched = [g for g in grade.criteria if g.covered]
        deep = [g for g in grade.criteria if len(g.covered) >= 2]
        untouched = [g.description or g.criterion_id for g in grade.criteria if not g.covered]
        out.append(
            f"Stages covered: {len(touched)}/{len(grade.criteria)}; in depth (≥ 2 points): "
            f"{len(deep)}." + (f" Untouched: {'; '.join(untouched[:4])}." if untouched else "")
        )
    elif question.round == "deep-dive":
        later = sig.justified_later
        justified = len(sig.decisions) - len(sig.unjustified)
        out.append(
            f"Decisions: {len(sig.decisions)}, justified: {justified}"
            + (f" ({len(later)} in a follow-up answer)" if later else "")
            + ". Impact numbers: "
            + (", ".join(f"“{q}”" for q in sig.quantities[:3]) or "none")
            + "."
        )
        for s in sig.unjustified[:2]:
            out.append(f"No justification given for: “{s.strip()[:160]}”.")
    return out


def summary_lines(grade: Grade) -> list[str]:
    """What views show beside the criteria table (which already lists the score, ticks, missed
    points and red flags): the strongest criteria with a quote, and the round's notes."""
    lines = []
    strong = sorted(
        (g for g in grade.criteria if g.score >= 0.7), key=lambda g: -g.score * g.weight
    )
    for g in strong[:3]:
        quote = f" — “{g.covered[0].quote[:140]}”" if g.covered else ""
        lines.append(f"Strong: {g.description or g.criterion_id}{quote}.")
    if grade.criteria and not any(g.covered for g in grade.criteria):
        lines.append("No key point of the rubric was stated yet.")
    return lines + grade.notes


def flag_text(grade: Grade, flag: str) -> str:
    """A red flag with the sentence of the answer that asserts it, when the grader found one:
    `L2 sets weights exactly to zero — the answer says “L2 zeroes many of them”`."""
    quote = " ".join(grade.red_flag_quotes.get(flag, "").split())
    if len(quote) > 200:
        quote = quote[:200].rsplit(" ", 1)[0] + "…"
    return f"{bare(flag)} — the answer says “{quote.rstrip('. ')}”" if quote else bare(flag)


def feedback_text(grade: Grade) -> str:
    """The whole written feedback, as stored on the Grade and shown where there is no table."""
    lines = [f"Overall {grade.overall:.1f}/5 ({grade.hire_signal})."] + summary_lines(grade)
    lines += [f"Red flag: {flag_text(grade, f)}." for f in grade.red_flags]
    for m in grade.missed[:4]:
        lines.append(f"Missing: {bare(m.point)} — why it matters: {m.why}.")
    if len(grade.missed) > 4:
        lines.append(f"Also missing: {'; '.join(bare(m.point) for m in grade.missed[4:8])}.")
    return "\n".join(lines)


def explain(grade: Grade, question: Question, sig: Signals, notes: list[str], answer: str) -> None:
    """Fill the grade's explanation: missed points, notes and the feedback text."""
    fill_missed(grade, question.round)
    if not answer.strip():
        grade.notes = ["No answer was given, so nothing could be credited."]
        grade.feedback = (
            "No answer was given, so nothing could be credited (0/5). Try answering in a few "
            "sentences: the main idea first, then why it holds and one example."
        )
        return
    quality = []
    if sig.keyword_list:
        quality.append(
            "The answer is a bare list of terms; explain how they connect to earn credit."
        )
    grade.notes = notes + quality + round_notes(question, grade, sig)
    grade.feedback = feedback_text(grade)
