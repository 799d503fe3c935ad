"""Reference-answer mode: a rubric derived from a free-text reference answer.

With no rubric, the grader still needs key points. A short reference (one sentence, ≤ 30 words)
is one key point; a longer one is cut into sentences, and long sentences into clauses, keeping
pieces with at least three content words and dropping near-duplicates. Several references
(joined with ` ||| `, as in SemEval-style tables) become alternative rubrics: the grader keeps
the best-scoring one.

>>> derive_key_points("Bulb A is still in a closed path with the battery.")
['Bulb A is still in a closed path with the battery.']
>>> derive_key_points("L2 shrinks weights towards zero. L1 drives some weights exactly to zero, "
...                   "so it selects features.")
['L2 shrinks weights towards zero.', 'L1 drives some weights exactly to zero, so it selects features.']

Leaves out: matching the answer to the points (offline.py).
"""

from __future__ import annotations

import hashlib

from mockloop.grading.spans import CLAUSE_CUT, content_words, cut_spans, sentences, tokens
from mockloop.models import Criterion, Question, Rubric

REFERENCE_SEPARATOR = " ||| "
MAX_POINTS = 12


def derive_key_points(reference: str, *, short_words: int = 30) -> list[str]:
    """Key points from a free-text reference, in order, without near-duplicates."""
    reference = reference.strip()
    if not reference:
        return []
    sents = sentences(reference)
    if len(sents) <= 1 and len(tokens(reference)) <= short_words:
        return [reference]
    points: list[str] = []
    seen: list[set[str]] = []
    for s in sents:
        pieces = [s.quote]
        if len(tokens(s.quote)) > short_words:
            pieces = [reference[a:b] for a, b in cut_spans(reference, CLAUSE_CUT, s.start, s.end)]
        for piece in pieces:
            words = set(content_words(piece))
            if len(words) < 3 and len(sents) > 1:
                continue
            if any(len(words & w) / max(1, len(words)) >= 0.75 for w in seen):
                continue
            seen.append(words)
            points.append(piece)
    return (points or [reference])[:MAX_POINTS]


def split_references(reference: str) -> list[str]:
    """Alternative references joined with ` ||| ` → a list (a single one stays as it is)."""
    parts = [p.strip() for p in reference.split(REFERENCE_SEPARATOR.strip())]
    return [p for p in parts if p] or [reference]


def reference_rubric(reference: str) -> Rubric:
    """A one-criterion rubric whose key points come from the reference answer."""
    digest = hashlib.sha256(reference.encode("utf-8")).hexdigest()[:8]
    return Rubric(
        version=f"ref-{digest}",
        criteria=[
            Criterion(
                id="reference",
                description="Covers what the reference answer says",
                key_points=derive_key_points(reference),
            )
        ],
    )


def with_reference_rubric(question: Question, reference: str | None = None) -> Question:
    """The question with a rubric derived from its (or the given) reference answer."""
    return question.model_copy(
        update={"rubric": reference_rubric(reference or question.reference_answer)}
    )
