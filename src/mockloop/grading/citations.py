"""Citations for what an answer missed: the note chunks that hold each missing key point.

Covers: asking a retriever (anything with `.search(query, k) -> list[Hit]`) for each missed
point, most important first, and keeping only chunks that really state the point — checked
with the bundled encoder and content-word overlap, since retrieval scores (RRF, BM25) are not
comparable across queries. A weak match is skipped rather than cited as noise.
Leaves out: building the retriever or the store (mockloop.retrieval, mockloop.store).
"""

from __future__ import annotations

from mockloop.config import Settings
from mockloop.grading.spans import content_words
from mockloop.models import Citation, Question

MIN_COSINE = 0.45  # a chunk this close to the point, by the bundled encoder, holds it
MIN_COSINE_WITH_WORDS = 0.3  # ... or this close and sharing half the point's content words
MAX_POINTS = 5
PER_POINT = 2


def supports(point: str, chunk_text: str, cosine: float) -> bool:
    """Whether a chunk is strong enough evidence for a point to cite it."""
    if cosine >= MIN_COSINE:
        return True
    words = set(content_words(point))
    if not words or cosine < MIN_COSINE_WITH_WORDS:
        return False
    return len(words & set(content_words(chunk_text))) / len(words) >= 0.5


def cite_missing(
    missing: list[tuple[str, float]],
    retriever,
    *,
    question: Question | None = None,
    settings: Settings | None = None,
    k: int = 4,
) -> tuple[list[Citation], list[str]]:
    """(citations, notices) for missed points given as (point, importance) pairs."""
    from mockloop.grading.offline import _embed

    settings = settings or Settings.from_env()
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
        vecs = _embed([point] + [h.text for h in hits], settings.embed_model)
        cosines = vecs[1:] @ vecs[0]
        ranked_hits = sorted(zip(hits, cosines, strict=True), key=lambda hc: -float(hc[1]))
        kept = 0
        for hit, cos in ranked_hits:
            if kept >= PER_POINT or not supports(point, hit.text, float(cos)):
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
