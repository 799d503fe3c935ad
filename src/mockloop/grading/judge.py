"""The LLM judge: fills the same Grade contract as the offline grader, through structured output.

The rubric, reference answer, retrieved notes and the answer go to the model as fenced data
(prompts/judge.yaml). Its reply is validated before it is trusted:
- every rubric criterion is graded exactly once, with a score in [0, 1];
- every evidence quote is found verbatim in the answer (whitespace and case aside);
- red flags named are ones the rubric lists.
A reply that fails is sent back with the reason, within the provider's bounded retries; when
the judge still fails (or the endpoint is down) the offline grader grades the answer and the
Grade carries a notice saying so. The arithmetic from criterion scores to the 0–5 overall is
done here, not by the model:

    criteria [(w=2, s=1.0), (w=1, s=0.4)], one red flag -> 5 * (2.4 / 3) - 0.5 = 3.5
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from pydantic import BaseModel

from mockloop import prompts
from mockloop.llm import LLMError, Provider
from mockloop.models import (
    HIRE_SIGNALS,
    Citation,
    Criterion,
    CriterionGrade,
    Evidence,
    Grade,
    Hit,
    Question,
    Rubric,
)

RED_FLAG_PENALTY = 0.5  # points off the 0–5 overall per red flag the judge reports
SIGNAL_BOUNDS = (1.5, 2.5, 3.25, 4.25)  # overall below each bound → HIRE_SIGNALS[i]


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


def hire_signal(overall: float) -> str:
    """`0.9 -> 'strong no hire'`, `3.0 -> 'lean hire'`, `4.6 -> 'strong hire'`."""
    for bound, signal in zip(SIGNAL_BOUNDS, HIRE_SIGNALS, strict=False):
        if overall < bound:
            return signal
    return HIRE_SIGNALS[-1]


def overall_score(criteria: list[CriterionGrade], red_flags: int) -> float:
    """5 × the weighted mean criterion score, minus RED_FLAG_PENALTY per red flag, in [0, 5]."""
    total = sum(c.weight for c in criteria)
    mean = sum(c.weight * c.score for c in criteria) / total if total else 0.0
    return round(min(5.0, max(0.0, 5.0 * mean - RED_FLAG_PENALTY * red_flags)), 2)


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def quote_in_answer(quote: str, answer: str) -> bool:
    """Whether `quote` occurs in `answer`, ignoring case, runs of whitespace and outer quotes."""
    q = _norm(quote).strip("\"'` ")
    return bool(q) and q in _norm(answer)


def rubric_for(question: Question) -> Rubric:
    """The question's rubric, or one criterion whose key points are the reference's sentences."""
    if question.rubric is not None:
        return question.rubric
    sentences = [
        s.strip() for s in re.split(r"(?<=[.!?])\s+", question.reference_answer) if s.strip()
    ]
    return Rubric(
        version="reference",
        criteria=[
            Criterion(
                id="reference",
                description="Covers what the reference answer says",
                key_points=sentences[:8] or [question.reference_answer or question.prompt],
            )
        ],
    )


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
    overall = overall_score(criteria, len(out.red_flags))
    return Grade(
        question_id=question.id,
        rubric_version=rubric.version,
        grader=grader,
        criteria=criteria,
        red_flags=list(out.red_flags),
        overall=overall,
        hire_signal=hire_signal(overall),
        feedback=out.feedback.strip(),
    )


def cite_missing(grade: Grade, retriever) -> list[Citation]:
    """One note chunk per missed point (first hit), deduplicated by chunk."""
    if retriever is None:
        return []
    seen: set[str] = set()
    citations = []
    for c in grade.criteria:
        for point in c.missing:
            try:
                hits = retriever.search(point, k=1)
            except Exception:  # noqa: BLE001 — citations are a bonus; the grade stands without
                return citations
            for h in hits:
                if h.chunk_id not in seen:
                    seen.add(h.chunk_id)
                    citations.append(
                        Citation(
                            chunk_id=h.chunk_id,
                            source=h.source,
                            heading_path=h.heading_path,
                            page=h.page,
                            point=point,
                        )
                    )
    return citations


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
    grade.citations = cite_missing(grade, retriever)
    grade.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return grade


def _offline(offline, question, answer, retriever, settings) -> Grade:
    if offline is None:
        from mockloop.grading import grade_answer as offline
    return offline(question, answer, retriever=retriever, settings=settings)
