"""Citations for what an answer missed: the note chunks that hold each missing key point.

Covers: asking a retriever (anything with `.search(query, k) -> list[Hit]`) for each missed
point, most important first, and keeping only chunks that really state the point — checked
with the bundled encoder and content-word overlap, since retrieval scores (RRF, BM25) are not
comparable across queries. A weak match is skipped rather than cited as noise, and so is a chunk
about another subject that happens to state the point (a ranking cheat-sheet for a behavioral
question's "compares the result with the baseline"): the chunk must also be close to the
question itself — the mean direction of its prompt and key points (or reference answer).
A story (a STAR section, or a note its tags or folder mark as one) is cited only for behavioral
questions: it tells what the candidate did, so it holds no knowledge to reread for a threshold
question even when its words state the point ("we moved the threshold to 0.7 …").
Leaves out: building the retriever or the store (mockloop.retrieval, mockloop.store), and
stories told without STAR headings, tags or folder, which only the whole note reveals
(mockloop.notes.routing).
"""

from __future__ import annotations

import numpy as np

from mockloop.config import Settings
from mockloop.grading.spans import content_words
from mockloop.models import Citation, Hit, Question
from mockloop.notes.routing import ALIAS_ROUND, slug

MIN_COSINE = 0.45  # a chunk this close to the point, by the bundled encoder, holds it
MIN_COSINE_WITH_WORDS = 0.3  # ... or this close and sharing half the point's content words
MAX_POINTS = 5
PER_POINT = 2
# A cited chunk must be this close to the question's subject (the normalised mean of its prompt
# and key points) — unless it states the point outright (STRONG_COSINE). Set on the sample
# corpus (corpus/, 72 eval answers across rounds, 275 citations before): the off-topic
# citations read there sat at 0.16–0.20 with point cosine 0.39–0.51 (a ranking cheat-sheet on
# CUPED cited for behavioral questions' "compares the result with the baseline", LambdaRank
# notes for an ETA design's "gradient-boosted trees as a tabular baseline"); a "baselines
# first" note at 0.16 states that ETA point at 0.56 and is kept; the rest sat at 0.29 and up.
MIN_SUBJECT_COSINE = 0.25
STRONG_COSINE = 0.55


def supports(point: str, chunk_text: str, cosine: float, subject: float | None = None) -> bool:
    """Whether a chunk is strong enough evidence for a point to cite it.

    `cosine`: the chunk against the point; `subject`: the chunk against the question's subject
    (None when there is no question to compare with).
    """
    if subject is not None and subject < MIN_SUBJECT_COSINE and cosine < STRONG_COSINE:
        return False  # about another subject, and only loosely about the point
    if cosine >= MIN_COSINE:
        return True
    words = set(content_words(point))
    if not words or cosine < MIN_COSINE_WITH_WORDS:
        return False
    return len(words & set(content_words(chunk_text))) / len(words) >= 0.5


_STAR_SECTIONS = {"situation", "task", "action", "actions", "result", "results", "outcome"}


def is_story(hit: Hit) -> bool:
    """Whether a hit is part of a STAR story: under a Situation/Task/Action/Result heading, or
    in a note titled "STAR: …", tagged `story`, or in a folder named for the behavioral round."""
    heading = slug(hit.heading_path[-1]) if hit.heading_path else ""
    title = (hit.title or (hit.heading_path[0] if hit.heading_path else "")).lower()
    folders = [slug(f) for f in hit.source.split("/")[:-1]]
    names = [slug(t) for t in hit.tags] + folders
    return (
        heading in _STAR_SECTIONS
        or title.startswith(("star:", "story:"))
        or any(ALIAS_ROUND.get(n) == "behavioral" for n in names)
    )


def cite_missing(
    missing: list[tuple[str, float]],
    retriever,
    *,
    question: Question | None = None,
    settings: Settings | None = None,
    k: int = 4,
) -> tuple[list[Citation], list[str]]:
    """(citations, notices) for missed points given as (point, importance) pairs."""
    from mockloop.embeddings import encode_cached as _embed

    settings = settings or Settings.from_env()
    subject = None if question is None else _subject_vector(question, settings.embed_model)
    ranked = [p for p, _ in sorted(missing, key=lambda pw: -pw[1])]
    points = list(dict.fromkeys(ranked))[:MAX_POINTS]
    citations: list[Citation] = []
    for point in points:
        query = point if question is None else f"{point} ({question.topic})"
        try:
            hits = list(retriever.search(query, k))
        except Exception as exc:  # a broken store must not lose the grade
            return citations, [f"Notes could not be searched for citations: {exc}"]
        if not hits:
            continue
        chunks = _hit_vectors(hits, settings.embed_model)
        cosines = chunks @ _embed([point], settings.embed_model)[0]
        about = [None] * len(hits) if subject is None else [float(c) for c in chunks @ subject]
        ranked_hits = sorted(zip(hits, cosines, about, strict=True), key=lambda hc: -float(hc[1]))
        kept = 0
        for hit, cos, on_subject in ranked_hits:
            if kept >= PER_POINT or not supports(point, hit.text, float(cos), on_subject):
                continue
            if question is not None and question.round != "behavioral" and is_story(hit):
                continue
            if any(c.chunk_id == hit.chunk_id and c.point == point for c in citations):
                continue
            citations.append(
                Citation(
                    chunk_id=hit.chunk_id,
                    source=hit.source,
                    heading_path=list(hit.heading_path),
                    page=hit.page,
                    point=point,
                )
            )
            kept += 1
    return citations, []


def _hit_vectors(hits: list, model: str) -> np.ndarray:
    """The vectors the hits came with (the store's, of each chunk's passage), else encoded."""
    from mockloop.embeddings import encode_cached as _embed

    if all(h.vector is not None for h in hits):
        return np.array([h.vector for h in hits], dtype=np.float32)
    return _embed([h.text for h in hits], model)


def _subject_vector(question: Question, model: str) -> np.ndarray:
    """The question's subject: the normalised mean of its prompt and key points (or reference)."""
    from mockloop.embeddings import encode_cached as _embed

    texts = [question.prompt]
    if question.rubric is not None:
        texts += [p for c in question.rubric.criteria for p in c.key_points]
    elif question.reference_answer:
        texts.append(question.reference_answer)
    mean = _embed(texts, model).mean(axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)
