"""What the rounds read from the user's notes: topics covered, stories, projects, papers, and
questions derived from notes the bank has none for.

Covers: classifying chunks (a paper-tracker entry has a TL;DR; stories and projects are the
notes mockloop.notes.routing routes to the behavioral round and the deep dive), deciding
by content which bank topics the notes cover and which notes no bank question covers, routing a
note to a round, and deriving Questions whose reference answer is a note chunk
(`source_chunk_id` set):

    paper entry "LoRA (Hu et al., 2021)" → "From your reading list: “LoRA (Hu et al., 2021)”.
    What problem does the paper address, what is its key idea, and what result made it matter?"
    nlp/speculative.md § Speculative decoding › How it works
        → "How does speculative decoding work, and when would you use it?"

Coverage is decided by content, not by tags alone: a bank question and a note chunk *match* when
the cosine of the question (prompt + reference answer) and the chunk's stored vector (the
bundled all-MiniLM-L6-v2) is at least COVER_THRESHOLD. A bank topic is covered when one of its
questions matches a chunk (or a note's tag names the topic: the user said so); a note is covered when one of its chunks matches a breadth, NLP or
ranking bank question, or when a bank question of its round names the note's subject (`LoRA` in
"How does LoRA cut…": a short note on one aspect of a subject matches less well). 0.59 was chosen on the sample corpus: every breadth/NLP/ranking bank topic
matches its own note (lowest: data-leakage 0.591), while the best match of a topic among notes
of other areas (nlp/ for breadth topics, ml-breadth/ and ranking/ for NLP topics, nlp/ for
ranking topics; behavioral/ and projects/ for all) stays below it in all but one case (highest
0.584; the exception, transformer ↔ normalization.md at 0.688, is a real overlap: that note
discusses pre-LN transformer blocks). Three notes the bank has no question for score 0.365
(speculative decoding), 0.450 (mixture of experts) and 0.549 (gradient boosting).

Which round a note belongs to is mockloop.notes.routing's call (the user's override, then tags
and folders as hints, then what the note says); `NotesIndex.routing` runs it over the stored
vectors. Only breadth, NLP and ranking derive questions.

Leaves out: search itself (mockloop.retrieval) and question order (mockloop.progress); what to
ask first is mockloop.rounds.selection (`notes_first`, used by the rounds that derive).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np

from mockloop.models import Chunk, Hit, Question
from mockloop.notes.routing import PAPER_TAGS, Route, route_notes, slug

_TLDR = re.compile(r"tl;\s?dr\W*", re.IGNORECASE)

COVER_THRESHOLD = 0.59  # cosine question ↔ chunk for "the notes cover this" (see the docstring)
DERIVING_ROUNDS = ("breadth", "nlp", "ranking")
MIN_CHUNK_CHARS = 80  # shorter chunks (a title line, a link list) make no reference answer
# Headings that say nothing about what the section is on: never asked about.
GENERIC_HEADINGS = {
    "features",
    "overview",
    "notes",
    "note",
    "my notes",
    "notes so far",
    "summary",
    "tl;dr",
    "tldr",
    "intro",
    "introduction",
    "background",
    "context",
    "details",
    "misc",
    "miscellaneous",
    "other",
    "general",
    "basics",
    "key points",
    "key ideas",
    "key takeaways",
    "takeaways",
    "main idea",
    "idea",
    "ideas",
    "definition",
    "definitions",
    "example",
    "examples",
    "references",
    "links",
    "resources",
    "see also",
    "related",
    "further reading",
    "reading",
    "todo",
    "to do",
    "questions",
    "open questions",
    "recap",
    "review",
    "contents",
    "table of contents",
    "what it is",
    "others",
    "quick chooser",
    "the one-line version",
    "one-liners",
    "cheat sheet",
    "comparison",
    "intuition",
}
_META_HEADING = re.compile(
    r"^(interview|how to (talk|answer|explain)|follow-?ups?|questions? (to|i)|when would i use it"
    r"|open questions?( for myself)?)",
    re.IGNORECASE,
)
_SMALL_WORDS = {"it", "this", "that", "they", "these", "the model", "the method"}
_WH = re.compile(r"^(why|how|when|what|which|where|who|should|is|are|can|does|do)\b", re.I)
_CLAIM = re.compile(r"\b(is|are|was|were|isn't|aren't|can|cannot|can't|should|must|will)\b", re.I)
_DEFINITION = re.compile(
    r"^(?:an?\s+|the\s+)?([a-z][\w\-/() ]{2,60}?)\s+(?:is|are|refers to|means)\s+(?:an?|the)\s",
    re.IGNORECASE,
)


def _tags(c: Chunk) -> set[str]:
    return {t.lower() for t in c.tags}


def is_paper(c: Chunk) -> bool:
    return bool(_tags(c) & PAPER_TAGS or "paper" in c.source.lower()) and bool(_TLDR.search(c.text))


def tldr(text: str) -> str:
    """The TL;DR paragraph of a paper entry (up to the next bullet), else the whole text."""
    m = _TLDR.search(text)
    if not m:
        return text.strip()
    rest = text[m.end() :]
    stop = re.search(r"\n\s*[-*]\s", rest)
    body = rest[: stop.start()] if stop else rest
    body = re.sub(r"\s+", " ", body).strip(" *")
    # A closing pointer to another note ("Details: [[position-bias]].") is not part of the answer.
    return _POINTER.sub("", body).strip(" *") or body


_POINTER = re.compile(
    r"\s*\b(?:details|see also|see|more|notes?|refs?|links?)\s*:?\s*"
    r"(?:\[\[[^\]]+\]\]|[\w\-/#]+(?:\.md)?)(?:\s*,\s*(?:\[\[[^\]]+\]\]|[\w\-/#]+))*\.?\s*$",
    re.IGNORECASE,
)


def paper_title(c: Chunk) -> str:
    return c.heading_path[-1] if c.heading_path else c.title


def question_text(q: Question) -> str:
    """What a bank question is matched against the notes with: its prompt and reference."""
    return f"{q.prompt}\n{q.reference_answer}".strip()


# -- wording a derived question ---------------------------------------------------------------
def _clean(text: str) -> str:
    text = re.sub(r"^\s*(?:\d+(?:\.\d+)*[.)]?|[ivx]+[.)])\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[*_`#]+", "", text)
    return re.sub(r"\s+", " ", text).strip(" :;.-—")


def is_generic_heading(heading: str) -> bool:
    h = _clean(heading).lower().rstrip("?")
    return (
        len(h) < 3
        or h in GENERIC_HEADINGS
        or bool(_META_HEADING.match(h))
        or bool(re.fullmatch(r"(part|section|step|chapter|page)\s*\d*", h))
    )


def _lower_first(text: str) -> str:
    """`Mixture of experts` → `mixture of experts`; `LoRA`, `BERT vs GPT`, `Deep Neural Networks
    for YouTube Recommendations` (a name in title case) stay as written."""
    words = [re.sub(r"[^A-Za-z]", "", w) for w in text.split()]
    long_words = [w for w in words if len(w) > 3]
    if len(long_words) >= 2 and all(w[0].isupper() for w in long_words):
        return text  # Title Case: a name
    first = words[0] if words else ""
    if first[:1].isupper() and (first[1:] == "" or first[1:].islower()):
        return text[0].lower() + text[1:]
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def short_title(title: str) -> str:
    """What to call a note's subject in a question: `Optimizers: from gradient descent to AdamW`
    → `Optimizers`; `Design: payment fraud detection` → `payment fraud detection`;
    `DCN and DCN V2 (cross networks)` → `DCN and DCN V2`."""
    title = _clean(title)
    parts = [p.strip() for p in re.split(r":\s+|\s+[—–]\s+|\s+-\s+", title, maxsplit=1)]
    if len(parts) == 2 and parts[1]:
        head, tail = parts
        title = tail if len(head.split()) == 1 and head.lower() in _LABELS else head
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", title).strip()
    return bare or title


_LABELS = {"design", "notes", "note", "paper", "topic", "study", "summary", "draft", "wip"}
_PITFALLS = re.compile(
    r"^(pitfalls?|gotchas?|common (mistakes|pitfalls)|failure modes|caveats|limitations)$", re.I
)
_TRADEOFFS = re.compile(r"^(trade-?offs|pros and cons|when (not )?to use( it)?)$", re.I)


def _first_sentence(text: str) -> str:
    flat = re.sub(r"\s+", " ", re.sub(r"^\s*[-*>]\s+", "", text.strip()))
    return re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]


_PERSON = {"i": "you", "my": "your", "me": "you", "myself": "yourself", "we": "you", "our": "your"}


def _base_verb(word: str) -> str:
    """`helps` → `help`, `reaches` → `reach`, `carries` → `carry`."""
    irregular = {"has": "have", "does": "do", "goes": "go"}
    if word.lower() in irregular:
        return irregular[word.lower()]
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1]


def _as_question(heading: str) -> str:
    """A heading that starts like a question, in the interviewer's voice: `how to catch
    leakage` → `how would you catch leakage`; `why it helps` → `why does it help`; `which one
    would I pick` → `which one would you pick`."""
    text = re.sub(
        r"\b(I|my|me|myself|we|our)\b",
        lambda m: _PERSON[m.group(1).lower()],
        heading,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"^(how|what|when|where|which) to\b", r"\1 would you", text, flags=re.I)
    m = re.match(
        r"^((?i:how|why|when|where)) ((?i:it|this)|[A-Z][\w\-]*[A-Z][\w\-]*) (\w+s)\b(.*)$", text
    )
    what = re.match(r"^((?i:what|who|where)) (.+) (is|are)$", text)
    if what:
        return f"{what.group(1)} {what.group(3)} {what.group(2)}"
    if m and m.group(3).lower() not in ("is", "was"):
        wh, subject, verb, rest = m.groups()
        text = f"{wh} does {subject} {_base_verb(verb)}{rest}"
    return text


def _is_paperish(chunk: Chunk) -> bool:
    folders = PurePosixPath(chunk.source).parts[:-1]
    return any("paper" in slug(f) for f in folders) or bool(_tags(chunk) & PAPER_TAGS)


def derived_prompt(chunk: Chunk) -> str:
    """How an interviewer would ask about a note section: a paper's title; else its heading;
    else a definition in it; else the note's title. Generic headings ("Features", "Overview",
    "Notes", "Summary", "TL;DR", ...) are never used."""
    full = _clean(chunk.title or (chunk.heading_path[0] if chunk.heading_path else ""))
    full = full or _clean(PurePosixPath(chunk.source).stem.replace("-", " ").replace("_", " "))
    if _is_paperish(chunk):
        return (
            f"From your reading list: “{full}”. What problem does the paper address, what is its "
            "key idea, and what result made it matter?"
        )
    topic = _lower_first(short_title(full))
    path = [_clean(h) for h in chunk.heading_path]
    heading = path[-1] if len(path) > 1 else ""
    if heading and (is_generic_heading(heading) or heading.lower() == full.lower()):
        heading = ""
    if heading:
        how = re.match(r"^how (?:does |do )?(.+?) works?\??$", heading, re.IGNORECASE)
        if how:
            subject = how.group(1).strip()
            if subject.lower() in _SMALL_WORDS:  # "How it works": what "it" is, the parent says
                subject = short_title(path[-2]) if len(path) > 2 else topic
            elif subject.lower() in full.lower():
                subject = topic
            return f"How does {_lower_first(subject)} work, and when would you use it?"
        if _PITFALLS.match(heading):
            return f"What are the common pitfalls with {topic}, and how do you avoid them?"
        if _TRADEOFFS.match(heading):
            return f"When would you use {topic}, and what are the trade-offs?"
        if _WH.match(heading):
            asked = _as_question(heading.rstrip("?"))
            if not set(slug(full).split("-")) & set(slug(heading).split("-")):
                return f"{_upper_first(topic)}: {_lower_first(asked)}?"
            return f"{_upper_first(asked)}?"
        heading = short_title(heading)
        if len(heading.split()) <= 8 and not _CLAIM.search(heading) and "," not in heading:
            return (
                f"Tell me about {_lower_first(heading)} in {topic}: how does it work, "
                "and why does it matter?"
            )
    m = _DEFINITION.match(_first_sentence(chunk.text))
    if m and len(m.group(1).split()) <= 6:
        first = m.group(0).split()[0].lower()
        article = first + " " if first in ("a", "an", "the") else ""
        term = _lower_first(m.group(1).strip())
        return f"What is {article}{term}, how does it work, and when would you use it?"
    return (
        f"Walk me through {topic}: what problem does it solve, how does it work, and what are "
        "its trade-offs?"
    )


# -- vectors, cached ---------------------------------------------------------------------------
_QONDISK: dict[str, set[str]] = {}  # cache file → the texts it holds (read once per process)
_QLOCK = threading.Lock()
_QMAX = 20_000  # texts a cache file holds before it starts over
_STORE_VECTORS: OrderedDict[tuple, np.ndarray] = OrderedDict()  # per store state
_STORE_MAX = 4
_SLOCK = threading.Lock()


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _qcache_path(settings) -> Path:
    return settings.home / "cache" / f"question-vectors-{_sha(settings.embed_model)[:12]}.npz"


def _on_disk(path: Path, model: str) -> set[str]:
    """Texts the cache file holds (read once per process; its vectors go into the encoder's
    one cache, embeddings.encode_cached)."""
    from mockloop.embeddings import remember

    known = _QONDISK.get(str(path))
    if known is not None:
        return known
    known = _QONDISK[str(path)] = set()
    try:
        with np.load(path, allow_pickle=False) as data:
            texts = data["texts"].tolist()
            remember(texts, data["vectors"], model)
            known.update(texts)
    except (OSError, ValueError, KeyError):
        pass  # no cache yet, an older or a damaged one: it is rewritten
    return known


def _write_qcache(path: Path, model: str, texts: list[str]) -> None:
    from mockloop.embeddings import encode_cached

    vectors = encode_cached(texts, model)  # in the cache already, unless it was emptied
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".qvec-", suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, texts=np.array(texts, dtype=str), vectors=vectors)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only home only costs speed
    _QONDISK[str(path)] = set(texts)


def question_vectors(questions: list[Question], settings) -> np.ndarray:
    """Unit vectors of the questions' prompt + reference: from the encoder's cache, and kept
    in a file under the home so the next process need not encode the bank again."""
    from mockloop.embeddings import encode_cached

    model = settings.embed_model
    texts = [question_text(q) for q in questions]
    with _QLOCK:
        path = _qcache_path(settings)
        on_disk = _on_disk(path, model)
        new = [t for t in dict.fromkeys(texts) if t not in on_disk]
        if new:
            kept = sorted(on_disk) if len(on_disk) + len(new) <= _QMAX else []
            _write_qcache(path, model, kept + new)
    return encode_cached(texts, model)


def warm_question_vectors(settings, questions: list[Question] | None = None) -> int:
    """Encode and cache the bank's question vectors now (e.g. right after an ingest, while the
    encoder is loaded anyway), so the first round start does not pay for it. Returns how many
    questions are cached."""
    if questions is None:
        from mockloop.bank import load_bank

        questions = list(load_bank().questions)
    return len(question_vectors(questions, settings))


# -- the index ---------------------------------------------------------------------------------
class NotesIndex:
    """The user's chunks, read once per round from the retriever's store."""

    def __init__(self, retriever, settings):
        self.retriever = retriever
        self.settings = settings
        self._considered: dict[str, Question] = {}
        self._best: dict[str, tuple[float, int]] = {}  # question text sha → best (cos, row)
        self._routes: dict[str, dict[str, Route]] = {}  # bank key → routes

    @cached_property
    def chunks(self) -> list[Chunk]:
        store = getattr(self.retriever, "store", None)
        if store is None:
            return []
        try:
            return list(store.all_chunks())
        except Exception:  # noqa: BLE001 — no notes is a valid state: the bank still works
            return []

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever any chunk does: the key of everything cached per store state."""
        return _sha("\n".join(sorted(f"{c.id}:{c.content_hash}" for c in self.chunks)))

    @cached_property
    def _row(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.chunks)}

    @cached_property
    def matrix(self) -> np.ndarray:
        """Every chunk's vector, in `chunks` order; cached per store state for the process."""
        store = getattr(self.retriever, "store", None)
        key = (
            str(getattr(store, "location", id(store))),
            self.fingerprint,
            self.settings.embed_model,
        )
        with _SLOCK:
            cached = _STORE_VECTORS.get(key)
            if cached is not None:
                _STORE_VECTORS.move_to_end(key)
                return cached
        matrix = self._stored([Hit.from_chunk(c) for c in self.chunks])
        if matrix is None:  # a store without vectors: encode what ingest would have
            from mockloop.notes.chunking import chunk_passage

            matrix = self.encode([chunk_passage(c) for c in self.chunks])
        with _SLOCK:
            _STORE_VECTORS[key] = matrix
            while len(_STORE_VECTORS) > _STORE_MAX:
                _STORE_VECTORS.popitem(last=False)
        return matrix

    def vectors(self, chunks: list[Chunk]) -> np.ndarray:
        """Stored embeddings when the store has them, else freshly encoded."""
        if not chunks:
            return self.encode([])
        if all(c.id in self._row for c in chunks):
            return self.matrix[[self._row[c.id] for c in chunks]]
        return self.hit_vectors([Hit.from_chunk(c) for c in chunks])

    def hit_vectors(self, hits: list[Hit]) -> np.ndarray:
        """Stored embeddings of retrieved hits: those they came with, else the store's (encoded
        only when the store lacks them)."""
        if hits and all(h.vector is not None for h in hits):
            return np.array([h.vector for h in hits], dtype=np.float32)
        if hits and all(h.chunk_id in self._row for h in hits):
            return self.matrix[[self._row[h.chunk_id] for h in hits]]
        return self._fetch(hits)

    def _fetch(self, hits: list[Hit]) -> np.ndarray:
        stored = self._stored(hits)
        return stored if stored is not None else self.encode([h.text for h in hits])

    def _stored(self, hits: list[Hit]) -> np.ndarray | None:
        """The store's own vectors for these hits, or None when it lacks any of them."""
        store = getattr(self.retriever, "store", None)
        if store is not None and hasattr(store, "embeddings") and hits:
            got = store.embeddings([h.chunk_id for h in hits])
            if all(h.chunk_id in got for h in hits):
                return np.stack([np.asarray(got[h.chunk_id], dtype=np.float32) for h in hits])
        return None

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts` by the notes' encoder (the one cache in embeddings.py)."""
        from mockloop.embeddings import encode_cached

        return encode_cached(texts, self.settings.embed_model)

    # -- coverage by content ------------------------------------------------------------------
    def consider(self, questions: list[Question]) -> None:
        """Questions a round is choosing from: `covered_topics()` is about these."""
        for q in questions:
            self._considered.setdefault(q.id, q)

    def _match(self, questions: list[Question]) -> list[tuple[float, int]]:
        """Each question's (best cosine, chunk row) over every chunk, cached per index."""
        keys = [_sha(question_text(q)) for q in questions]
        todo = [(k, q) for k, q in zip(keys, questions, strict=True) if k not in self._best]
        if todo:
            sims = question_vectors([q for _, q in todo], self.settings) @ self.matrix.T
            for (k, _), row in zip(todo, sims, strict=True):
                j = int(row.argmax())
                self._best[k] = (float(row[j]), j)
        return [self._best[k] for k in keys]

    def question_scores(self, questions: list[Question]) -> np.ndarray:
        """Each question's best cosine with any chunk (−1 when there are no notes)."""
        if not questions or not self.chunks:
            return np.full(len(questions), -1.0)
        return np.array([score for score, _ in self._match(questions)])

    def covering_hit(self, question: Question) -> Hit | None:
        """The chunk that covers a bank question (cosine ≥ COVER_THRESHOLD), as a Hit."""
        if not self.chunks or question.source_chunk_id:
            return None
        ((score, row),) = self._match([question])
        return Hit.from_chunk(self.chunks[row]) if score >= COVER_THRESHOLD else None

    def covered_topics(self, questions: list[Question] | None = None) -> set[str]:
        """Topics of `questions` (default: those the round considers, else the packaged bank)
        the notes cover: a question derived from a note, a bank question that matches a chunk
        by content, or one whose topic a note names in its tags (a STAR story tagged
        `conflict`: stories resemble behavioral prompts too little for the cosine to tell).
        Paper questions are left out: a depth round keeps one slot for them anyway, and
        counting them would fill the round with "From your reading list" prompts."""
        if not self.chunks:
            return set()
        if questions is None:
            questions = list(self._considered.values())
        if not questions:
            from mockloop.bank import load_bank

            questions = list(load_bank().questions)
        covered = {q.topic for q in questions if q.id.startswith("note:")}
        asked = [q for q in questions if not q.source_chunk_id]
        scores = self.question_scores(asked)
        covered |= {q.topic for q, s in zip(asked, scores, strict=True) if s >= COVER_THRESHOLD}
        return covered | {q.topic for q in asked if q.topic.lower() in self.tag_set}

    @cached_property
    def tag_set(self) -> set[str]:
        return {t for c in self.chunks for t in _tags(c)}

    # -- notes by kind: routed by what they say (mockloop.notes.routing) ----------------------
    def routing(self, bank: list[Question] | None = None) -> dict[str, Route]:
        """source → Route of every note, against `bank` (default: the packaged bank)."""
        if bank is None:
            from mockloop.bank import load_bank

            bank = list(load_bank().questions)
        asked = [q for q in bank if not q.source_chunk_id]
        key = _sha("\n".join(sorted(q.id for q in asked)))
        got = self._routes.get(key)
        if got is None:
            if not self.chunks:
                return {}
            got = route_notes(
                self.chunks, self.matrix, asked, question_vectors(asked, self.settings)
            )
            self._routes[key] = got
        return got

    def _kind(self, kind: str, bank: list[Question] | None = None) -> list[str]:
        return [s for s, r in self.routing(bank).items() if r.kind == kind and r.round]

    def stories(self, bank: list[Question] | None = None) -> list[Chunk]:
        """Chunks of every note routed to the behavioral round as a story."""
        keep = set(self._kind("story", bank))
        return [c for c in self.chunks if c.source in keep]

    def papers(self) -> list[Chunk]:
        return [c for c in self.chunks if is_paper(c)]

    def projects(self, bank: list[Question] | None = None) -> dict[str, str]:
        """source → title of each project note (routed to the deep dive)."""
        keep = set(self._kind("project", bank))
        found: dict[str, str] = {}
        for c in self.chunks:
            if c.source in keep and c.source not in found:
                found[c.source] = c.title or c.source
        return dict(sorted(found.items()))

    def project_chunks(self, source: str) -> list[Chunk]:
        return [c for c in self.chunks if c.source == source]

    @cached_property
    def plain_notes(self) -> dict[str, list[Chunk]]:
        """source → chunks of every note on a subject (not a story, project, paper entry or map
        of content), sorted by source."""
        keep = {s for s, r in self.routing().items() if r.kind == "note"}
        by_source: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            if c.source in keep:
                by_source.setdefault(c.source, []).append(c)
        return dict(sorted(by_source.items()))

    def routes(self, bank: list[Question] | None = None) -> dict[str, str | None]:
        """source → the round each plain note belongs to (None: no round stands out)."""
        routing = self.routing(bank)
        return {s: routing[s].round for s in self.plain_notes if s in routing}

    def round_notes(self, round_name: str, bank: list[Question] | None = None) -> list[Chunk]:
        """Chunks of the plain notes that belong to this round (see `routes`)."""
        routes = self.routes(bank)
        return [
            c for s, chunks in self.plain_notes.items() if routes[s] == round_name for c in chunks
        ]

    def note_scores(self, bank: list[Question]) -> dict[str, float]:
        """source → the best cosine of any of its chunks with a breadth, NLP or ranking bank
        question (−1 when the bank has none of those)."""
        asked = [q for q in bank if q.round in DERIVING_ROUNDS and not q.source_chunk_id]
        if not asked or not self.chunks:
            return dict.fromkeys(self.plain_notes, -1.0)
        qv = question_vectors(asked, self.settings)
        return {
            source: float((self.vectors(chunks) @ qv.T).max())
            for source, chunks in self.plain_notes.items()
        }

    def led_by_notes(self, pool: list[Question]) -> list[Question]:
        """For each plain note routed to the round of `pool` that a question in `pool` covers
        (cosine ≥ COVER_THRESHOLD), the pool question closest to it: what a note the bank
        already asks about leads its round with (a new note on PCA → the bank's PCA question)."""
        asked = [q for q in pool if not q.source_chunk_id]
        rounds = {q.round for q in asked}
        routes = self.routes()
        notes = [cs for s, cs in self.plain_notes.items() if routes.get(s) in rounds]
        if not asked or not notes:
            return []
        qv = question_vectors(asked, self.settings)
        led: dict[str, Question] = {}
        for chunks in notes:
            sims = (self.vectors(chunks) @ qv.T).max(axis=0)
            j = int(np.argmax(sims))
            if sims[j] >= COVER_THRESHOLD:
                led.setdefault(asked[j].id, asked[j])
        return list(led.values())

    def best(self, text: str, chunks: list[Chunk], k: int = 1) -> list[tuple[Chunk, float]]:
        """The k chunks closest to `text` by cosine, with their cosines."""
        if not chunks:
            return []
        sims = self.vectors(chunks) @ self.encode([text])[0]
        order = np.argsort(-sims)[:k]
        return [(chunks[i], float(sims[i])) for i in order]

    # -- questions from notes -------------------------------------------------------------------
    def papers_for(
        self, round_name: str, others: list[str], bank: list[Question] | None = None
    ) -> list[Chunk]:
        """Paper entries closer to this round's notes than to the other rounds' notes."""
        papers = self.papers()
        if not papers:
            return []
        centroids = {}
        for name in [round_name, *others]:
            notes = self.round_notes(name, bank)
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

    def _pick(self, chunks: list[Chunk]) -> Chunk | None:
        """The section of a note to ask about: a substantive one under a specific heading,
        the one nearest the note's centre (None when the note has nothing substantive)."""
        body = [c for c in chunks if len(c.text.strip()) >= MIN_CHUNK_CHARS]
        specific = [
            c
            for c in body
            if len(c.heading_path) > 1 and not is_generic_heading(c.heading_path[-1])
        ]
        pool = specific or body
        if not pool:
            return None
        if len(pool) == 1:
            return pool[0]
        centre = self.vectors(chunks).mean(axis=0)
        sims = self.vectors(pool) @ centre
        return pool[int(np.argmax(sims))]

    def note_questions(self, round_name: str, bank: list[Question]) -> list[Question]:
        """One derived question per note of this round that no bank question covers.

        `bank`: the whole bank (every round), to route notes by content and to tell which
        notes a breadth, NLP or ranking question already covers."""
        if round_name not in DERIVING_ROUNDS:
            return []
        bank = list(bank)
        routes = self.routes(bank)
        scores = self.note_scores(bank)
        prompts = [q.prompt for q in bank if q.round == round_name and not q.source_chunk_id]
        derived = []
        for source, chunks in self.plain_notes.items():
            if routes[source] != round_name or scores[source] >= COVER_THRESHOLD:
                continue
            title = chunks[0].title or (chunks[0].heading_path[0] if chunks[0].heading_path else "")
            if named_in(short_title(title), prompts):
                continue  # the bank asks about this very subject by name
            chunk = self._pick(chunks)
            if chunk is None:
                continue
            derived.append(
                Question(
                    id=f"note:{chunk.id[:16]}",
                    round=round_name,
                    topic=slug(short_title(title)) or slug(PurePosixPath(source).stem) or "note",
                    tags=["note", round_name],
                    prompt=derived_prompt(chunk),
                    reference_answer=chunk.text,
                    source_chunk_id=chunk.id,
                )
            )
        return derived


def named_in(subject: str, prompts: list[str]) -> bool:
    """Whether a prompt names the subject as a whole word: `LoRA` in "How does LoRA cut…"."""
    if len(subject) < 3 or is_generic_heading(subject):
        return False
    pattern = re.compile(rf"(?<![\w-]){re.escape(subject)}(?![\w-])", re.IGNORECASE)
    return any(pattern.search(p) for p in prompts)


# -- how notes were routed, for `mockloop stats` ------------------------------------------------
def routing_lines(settings, store) -> list[str]:
    """Each note's round · topic and why, then the notes no round will use, with the reason."""

    class _Holder:  # NotesIndex reads the store through a retriever-shaped object
        pass

    holder = _Holder()
    holder.store = store
    routes = NotesIndex(holder, settings).routing()
    if not routes:
        return []
    lines = ["routing (round · topic, then why):"]
    lines += [f"  {source} → {route.line}" for source, route in routes.items()]
    unused = [r for r in routes.values() if r.round is None and r.kind != "paper"]
    if unused:
        lines.append(f"not used by any round ({len(unused)}):")
        lines += [f"  {r.source}: {r.why}" for r in unused]
    return lines
