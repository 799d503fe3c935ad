"""What the rounds read from the user's notes: topics covered, stories, projects, papers, and
questions derived from notes the bank has none for.

Covers: classifying chunks (a paper-tracker entry has a TL;DR; a story lives under behavioral/
or is tagged star/behavioral; a project under projects/ or tagged project/deep-dive), ranking
chunks against a text with the bundled encoder, and deriving Questions whose reference answer
is a note chunk (`source_chunk_id` set):

    paper entry "LoRA (Hu et al., 2021)" → "From your reading list: “LoRA (Hu et al., 2021)”.
    What problem does the paper address, what is its key idea, and what result made it matter?"

Leaves out: search itself (mockloop.retrieval) and question order (mockloop.progress).
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from mockloop.models import Chunk, Hit, Question

PAPER_TAGS = {"papers", "paper", "reading-list"}
STORY_TAGS = {"behavioral", "star", "story", "stories"}
PROJECT_TAGS = {"project", "projects", "deep-dive"}
SKIP_TAGS = {"moc", "index", "map-of-content"}
_TLDR = re.compile(r"tl;\s?dr\W*", re.IGNORECASE)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tags(c: Chunk) -> set[str]:
    return {t.lower() for t in c.tags}


def is_paper(c: Chunk) -> bool:
    return bool(_tags(c) & PAPER_TAGS or "paper" in c.source.lower()) and bool(_TLDR.search(c.text))


def is_story(c: Chunk) -> bool:
    return bool(_tags(c) & STORY_TAGS) or c.source.lower().startswith("behavioral/")


def is_project(c: Chunk) -> bool:
    return bool(_tags(c) & PROJECT_TAGS) or c.source.lower().startswith("projects/")


def tldr(text: str) -> str:
    """The TL;DR paragraph of a paper entry (up to the next bullet), else the whole text."""
    m = _TLDR.search(text)
    if not m:
        return text.strip()
    rest = text[m.end() :]
    stop = re.search(r"\n\s*[-*]\s", rest)
    body = rest[: stop.start()] if stop else rest
    return re.sub(r"\s+", " ", body).strip(" *")


def paper_title(c: Chunk) -> str:
    return c.heading_path[-1] if c.heading_path else c.title


def as_hit(c: Chunk) -> Hit:
    return Hit(
        chunk_id=c.id,
        text=c.text,
        source=c.source,
        heading_path=c.heading_path,
        page=c.page,
        tags=c.tags,
        title=c.title,
    )


class NotesIndex:
    """The user's chunks, read once per round from the retriever's store."""

    def __init__(self, retriever, settings):
        self.retriever = retriever
        self.settings = settings

    @cached_property
    def chunks(self) -> list[Chunk]:
        store = getattr(self.retriever, "store", None)
        if store is None:
            return []
        try:
            return list(store.all_chunks())
        except Exception:  # noqa: BLE001 — no notes is a valid state: the bank still works
            return []

    def vectors(self, chunks: list[Chunk]) -> np.ndarray:
        """Stored embeddings when the store has them, else freshly encoded."""
        return self.hit_vectors([as_hit(c) for c in chunks]) if chunks else self.encode([])

    def hit_vectors(self, hits: list[Hit]) -> np.ndarray:
        """Stored embeddings of retrieved hits (encoded only when the store lacks them)."""
        store = getattr(self.retriever, "store", None)
        if store is not None and hasattr(store, "embeddings") and hits:
            got = store.embeddings([h.chunk_id for h in hits])
            if all(h.chunk_id in got for h in hits):
                return np.stack([np.asarray(got[h.chunk_id], dtype=np.float32) for h in hits])
        return self.encode([h.text for h in hits])

    def encode(self, texts: list[str]) -> np.ndarray:
        from mockloop.rounds.followups import _encode

        return _encode(texts, self.settings)

    def covered_topics(self) -> set[str]:
        """Every tag and topic the notes carry (front-matter topic is folded into tags)."""
        return {t for c in self.chunks for t in _tags(c)}

    def stories(self) -> list[Chunk]:
        return [c for c in self.chunks if is_story(c)]

    def papers(self) -> list[Chunk]:
        return [c for c in self.chunks if is_paper(c)]

    def projects(self) -> dict[str, str]:
        """source → title of each project note."""
        found: dict[str, str] = {}
        for c in self.chunks:
            if is_project(c) and c.source not in found:
                found[c.source] = c.title or c.source
        return dict(sorted(found.items()))

    def project_chunks(self, source: str) -> list[Chunk]:
        return [c for c in self.chunks if c.source == source]

    def round_notes(self, round_name: str) -> list[Chunk]:
        return [
            c
            for c in self.chunks
            if round_name in _tags(c)
            and not (is_paper(c) or is_story(c) or is_project(c) or _tags(c) & SKIP_TAGS)
            and not _tags(c) & PAPER_TAGS
        ]

    def best(self, text: str, chunks: list[Chunk], k: int = 1) -> list[tuple[Chunk, float]]:
        """The k chunks closest to `text` by cosine, with their cosines."""
        if not chunks:
            return []
        sims = self.vectors(chunks) @ self.encode([text])[0]
        order = np.argsort(-sims)[:k]
        return [(chunks[i], float(sims[i])) for i in order]

    def papers_for(self, round_name: str, others: list[str]) -> list[Chunk]:
        """Paper entries closer to this round's notes than to the other rounds' notes."""
        papers = self.papers()
        if not papers:
            return []
        centroids = {}
        for name in [round_name, *others]:
            notes = self.round_notes(name)
            if notes:
                v = self.vectors(notes).mean(axis=0)
                centroids[name] = v / (np.linalg.norm(v) or 1.0)
        if round_name not in centroids:
            return [p for p in papers if round_name in _tags(p)]
        names = list(centroids)
        sims = self.vectors(papers) @ np.stack([centroids[n] for n in names]).T
        return [
            p
            for p, row in zip(papers, sims, strict=True)
            if names[int(np.argmax(row))] == round_name
        ]

    def paper_question(self, c: Chunk, round_name: str) -> Question:
        title = paper_title(c)
        return Question(
            id=f"paper:{c.id[:16]}",
            round=round_name,
            topic=slug(re.split(r"[(—:-]", title)[0]) or "paper",
            tags=["paper", round_name],
            prompt=(
                f"From your reading list: “{title}”. What problem does the paper address, what "
                "is its key idea, and what result made it matter?"
            ),
            reference_answer=tldr(c.text),
            source_chunk_id=c.id,
        )

    def note_questions(self, round_name: str, bank: list[Question]) -> list[Question]:
        """One derived question per note of this round whose topic no bank question has."""
        bank_topics = {q.topic.lower() for q in bank}
        by_source: dict[str, list[Chunk]] = {}
        for c in self.round_notes(round_name):
            by_source.setdefault(c.source, []).append(c)
        derived = []
        for source, chunks in sorted(by_source.items()):
            if _tags(chunks[0]) & bank_topics:
                continue
            body = [c for c in chunks if len(c.heading_path) > 1 and len(c.text) > 300] or chunks
            chunk = max(body[:3], key=lambda c: len(c.text))
            heading = re.sub(
                r"^\d+[.)]\s*", "", chunk.heading_path[-1] if chunk.heading_path else chunk.title
            )
            derived.append(
                Question(
                    id=f"note:{chunk.id[:16]}",
                    round=round_name,
                    topic=slug(chunk.title or heading) or slug(source),
                    tags=["note", round_name],
                    prompt=f"Explain {heading}: what it is, how it works, and when you would use it.",
                    reference_answer=chunk.text,
                    source_chunk_id=chunk.id,
                )
            )
        return derived
