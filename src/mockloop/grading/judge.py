"""The LLM judge: fills the same Grade contract as the offline grader, through structured output.

The rubric, reference answer, retrieved notes and the answer go to the model as fenced data
(prompts/judge.yaml). Its reply is validated before it is trusted:
- every rubric criterion is graded exactly once, with a score in [0, 1];
- every evidence quote is found verbatim in the answer (whitespace and case aside);
- red flags named are ones the rubric lists.
A reply that fails is sent back with the reason, within the provider's bounded retries; when
the judge still fails (or the endpoint is down) the offline grader grades the answer and the
Grade carries a notice saying so. The arithmetic from criterion scores to the 0–5 overall is
the offline grader's (grading.scoring), not the model's: a red flag multiplies its criterion's
score by RED_FLAG_FACTOR, and the overall is 5 × the weighted mean:

    criteria [(w=2, s=1.0), (w=1, s=0.4)], a red flag on the second -> 5 * (2 + 0.24) / 3 = 3.733
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from pydantic import BaseModel

from mockloop import prompts
from mockloop.grading import scoring
from mockloop.llm import LLMError, Provider
from mockloop.models import (
    Citation,
    CriterionGrade,
    Evidence,
    Grade,
    Hit,
    Question,
    Rubric,
)


# Strict structured-output schemas allow no defaults, hence every field is required.
class JudgedPoint(BaseModel):
    point: str
    quote: str


class JudgedCriterion(BaseModel):
    criterion_id: str
    score: float
    covered: list[JudgedPoint]
    missing: list[str]


class JudgeOutput(BaseModel):
    """What the model is asked to return for one answer."""

    criteria: list[JudgedCriterion]
    red_flags: list[str]
    feedback: str


def apply_red_flags(criteria: list[CriterionGrade], flags: list[str], rubric: Rubric) -> None:
    """Multiply each criterion's score by RED_FLAG_FACTOR per red flag of its own it hit."""
    owner = {_norm(r): c.id for c in rubric.criteria for r in c.red_flags}
    for flag in flags:
        for c in criteria:
            if owner.get(_norm(flag)) == c.criterion_id:
                c.score = round(c.score * scoring.RED_FLAG_FACTOR, 6)


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def quote_in_answer(quote: str, answer: str) -> bool:
    """Whether `quote` occurs in `answer`, ignoring case, runs of whitespace and outer quotes."""
    q = _norm(quote).strip("\"'` ")
    return bool(q) and q in _norm(answer)


def rubric_for(question: Question) -> Rubric:
    """The question's rubric, or the one the offline grader derives from its reference answer."""
    if question.rubric is not None:
        return question.rubric
    from mockloop.grading.reference import reference_rubric, split_references

    return reference_rubric(split_references(question.reference_answer or question.prompt)[0])


def validate_output(out: JudgeOutput, rubric: Rubric, answer: str) -> None:
    """Raise ValueError naming the first problem: ids, ranges, quotes, red flags."""
    want = [c.id for c in rubric.criteria]
    got = [c.criterion_id for c in out.criteria]
    if sorted(got) != sorted(want):
        raise ValueError(f"criteria must be exactly {want}, got {got}")
    for c in out.criteria:
        if not 0.0 <= c.score <= 1.0:
            raise ValueError(f"score for {c.criterion_id} is {c.score}, outside 0 to 1")
        for p in c.covered:
            if not quote_in_answer(p.quote, answer):
                raise ValueError(
                    f"quote {p.quote[:60]!r} for {c.criterion_id} is not in the answer"
                )
    known = {_norm(r) for c in rubric.criteria for r in c.red_flags}
    for flag in out.red_flags:
        if _norm(flag) not in known:
            raise ValueError(f"red flag {flag[:60]!r} is not one the rubric lists")


def to_grade(out: JudgeOutput, question: Question, rubric: Rubric, grader: str) -> Grade:
    """Turn a validated judge reply into a Grade (criteria in rubric order)."""
    by_id = {c.criterion_id: c for c in out.criteria}
    criteria = [
        CriterionGrade(
            criterion_id=c.id,
            description=c.description,
            weight=c.weight,
            score=by_id[c.id].score,
            covered=[
                Evidence(point=p.point, quote=p.quote, score=1.0) for p in by_id[c.id].covered
            ],
            missing=list(by_id[c.id].missing),
        )
        for c in rubric.criteria
    ]
    apply_red_flags(criteria, out.red_flags, rubric)
    overall = scoring.overall_score([(c.score, c.weight) for c in criteria])
    return Grade(
        question_id=question.id,
        rubric_version=rubric.version,
        grader=grader,
        criteria=criteria,
        red_flags=list(out.red_flags),
        overall=overall,
        hire_signal=scoring.hire_signal(overall),
        feedback=out.feedback.strip(),
    )


def cite(grade: Grade, question: Question, retriever, settings) -> tuple[list[Citation], list[str]]:
    """Citations for the missed points, by the same rules as the offline grader's."""
    if retriever is None:
        return [], []
    from mockloop.grading.citations import cite_missing

    missing = [(p, c.weight * (1 - c.score)) for c in grade.criteria for p in c.missing]
    return cite_missing(missing, retriever, question=question, settings=settings)


def _notes(question: Question, retriever, notes: list[Hit] | None) -> list[Hit]:
    if notes is not None or retriever is None:
        return notes or []
    try:
        return retriever.search(question.prompt, k=3)
    except Exception:  # noqa: BLE001 — the judge can grade without notes
        return []


def judge_answer(
    question: Question,
    answer: str,
    provider: Provider,
    *,
    retriever=None,
    notes: list[Hit] | None = None,
    settings=None,
    offline: Callable[..., Grade] | None = None,
) -> Grade:
    """Grade with the LLM; on failure, the offline grader's Grade plus a notice saying why."""
    started = time.perf_counter()
    rubric = rubric_for(question)
    messages = prompts.render(
        "judge",
        "grade",
        question=question.prompt,
        rubric_version=rubric.version,
        criteria=rubric.criteria,
        reference=question.reference_answer or "(none)",
        notes=_notes(question, retriever, notes),
        answer=answer,
    )
    try:
        out = provider.structured(
            messages, JudgeOutput, validate=lambda o: validate_output(o, rubric, answer)
        )
    except LLMError as exc:
        grade = _offline(offline, question, answer, retriever, settings)
        grade.notices.append(f"The LLM judge failed ({exc}); this answer was graded offline.")
        return grade
    grade = to_grade(out, question, rubric, provider.name)
    grade.citations, notices = cite(grade, question, retriever, settings)
    grade.notices += notices
    grade.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return grade


def _offline(offline, question, answer, retriever, settings) -> Grade:
    if offline is None:
        from mockloop.grading import grade_answer as offline
    return offline(question, answer, retriever=retriever, settings=settings)
