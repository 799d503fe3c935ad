"""The offline grader: deterministic, no LLM, no network.

Covers: matching answer spans to each criterion's key points with the bundled encoder plus
lexical evidence (the best span is quoted verbatim as evidence), red flags, round-specific
signals (behavioral STAR/ownership/quantified result, deep-dive trade-offs and impact, system
design stage coverage), guards against restating the question, keyword lists, padding and text
addressed to the grader, feedback text, optional citations and calibration.
Leaves out: the arithmetic (scoring.py), key points from a free-text reference (reference.py),
looking up notes (citations.py), the LLM judge (judge.py).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mockloop.config import BUNDLED_MODEL, Settings
from mockloop.grading import align, scoring
from mockloop.grading.reference import reference_rubric, split_references
from mockloop.grading.scoring import COVERED, STORY_ROUNDS, MatchFeatures
from mockloop.grading.signals import Signals, injection_spans, read_signals
from mockloop.grading.spans import Span, content_words, is_negated, segment, tokens
from mockloop.grading.why import bare, why_it_matters
from mockloop.models import Criterion, CriterionGrade, Evidence, Grade, Question, Rubric

GRADER = "offline"
GRADER_VERSION = "4"  # the grader's public version; the batch cache keys on grader_fingerprint()
MAX_SPANS = 800
TOP_SPANS = 24  # a point is matched against its 24 nearest spans by cosine only
# (floor, full): match probability → point coverage. Set on the bank itself, not on any eval.
# Story rounds keep the match model from before the align feature (scoring.STORY_MATCH) and its
# band: their descriptive points sit lower. The rubric band was (0.45, 0.85) then, between a key
# point's best match in other questions' reference answers (median 0.39) and in its own (10th
# pct 0.77), at the 49th and 82nd percentile of the bank's point-vs-reference matches. A refit
# moves it to the values at those quantiles under the new models:
# evaluation.grading.coverage_band() recomputes it.
BAND = (0.071, 0.972)
STORY_BAND = (0.3, 0.6)
QUOTE_SLACK = 0.05  # a shorter span this close to the best match is the better quote
SPAN_LEN_CAP = 30  # spans longer than this get no further length credit (padding earns nothing)

_ANTONYMS = [
    ("same", "differ"),
    ("open", "close"),
    ("increas", "decreas"),
    ("higher", "lower"),
    ("high", "low"),
    ("more", "less"),
    ("larger", "smaller"),
    ("positiv", "negat"),
    ("true", "fals"),
    ("on", "off"),
    ("connect", "disconnect"),
    ("seri", "parallel"),
    ("overfit", "underfit"),
    ("befor", "after"),
    ("insid", "outsid"),
    ("abov", "below"),
    ("maximum", "minimum"),
    ("add", "remov"),
    ("includ", "exclud"),
    ("fast", "slow"),
    ("bigger", "smaller"),
    ("wider", "narrow"),
    ("better", "wors"),
    ("gain", "loss"),
]
_ANTONYM_OF = {a: b for a, b in _ANTONYMS} | {b: a for a, b in _ANTONYMS}


FINGERPRINTED = (
    "offline.py",
    "scoring.py",
    "signals.py",
    "spans.py",
    "reference.py",
    "why.py",
    "align.py",
    "align.npz",
)


@lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """Hash of the grader's own source: any change to how grades are computed changes it."""
    folder = Path(__file__).parent
    digest = hashlib.sha256(GRADER_VERSION.encode())
    for name in FINGERPRINTED:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class _Encoded:
    spans: list[Span]
    span_vecs: np.ndarray
    span_words: list[set[str]]
    span_bigrams: list[set[tuple[str, str]]]
    span_negated: list[bool]
    span_len: list[float]
    span_prompt_cos: list[float]
    span_discount: list[float]
    span_tokens: list[np.ndarray]  # projected for the align model


_cache: dict[tuple[str, str], np.ndarray] = {}
_token_cache: dict[str, np.ndarray] = {}  # text → its bundled-encoder tokens, projected
CACHE_CAP = 50_000


def _remember_tokens(texts: Sequence[str], tokens_: Sequence[np.ndarray]) -> None:
    project = align.shipped().project
    for t, tok in zip(texts, tokens_, strict=True):
        _token_cache[t] = project(tok)


def _embed(texts: Sequence[str], model: str) -> np.ndarray:
    """Encode with a per-text cache (key points and prompts repeat across answers).

    With the bundled encoder the same pass also caches each text's tokens for the align model.
    """
    from mockloop.embeddings import encode, encode_with_tokens

    missing = [t for t in dict.fromkeys(texts) if (model, t) not in _cache]
    if missing:
        if len(_cache) > CACHE_CAP or len(_token_cache) > CACHE_CAP:
            _cache.clear()
            _token_cache.clear()
        if model == BUNDLED_MODEL:
            vecs, toks = encode_with_tokens(missing, name=model)
            _remember_tokens(missing, toks)
        else:
            vecs = encode(missing, name=model)
        for t, v in zip(missing, vecs, strict=True):
            _cache[(model, t)] = v
    if not texts:
        return np.zeros((0, 0), np.float32)  # never multiplied: callers skip empty span sets
    return np.stack([_cache[(model, t)] for t in texts])


def _tokens(texts: Sequence[str]) -> list[np.ndarray]:
    """Projected token embeddings for the align model (always the bundled encoder's)."""
    from mockloop.embeddings import encode_with_tokens

    missing = [t for t in dict.fromkeys(texts) if t not in _token_cache]
    if missing:
        _remember_tokens(missing, encode_with_tokens(missing)[1])
    return [_token_cache[t] for t in texts]


def prefetch(pairs: Sequence[tuple[Question, str]], settings: Settings | None = None) -> int:
    """Encode the prompts, key points and answer spans of many answers in large batches.

    Grading then finds every vector in the cache; batch and eval runs call this per block of
    rows, since one big encode call is much faster than one small call per answer.
    Returns how many texts were encoded.
    """
    settings = settings or Settings.from_env()
    texts: list[str] = []
    for question, answer in pairs:
        texts.append(question.prompt)
        try:
            rubrics = _rubrics(question)
        except ValueError:
            continue
        texts += [t for r in rubrics for c in r.criteria for t in c.key_points + c.red_flags]
        drop = injection_spans(answer)
        texts += [
            answer[s.start : s.end] for s in segment(_strip(answer, drop), max_spans=MAX_SPANS)
        ]
    todo = [t for t in dict.fromkeys(texts) if (settings.embed_model, t) not in _cache]
    _embed(todo, settings.embed_model)
    return len(todo)


def _strip(answer: str, drop: list[Span]) -> str:
    """The answer with the given spans blanked out (offsets of the rest unchanged)."""
    chars = list(answer)
    for s in drop:
        chars[s.start : s.end] = " " * (s.end - s.start)
    return "".join(chars)


def _encode_answer(answer: str, drop: list[Span], prompt_words: set[str], prompt_vec, model: str):
    blanked = _strip(answer, drop)
    spans = [
        Span(s.start, s.end, answer[s.start : s.end], s.kind)
        for s in segment(blanked, max_spans=MAX_SPANS)
        if not any(s.start < d.end and d.start < s.end for d in drop)
    ]
    vecs = _embed([s.quote for s in spans], model)
    word_lists = [content_words(s.quote) for s in spans]
    words = [set(w) for w in word_lists]
    prompt_cos = [float(v @ prompt_vec) for v in vecs]
    discount = []
    for w, pc in zip(words, prompt_cos, strict=True):
        novel = w - prompt_words
        if not novel:
            discount.append(0.2)  # only restates the question
        elif pc > 0.85 and len(novel) / max(1, len(w)) < 0.34:
            discount.append(0.5)
        else:
            discount.append(1.0)
    return _Encoded(
        spans=spans,
        span_vecs=vecs,
        span_words=words,
        span_bigrams=[_bigrams(w) for w in word_lists],
        span_negated=[is_negated(s.quote) for s in spans],
        span_len=[math.log1p(min(SPAN_LEN_CAP, len(tokens(s.quote)))) for s in spans],
        span_prompt_cos=prompt_cos,
        span_discount=discount,
        span_tokens=_tokens([s.quote for s in spans]),
    )


def _antonym_clash(point_words: set[str], span_words: set[str]) -> bool:
    return any(_ANTONYM_OF.get(w) in span_words and w not in span_words for w in point_words)


def _bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))


@dataclass
class _Point:
    text: str
    vec: np.ndarray
    words: set[str]
    bigrams: set[tuple[str, str]]
    negated: bool
    length: float
    tokens: np.ndarray


def _point(text: str, vec: np.ndarray, tokens_: np.ndarray) -> _Point:
    words = content_words(text)
    return _Point(
        text,
        vec,
        set(words),
        _bigrams(words),
        is_negated(text),
        math.log1p(len(tokens(text))),
        tokens_,
    )


def match_features(
    point: _Point, enc: _Encoded, j: int, prompt_words: set[str], aligned: float = 0.0
) -> MatchFeatures:
    """Features of span j of the answer against one key point (`aligned`: the align model's)."""
    sw = enc.span_words[j]
    pw = point.words
    novel = pw - prompt_words
    recall = len(pw & sw) / len(pw) if pw else 0.0
    return MatchFeatures(
        cosine=float(enc.span_vecs[j] @ point.vec),
        prompt_cosine=enc.span_prompt_cos[j],
        recall=recall,
        precision=len(pw & sw) / len(sw) if sw else 0.0,
        novel_recall=len(novel & sw) / len(novel) if novel else recall,
        bigram_recall=len(point.bigrams & enc.span_bigrams[j]) / len(point.bigrams)
        if point.bigrams
        else recall,
        negation_mismatch=float(point.negated != enc.span_negated[j]),
        antonym=float(_antonym_clash(pw, sw)),
        span_len=enc.span_len[j],
        point_len=point.length,
        extra=len(sw - prompt_words - pw) / len(sw) if sw else 0.0,
        align=aligned,
    )


def _best_match(
    point: _Point,
    enc: _Encoded,
    prompt_words: set[str],
    model: scoring.MatchModel = scoring.DEFAULT_MATCH,
) -> tuple[float, int]:
    """(match probability, span to quote) for a point; (0, -1) when the answer has no spans.

    The probability is the best over spans; the quote is the shortest span within
    QUOTE_SLACK of it, so a clause that states the point is quoted rather than the whole answer.
    """
    if not enc.spans:
        return 0.0, -1
    cos = enc.span_vecs @ point.vec
    order = [int(j) for j in np.argsort(-cos)[:TOP_SPANS]]
    if model.align:
        aligned = align.shipped().probability(point.tokens, [enc.span_tokens[j] for j in order])
    else:
        aligned = np.zeros(len(order))
    probs = {
        j: scoring.match_probability(match_features(point, enc, j, prompt_words, float(a)), model)
        * enc.span_discount[j]
        for j, a in zip(order, aligned, strict=True)
    }
    best = max(probs.values())
    near = [j for j, p in probs.items() if p >= best - QUOTE_SLACK]
    return best, min(near, key=lambda j: (len(enc.spans[j].quote), -probs[j]))


def best_features(
    question: Question,
    point: str,
    answer: str,
    settings: Settings | None = None,
    align_model: align.AlignModel | None = None,
) -> MatchFeatures | None:
    """Features of the answer span that best matches one point (used to refit MatchModel).

    `align_model` replaces the shipped one (the refit scores each fold with a model that did
    not see it).
    """
    settings = settings or Settings.from_env()
    model = settings.embed_model
    prompt_words = set(content_words(question.prompt))
    prompt_vec = _embed([question.prompt], model)[0]
    enc = _encode_answer(answer, injection_spans(answer), prompt_words, prompt_vec, model)
    pt = _point(point, _embed([point], model)[0], _tokens([point])[0])
    if not enc.spans:
        return None
    if align_model is not None:
        project = align_model.project
        from mockloop.embeddings import encode_with_tokens

        raw = encode_with_tokens([point] + [s.quote for s in enc.spans])[1]
        pt_tokens, span_tokens = project(raw[0]), [project(t) for t in raw[1:]]
    else:
        align_model, pt_tokens, span_tokens = align.shipped(), pt.tokens, enc.span_tokens
    aligned = align_model.probability(pt_tokens, span_tokens)
    feats = [
        match_features(pt, enc, j, prompt_words, float(aligned[j])) for j in range(len(enc.spans))
    ]
    scores = [
        scoring.match_probability(f) * d for f, d in zip(feats, enc.span_discount, strict=True)
    ]
    return feats[int(np.argmax(scores))]


_STRUCTURAL_FLAGS: list[tuple[re.Pattern, callable]] = [
    (
        re.compile(r"only what the team|never what i did|first person", re.I),
        lambda s, n: s.first_plural >= 2 and s.first_singular == 0,
    ),
    (
        re.compile(r"decision without (a )?justification|no reasoning behind", re.I),
        lambda s, n: bool(s.unjustified),
    ),
    (
        re.compile(r"no number|never measured|no metric|with no (number|metric)", re.I),
        lambda s, n: n >= 15 and not s.quantities,
    ),
    (
        re.compile(r"ends without saying how|without saying how things turned", re.I),
        lambda s, n: n >= 15 and not s.star.get("result"),
    ),
    (
        re.compile(r"never reaches the action", re.I),
        lambda s, n: n >= 15 and not s.star.get("action"),
    ),
]


def _red_flag_hit(
    flag: _Point,
    enc: _Encoded,
    sig: Signals,
    n_words: int,
    prompt_words: set[str],
    model: scoring.MatchModel = scoring.DEFAULT_MATCH,
) -> bool:
    for pattern, detector in _STRUCTURAL_FLAGS:
        if pattern.search(flag.text):
            return detector(sig, n_words)
    prob, j = _best_match(flag, enc, prompt_words, model)
    return j >= 0 and prob >= 0.9 and float(enc.span_vecs[j] @ flag.vec) >= 0.6


def _signal_for(criterion: Criterion, round_name: str, sig: Signals) -> tuple[float, float] | None:
    """(signal 0–1, blend weight) for criteria a surface signal speaks to, else None."""
    key = f"{criterion.id} {criterion.description}".lower()
    if re.search(r"quantif|with a number|backs the result", key):
        return min(1.0, len(sig.quantities) / 2), 0.5
    if re.search(r"owner|first person", key):
        return sig.ownership, 0.4
    if round_name == "deep-dive" and re.search(r"alternativ|trade-?off", key):
        if not sig.decisions:
            return 0.0, 0.3
        return 1 - len(sig.unjustified) / len(sig.decisions), 0.4
    if round_name == "deep-dive" and re.search(r"impact", key):
        return min(1.0, len(sig.quantities) / 2), 0.4
    if round_name == "behavioral" and criterion.id in sig.star:
        return float(sig.star[criterion.id]), 0.4
    if round_name == "behavioral" and re.search(r"reflect", key):
        return float(sig.reflection), 0.4
    return None


@dataclass
class _Scored:
    criteria: list[CriterionGrade]
    red_flags: list[str]
    overall: float
    quality: float
    notes: list[str]
    sig: Signals  # what the detectors read in the answer


def _score_rubric(question: Question, rubric: Rubric, answer: str, settings: Settings) -> _Scored:
    model = settings.embed_model
    prompt_words = set(content_words(question.prompt))
    prompt_vec = _embed([question.prompt], model)[0]
    drop = injection_spans(answer)
    enc = _encode_answer(answer, drop, prompt_words, prompt_vec, model)
    clean = _strip(answer, drop)
    sig = read_signals(clean)
    n_words = len(tokens(clean))
    notes: list[str] = []
    if drop:
        notes.append("Ignored text addressed to the grader; only the answer's content was scored.")

    points = [p for c in rubric.criteria for p in c.key_points]
    flags = [f for c in rubric.criteria for f in c.red_flags]
    vecs = _embed(points + flags, model)
    toks = _tokens(points + flags)  # one batch (already cached by _embed for the bundled model)
    pts = {t: _point(t, v, k) for t, v, k in zip(points + flags, vecs, toks, strict=True)}

    # Story rounds grade against descriptive points ("states the outcome with a number") that a
    # concrete story matches only loosely, so a lower match already counts as covering them.
    story = question.round in STORY_ROUNDS
    coverage_band = STORY_BAND if story else BAND
    match_model = scoring.STORY_MATCH if story else scoring.DEFAULT_MATCH
    graded: list[CriterionGrade] = []
    hit_flags: list[str] = []
    for c in rubric.criteria:
        covs, covered, missing = [], [], []
        for p in c.key_points:
            prob, j = _best_match(pts[p], enc, prompt_words, match_model)
            cov = scoring.point_coverage(prob, *coverage_band)
            covs.append(cov)
            if cov >= COVERED and j >= 0:
                covered.append(Evidence(point=p, quote=enc.spans[j].quote, score=round(cov, 3)))
            else:
                missing.append(p)
        hits = [
            f
            for f in c.red_flags
            if enc.spans and _red_flag_hit(pts[f], enc, sig, n_words, prompt_words, match_model)
        ]
        hit_flags += hits
        score = scoring.criterion_score(covs, red_flags_hit=len(hits)) if covs else 0.0
        signal = _signal_for(c, question.round, sig) if enc.spans else None
        if signal is not None:
            score = scoring.blend(score, *signal) * scoring.RED_FLAG_FACTOR ** len(hits)
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

    quality = 1.0
    if sig.keyword_list:
        quality *= 0.5
        notes.append("The answer is a bare list of terms; explain how they connect to earn credit.")
    if enc.spans and all(d < 1.0 for d in enc.span_discount):
        quality *= 0.4
        notes.append("The answer mostly restates the question instead of answering it.")
    n_sents = max(1, len(re.findall(r"[.!?\n]", clean)))
    if n_words > 40 and len({s.quote for s in enc.spans if s.kind == "sentence"}) < 0.5 * n_sents:
        quality *= 0.85
        notes.append("The answer repeats itself; repetition adds nothing to the score.")
    if len(segment(clean, max_spans=MAX_SPANS + 1)) > MAX_SPANS:
        notes.append(f"Only the first {MAX_SPANS} sentences and clauses were read.")
    overall = scoring.overall_score([(g.score, g.weight) for g in graded], quality)
    return _Scored(graded, hit_flags, overall, quality, notes, sig)


def _round_notes(question: Question, scored: _Scored) -> list[str]:
    """Round-specific lines of feedback (STAR, stage coverage, decisions and their reasons)."""
    sig = scored.sig
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
        touched = [g for g in scored.criteria if g.covered]
        deep = [g for g in scored.criteria if len(g.covered) >= 2]
        untouched = [g.description or g.criterion_id for g in scored.criteria if not g.covered]
        out.append(
            f"Stages covered: {len(touched)}/{len(scored.criteria)}; in depth (≥ 2 points): "
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


def _feedback(question: Question, answer: str, scored: _Scored, hire: str) -> str:
    if not answer.strip():
        return (
            "No answer was given, so nothing could be credited (0/5). Try answering in a few "
            "sentences: the main idea first, then why it holds and one example."
        )
    lines = [f"Overall {scored.overall:.1f}/5 ({hire})."]
    strong = sorted(
        (g for g in scored.criteria if g.score >= 0.7), key=lambda g: -g.score * g.weight
    )
    for g in strong[:3]:
        quote = f" — “{g.covered[0].quote[:140]}”" if g.covered else ""
        lines.append(f"Strong: {g.description or g.criterion_id}{quote}.")
    if not strong:
        lines.append("Nothing in the answer fully met a criterion yet.")
    weak = sorted(
        (g for g in scored.criteria if g.missing), key=lambda g: -(1 - g.score) * g.weight
    )
    for g in weak[:4]:
        why = why_it_matters(g, g.missing[0], question.round)
        lines.append(f"Missing: {bare(g.missing[0])} — why it matters: {why}.")
        if len(g.missing) > 1:
            also = "; ".join(bare(p) for p in g.missing[1:3])
            lines.append(f"  Also missing under “{g.description or g.criterion_id}”: {also}.")
    for flag in scored.red_flags:
        lines.append(f"Red flag: {flag}.")
    lines += _round_notes(question, scored)
    lines += scored.notes
    return "\n".join(lines)


def _rubrics(question: Question) -> list[Rubric]:
    if question.rubric is not None:
        return [question.rubric]
    refs = split_references(question.reference_answer or "")
    rubrics = [reference_rubric(r) for r in refs if r.strip()]
    if not rubrics:
        raise ValueError(f"question {question.id!r} has neither a rubric nor a reference answer")
    return rubrics


def grade_answer(
    question: Question,
    answer: str,
    *,
    retriever=None,
    calibration=None,
    settings: Settings | None = None,
) -> Grade:
    """Grade one answer offline: criteria with quoted evidence, overall 0–5, feedback.

    No rubric → reference-answer mode (key points derived from `question.reference_answer`;
    alternatives joined with ` ||| ` are each tried and the best kept). A retriever adds
    citations for missed points; a calibration maps the raw overall to the user's scale.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    answer = answer if isinstance(answer, str) else ""
    rubrics = _rubrics(question)
    best_rubric, best = rubrics[0], None
    for rubric in rubrics:
        scored = _score_rubric(question, rubric, answer, settings)
        if best is None or scored.overall > best.overall:
            best_rubric, best = rubric, scored
    overall, raw = best.overall, None
    if calibration is not None:
        raw, overall = overall, round(float(calibration.apply(overall)), 3)
    hire = scoring.hire_signal(overall)
    best.overall = overall
    grade = Grade(
        question_id=question.id,
        rubric_version=best_rubric.version,
        grader=GRADER,
        criteria=best.criteria,
        red_flags=best.red_flags,
        overall=overall,
        hire_signal=hire,
        feedback=_feedback(question, answer, best, hire),
        raw_score=raw,
    )
    if retriever is not None:
        from mockloop.grading.citations import cite_missing

        missing = [(p, g.weight * (1 - g.score)) for g in grade.criteria for p in g.missing]
        grade.citations, notices = cite_missing(
            missing, retriever, question=question, settings=settings
        )
        grade.notices += notices
    grade.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return grade
