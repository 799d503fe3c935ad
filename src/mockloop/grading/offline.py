"""The offline grader: deterministic, no LLM, no network.

Three plain parts (see DESIGN.md):
- *match*: every key point and red flag against every answer span with the fine-tuned matcher
  (match.py) — a probability that the span states it;
- *score*: arithmetic from those probabilities, the weights and the red flags to 0–5 and the
  hire signal (scoring.py), put on the humans' scale by the score map fitted on training data;
- *explain*: covered points with the sentence that states each, missed points with why they
  matter, red flags, notes — as data on the Grade (explain.py renders them).
What a criterion checks beyond its key points (a STAR part, numbers, decisions, first person)
is named in the rubric YAML (`signal`, red-flag `detector`), never guessed from its wording.
Leaves out: key points from a free-text reference (reference.py), looking up notes
(citations.py), the LLM judge (judge.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mockloop.config import Settings
from mockloop.grading import explain, scoring
from mockloop.grading.match import Matcher, shipped
from mockloop.grading.reference import reference_rubric, split_references
from mockloop.grading.signals import DETECTORS, SIGNALS, Signals, injection_spans, read_signals
from mockloop.grading.spans import Span, content_words, segment, tokens
from mockloop.grading.version import GRADER, GRADER_VERSION, grader_fingerprint  # noqa: F401
from mockloop.models import CriterionGrade, Evidence, Grade, Question, Rubric

MAX_SPANS = 800
QUOTE_SLACK = 0.05  # a shorter span this close to the best match is the better quote
FLAG_MARGIN = 0.05  # a red flag needs its span closer to the flag than to any key point
MAX_POINTS_PER_QUOTE = 3  # one sentence is the evidence for at most this many key points


@dataclass
class Answer:
    """An answer cut into spans (sentences, clauses, the whole) with their vectors."""

    text: str  # with text addressed to the grader blanked out
    spans: list[Span]
    vecs: np.ndarray
    restates: np.ndarray  # per span: True when it says nothing the question did not
    dropped: bool  # text addressed to the grader was blanked out


def read_answer(answer: str, prompt: str, matcher: Matcher) -> Answer:
    """Blank out text addressed to the grader, cut the rest into spans and encode them."""
    drop = injection_spans(answer)
    chars = list(answer)
    for s in drop:
        chars[s.start : s.end] = " " * (s.end - s.start)
    clean = "".join(chars)
    spans = [
        Span(s.start, s.end, answer[s.start : s.end], s.kind)
        for s in segment(clean, max_spans=MAX_SPANS)
        if not any(s.start < d.end and d.start < s.end for d in drop)
    ]
    prompt_words = set(content_words(prompt))
    restates = np.array([not (set(content_words(s.quote)) - prompt_words) for s in spans], bool)
    return Answer(clean, spans, matcher.encode([s.quote for s in spans]), restates, bool(drop))


def _cosines(texts: list[str], ans: Answer, matcher: Matcher) -> np.ndarray:
    """(len(texts), spans) cosines; a span that only restates the question counts for nothing."""
    if not ans.spans or not texts:
        return np.zeros((len(texts), len(ans.spans)))
    cos = matcher.encode(texts) @ ans.vecs.T
    cos[:, ans.restates] = -1.0
    return cos


def _probabilities(texts: list[str], ans: Answer, matcher: Matcher) -> np.ndarray:
    """(len(texts), spans) probabilities that each span states each text."""
    return matcher.fitted.probability(_cosines(texts, ans, matcher))


def _evidence(probs: np.ndarray, ans: Answer, used: dict[int, int]) -> tuple[float, int]:
    """(coverage, span quoted) for one point; span −1 when no span states it.

    A span is the evidence for at most MAX_POINTS_PER_QUOTE points: one sentence rarely states
    more, and a point whose only match is an already-used sentence counts as not stated."""
    if not ans.spans:
        return 0.0, -1
    free = np.array([used.get(j, 0) < MAX_POINTS_PER_QUOTE for j in range(len(ans.spans))])
    if probs.max() < scoring.COVERED:
        return float(probs.max()), -1
    if not (free & (probs >= scoring.COVERED)).any():
        return float(np.where(free, probs, 0.0).max()), -1
    masked = np.where(free, probs, -1.0)
    return float(masked.max()), _quote(masked, ans)


def _quote(probs: np.ndarray, ans: Answer) -> int:
    """The span to quote for a point: the shortest one within QUOTE_SLACK of the best, but
    never the whole answer when a sentence or clause states it."""
    best = float(probs.max())
    near = [j for j in range(len(ans.spans)) if probs[j] >= best - QUOTE_SLACK]
    parts = [j for j in near if ans.spans[j].kind != "whole"] or near
    return min(parts, key=lambda j: (len(ans.spans[j].quote), -probs[j]))


@dataclass
class Scored:
    criteria: list[CriterionGrade]
    red_flags: list[str]
    flag_quotes: dict[str, str]  # flag → the sentence that asserts it
    coverage: float  # weighted criterion score 0–1, before the score map
    whole: float | None  # cosine of the whole answer with the reference answer (None: none)
    points: float  # mean over key points of their best cosine with any span
    sig: Signals
    notes: list[str] = field(default_factory=list)


def score_rubric(question: Question, rubric: Rubric, answer: str, matcher: Matcher) -> Scored:
    """Match, then score one rubric (no rendering, no score map)."""
    ans = read_answer(answer, question.prompt, matcher)
    sig = read_signals(ans.text)
    n_words = len(tokens(ans.text))
    points = [p for c in rubric.criteria for p in c.key_points]
    cos = _cosines(points, ans, matcher)
    all_points = matcher.fitted.probability(cos) if points else np.zeros((0, len(ans.spans)))
    flags = {c.id: _flags_hit(c, ans, sig, n_words, all_points, matcher) for c in rubric.criteria}
    # A span that asserts a red flag states a misconception: neither it nor any span overlapping
    # it (the sentence around a clause, the whole answer) is evidence for any key point.
    # (The point reading, a similarity, still reads every span.)
    asserted = [(flag, ans.spans[j]) for hits in flags.values() for flag, j in hits if j >= 0]
    masked = [i for i, s in enumerate(ans.spans) if any(_overlap(s, f) for _, f in asserted)]
    evidence = cos.copy()
    evidence[:, masked] = -1
    probs = dict(zip(points, matcher.fitted.probability(evidence), strict=True))
    graded = []
    used: dict[int, int] = {}  # span → how many points it is already the evidence for
    for c in rubric.criteria:
        covs, covered, missing = [], [], []
        for p in c.key_points:
            cov, j = _evidence(probs[p], ans, used)
            covs.append(cov)
            if j >= 0:
                used[j] = used.get(j, 0) + 1
                covered.append(Evidence(point=p, quote=ans.spans[j].quote, score=round(cov, 3)))
            else:
                missing.append(p)
        hits = [flag for flag, _ in flags[c.id]]
        score = scoring.criterion_score(covs, red_flags_hit=len(hits)) if covs else 0.0
        if c.signal and ans.spans:
            value = SIGNALS[c.signal](sig)
            score = scoring.blend(score, value, c.signal_weight) * scoring.RED_FLAG_FACTOR ** len(
                hits
            )
        graded.append(
            CriterionGrade(
                criterion_id=c.id,
                description=c.description,
                weight=c.weight,
                score=round(min(1.0, score), 4),
                covered=covered,
                missing=missing,
            )
        )
    coverage = scoring.weighted_mean([(g.score, g.weight) for g in graded])
    refs = split_references(question.reference_answer or "")
    refs = [r for r in refs if r.strip()]
    whole = 0.0 if refs else None
    if refs and ans.text.strip():
        whole = float((matcher.encode([ans.text.strip()]) @ matcher.encode(refs).T).max())
    best_cos = float(cos.max(axis=1).mean()) if cos.size else 0.0
    notes = []
    if ans.spans and ans.restates.all():
        notes.append("The answer restates the question instead of answering it.")
    if ans.dropped:
        notes.append("Ignored text addressed to the grader; only the answer's content was scored.")
    hit_flags = [flag for hits in flags.values() for flag, _ in hits]
    quotes = {flag: span.quote for flag, span in asserted}
    return Scored(graded, hit_flags, quotes, coverage, whole, best_cos, sig, notes)


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _flags_hit(
    criterion, ans: Answer, sig: Signals, n_words: int, all_points, matcher
) -> list[tuple[str, int]]:
    """Red flags the answer asserts, each with the span that states it (−1 for a detector's):
    a named detector, or a span that states the flag itself (probability ≥ FLAG_P) and sits
    closer to it than to every key point of the rubric."""
    hits = []
    for flag in criterion.red_flags:
        detector = criterion.red_flag_detectors.get(flag)
        if detector:
            if DETECTORS[detector](sig, n_words):
                hits.append((flag, -1))
            continue
        if not ans.spans:
            continue
        pr = _probabilities([flag], ans, matcher)[0]
        j = int(np.argmax(pr))
        closest_point = float(all_points[:, j].max()) if len(all_points) else 0.0
        if pr[j] >= scoring.FLAG_P and pr[j] >= closest_point + FLAG_MARGIN:
            hits.append((flag, j))
    return hits


def rubrics_for(question: Question) -> list[Rubric]:
    if question.rubric is not None:
        return [question.rubric]
    refs = split_references(question.reference_answer or "")
    rubrics = [reference_rubric(r) for r in refs if r.strip()]
    if not rubrics:
        raise ValueError(f"question {question.id!r} has neither a rubric nor a reference answer")
    return rubrics


def mode_of(question: Question, scored: Scored) -> str:
    """Which fitted score map applies: a rubric with or without a reference, or reference mode."""
    if question.rubric is None:
        return "reference"
    return "rubric" if scored.whole is not None else "rubric_noref"


def readings(scored: Scored) -> tuple[float, float, float]:
    """(whole, points, coverage): what the score map reads (whole falls back to points)."""
    whole = scored.points if scored.whole is None else scored.whole
    return whole, scored.points, scored.coverage


def best_of(question: Question, answer: str, matcher: Matcher) -> tuple[Rubric, Scored]:
    """The rubric that fits the answer best (reference alternatives are each tried) and its score."""
    scored = [(r, score_rubric(question, r, answer, matcher)) for r in rubrics_for(question)]
    return max(scored, key=lambda rs: rs[1].coverage)


def grade_answer(
    question: Question,
    answer: str,
    *,
    retriever=None,
    calibration=None,
    settings: Settings | None = None,
    matcher: Matcher | None = None,
) -> Grade:
    """Grade one answer offline: criteria with quoted evidence, overall 0–5, feedback.

    No rubric → reference-answer mode (key points derived from `question.reference_answer`;
    alternatives joined with ` ||| ` are each tried and the best kept). A retriever adds
    citations for missed points. The user's stored calibration (`mockloop calibrate`) maps the
    overall to their own scale unless `calibration` names another or is False (raw).
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    matcher = shipped() if matcher is None else matcher
    answer = answer if isinstance(answer, str) else ""
    rubric, best = best_of(question, answer, matcher)
    overall = 0.0
    if answer.strip():
        overall = matcher.fitted.score(mode_of(question, best), readings(best))
        overall = scoring.penalised(overall, len(best.red_flags), best.sig.keyword_list)
    raw = None
    if calibration is None:
        from mockloop.grading.calibrate import user_calibration

        calibration = user_calibration(settings)
    if calibration:
        raw, overall = overall, round(float(calibration.apply(overall)), 3)
    grade = Grade(
        question_id=question.id,
        rubric_version=rubric.version,
        grader=GRADER,
        criteria=best.criteria,
        red_flags=best.red_flags,
        red_flag_quotes=best.flag_quotes,
        overall=overall,
        hire_signal=scoring.hire_signal(overall),
        raw_score=raw,
    )
    explain.explain(grade, question, best.sig, best.notes, answer)
    if retriever is not None:
        from mockloop.grading.citations import cite_missing

        missing = [(p, g.weight * (1 - g.score)) for g in grade.criteria for p in g.missing]
        grade.citations, notices = cite_missing(
            missing, retriever, question=question, settings=settings
        )
        grade.notices += notices
    grade.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return grade


def prefetch(pairs, settings: Settings | None = None, matcher: Matcher | None = None) -> int:
    """Encode the points and answer spans of many answers in large batches (faster than one
    small encode per answer); grading then finds every vector cached. Returns texts encoded."""
    matcher = shipped() if matcher is None else matcher
    texts: list[str] = []
    for question, answer in pairs:
        try:
            rubrics = rubrics_for(question)
        except ValueError:
            continue
        texts += [t for r in rubrics for c in r.criteria for t in c.key_points + c.red_flags]
        texts += split_references(question.reference_answer or "")
        ans = answer if isinstance(answer, str) else ""
        texts += [s.quote for s in segment(ans, max_spans=MAX_SPANS)] + [ans.strip()]
    before = len(matcher)
    matcher.encode([t for t in texts if t])
    return len(matcher) - before
