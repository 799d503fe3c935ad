"""Follow-ups that target what an answer missed without revealing the rubric, and the leak check.

Covers:
- `missed_points(grade)`: the missed key points, most costly criterion first;
- `leaks(text, question)`: rubric key points, red flags or reference-answer sentences that a text
  shown to the candidate repeats (any 4-word run with at least two content words that the
  question's own prompt does not already contain; a short point leaks when repeated whole);
- `choose_follow_up(...)`: the bank's own follow-up nearest a missed point, else a template that
  names the missed area in at most three of its words, grounded in the candidate's notes;
- `nearest_point(text, question)`: which key point a follow-up is about (the eval's check).
Leaves out: phrasing with an LLM (rounds/base.py does that, then re-checks for leaks).

    >>> leaks("Why would clicks from the old ranker mislead training?", q)   # no 4-word run
    []
    >>> leaks("Labels from clicks are biased by position. Discuss.", q)
    ['Labels from clicks are biased by position, so log the position shown']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mockloop.grading.spans import STOPWORDS, tokens
from mockloop.models import Grade, Question

NGRAM = 4
MIN_TARGET_COSINE = 0.3  # a bank follow-up must be at least this close to the point it targets
META_WORDS = frozenset(
    [
        "asks",
        "mentions",
        "mention",
        "explains",
        "explain",
        "describes",
        "describe",
        "states",
        "state",
        "names",
        "name",
        "says",
        "discusses",
        "notes",
        "gives",
        "covers",
        "shows",
        "includes",
        "include",
        "considers",
        "consider",
        "candidate",
        "answer",
        "measures",
        "measure",
        "e",
        "g",
        "eg",
        "etc",
        "like",
        "behind",
        "against",
        "within",
        "without",
        "across",
        "between",
        "through",
        "during",
        "before",
        "after",
        "per",
        "via",
        "instead",
        "rather",
        "least",
        "every",
        "whether",
        "while",
        "whose",
        "based",
        "using",
        "used",
        "including",
        "versus",
        "another",
        "other",
        "others",
        "something",
        "someone",
    ]
)


def _norm_tokens(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in tokens(text)]


def _ngrams(toks: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text or "") if len(s.strip()) > 3]


def secrets(question: Question) -> list[str]:
    """Everything a question shown to the candidate must not repeat."""
    out: list[str] = []
    if question.rubric is not None:
        for c in question.rubric.criteria:
            out += c.key_points + c.red_flags
    out += _sentences(question.reference_answer)
    return [s for s in out if s.strip()]


def leaks(text: str, question: Question, allowed: str = "") -> list[str]:
    """The secrets of `question` that `text` repeats (see the module docstring)."""
    toks = _norm_tokens(text)
    shown = _ngrams(toks, NGRAM)
    free = _ngrams(_norm_tokens(question.prompt + "\n" + allowed), NGRAM)
    joined = " " + " ".join(toks) + " "
    free_joined = " " + " ".join(_norm_tokens(question.prompt + " " + allowed)) + " "
    found = []
    for secret in secrets(question):
        stoks = _norm_tokens(secret)
        content = [t for t in stoks if t not in STOPWORDS]
        if len(stoks) < NGRAM:
            phrase = " " + " ".join(stoks) + " "
            if len(content) >= 2 and phrase in joined and phrase not in free_joined:
                found.append(secret)
            continue
        for gram in _ngrams(stoks, NGRAM) & shown:
            if gram not in free and sum(t not in STOPWORDS for t in gram) >= 2:
                found.append(secret)
                break
    return found


def missed_points(grade: Grade) -> list[str]:
    """Missed key points, the criterion that cost most (weight × shortfall) first."""
    ranked = sorted(grade.criteria, key=lambda c: -c.weight * (1.0 - c.score))
    return [p for c in ranked for p in c.missing]


def all_points(question: Question) -> list[str]:
    """The key points an answer is graded on (derived from the reference when there's no rubric,
    exactly as the offline grader derives them)."""
    if question.rubric is None:
        from mockloop.grading.reference import derive_key_points, split_references

        refs = split_references(question.reference_answer or "")
        return [p for ref in refs for p in derive_key_points(ref)]
    return [p for c in question.rubric.criteria for p in c.key_points]


def cue(point: str, prompt: str = "", others: list[str] = (), limit: int = 3) -> str:
    """At most `limit` telling words of a point, in its order: the area, never the point itself.

    Words the prompt already uses, or other key points share, tell the candidate least, so the
    point's own distinctive words are preferred (longer first):
    `cue("Labels from clicks are biased by position, so log the position shown")`
    -> 'labels, clicks and position'
    """
    avoid = set(_norm_tokens(prompt))
    shared = {t for o in others if o != point for t in _norm_tokens(o)}
    words: list[str] = []
    for t in _norm_tokens(point):
        if t in STOPWORDS or t in META_WORDS or len(t) < 3 or t.isdigit() or t in words:
            continue
        words.append(t)
    if not words:
        return "that part"
    rank = sorted(words, key=lambda w: (w in avoid, w in shared, -len(w), words.index(w)))
    keep = set(rank[:limit])
    chosen = [w for w in words if w in keep]
    if len(chosen) == 1:
        return chosen[0]
    return ", ".join(chosen[:-1]) + " and " + chosen[-1]


_CACHE: dict[tuple[str, str], np.ndarray] = {}
_CACHE_MAX = 20_000


def _encode(texts: list[str], settings) -> np.ndarray:
    """Encode with a per-process cache: key points and follow-ups recur on every answer."""
    from mockloop.embeddings import encode

    model = settings.embed_model
    if not texts:
        return encode([], model)
    todo = list(dict.fromkeys(t for t in texts if (model, t) not in _CACHE))
    if todo:
        if len(_CACHE) + len(todo) > _CACHE_MAX:
            _CACHE.clear()
        for t, v in zip(todo, encode(todo, model), strict=True):
            _CACHE[(model, t)] = v
    return np.stack([_CACHE[(model, t)] for t in texts])


def nearest_point(text: str, question: Question, settings) -> tuple[str, float] | None:
    """The key point of `question` closest to `text` by the bundled encoder, with its cosine."""
    points = all_points(question)
    if not points:
        return None
    vecs = _encode([text] + points, settings)
    sims = vecs[1:] @ vecs[0]
    best = int(np.argmax(sims))
    return points[best], float(sims[best])


@dataclass
class FollowUp:
    text: str
    target: str  # the missed key point it probes (kept in the log, never shown)
    source: str  # "bank" · "template" · "press" · "star"
    note: str | None = None  # the candidate's note that holds the point, shown beside the question


def choose_follow_up(
    question: Question,
    grade: Grade,
    *,
    settings,
    asked: list[str] = (),
    scope: Question | None = None,
    candidates: list[str] | None = None,
    note=None,
    template: str = "What about {cue}? How does it come into your answer?",
) -> FollowUp | None:
    """A follow-up on the costliest missed point, or None when nothing was missed.

    `asked` holds follow-ups already asked (in this round), which are not asked again.
    """
    missed = missed_points(grade)
    if not missed:
        return None
    # A bank follow-up qualifies when, among all the prompt's key points (`scope`: the whole
    # design prompt for a stage), the one it is closest to is a point this answer missed.
    points = all_points(scope or question)
    pool = question.follow_ups if candidates is None else candidates
    bank = [f for f in pool if f not in asked and not leaks(f, question)]
    if bank and points:
        vecs = _encode(bank + points, settings)
        sims = vecs[: len(bank)] @ vecs[len(bank) :].T  # follow-up × point
        candidates = []
        for i, f in enumerate(bank):
            j = int(np.argmax(sims[i]))
            if points[j] in missed and sims[i, j] >= MIN_TARGET_COSINE:
                candidates.append((missed.index(points[j]), -float(sims[i, j]), f, points[j]))
        if candidates:
            _, _, text, target = min(candidates)
            return FollowUp(text, target, "bank", _pointer(note))
    target = missed[0]
    text = template.format(cue=cue(target, question.prompt, all_points(scope or question)))
    if leaks(text, question):  # a cue can never be 4 words, but a template might be unlucky
        text = "Can you go one level deeper on that? What did you leave out?"
    if text in asked:
        return None
    return FollowUp(text, target, "template", _pointer(note))


def _pointer(note) -> str | None:
    """How a follow-up points at the candidate's own note (kept apart from the question, whose
    words should be about the missed point alone)."""
    return f"Your notes touch on this: {note.citation}" if note is not None else None
