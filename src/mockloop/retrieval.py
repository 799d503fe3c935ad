"""Search the notes: dense (Chroma), lexical (BM25 via bm25s), and two fusions of them:
`hybrid` (the default: score fusion, see `fuse_scores`) and `rrf` (reciprocal rank fusion).

`Retriever(settings).search(query, k)` returns `Hit`s with citations and their stored vectors. Filters: `tags` (a chunk
must carry every tag given) and `source` (an exact source or a folder prefix such as `nlp/`).
`mmr=True` re-ranks the fused candidates for diversity (maximal marginal relevance).

The BM25 index lives under the data dir (`bm25/`) and is rebuilt from the store's own texts
whenever its fingerprint (ids and content hashes of every chunk) differs from the store's, so it
can never drift from the store, even after an interrupted ingest.

    >>> {doc: round(s, 4) for doc, s in rrf([["a", "b"], ["b", "c"]], k=60).items()}
    {'b': 0.0325, 'a': 0.0164, 'c': 0.0161}
    >>> fuse_scores([("a", 0.8), ("b", 0.4)], [("b", 6.0), ("c", 3.0)], dense_weight=0.7)
    {'a': 0.85, 'b': 0.65, 'c': 0.5}

Why score fusion by default: RRF with equal weights won on corpus/ (written alongside
evals/retrieval.jsonl) but lost to dense alone on notes nobody here wrote (the SemEval-2013 and
SAF reference answers); each list's scores over its own best, 0.7·dense + 0.3·BM25, was chosen on
those sets' training questions and is ≥ the best single mode on both (evals/README.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mockloop.config import Settings
from mockloop.models import Chunk, Hit
from mockloop.notes.chunking import chunk_passage
from mockloop.store import Store, open_store

Mode = Literal["hybrid", "dense", "bm25", "rrf"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25", "rrf")
DEFAULT_MODE: Mode = "hybrid"
DENSE_WEIGHT = 0.7  # of the score fusion; chosen on the external dev questions (evals/README.md)
RRF_K = 60
CANDIDATES = 50  # per retriever, before fusion
MMR_LAMBDA = 0.5  # as LangChain's default; 0.7 let near-duplicates through


def rrf(
    rankings: list[list[str]], k: int = RRF_K, weights: list[float] | None = None
) -> dict[str, float]:
    """Reciprocal rank fusion: id → Σ weight / (k + rank), rank from 1; sorted best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return dict(sorted(scores.items(), key=lambda kv: -kv[1]))


def fuse_scores(
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    dense_weight: float = DENSE_WEIGHT,
) -> dict[str, float]:
    """Score fusion: each list's scores over its best, then w·dense + (1−w)·lexical; a chunk
    missing from one list counts that list's lowest shown score. Sorted best first.

    The doctest above: a = 0.7·1 + 0.3·0.5 (BM25's lowest), b = 0.7·0.5 + 0.3·1,
    c = 0.7·0.5 (dense's lowest) + 0.3·0.5."""
    parts = []
    for ranked in (dense, lexical):
        top = max((s for _, s in ranked), default=0.0)
        top = top if top > 0 else 1.0
        scaled = {cid: s / top for cid, s in ranked}
        parts.append((scaled, min(scaled.values(), default=0.0)))
    (d, d_low), (b, b_low) = parts
    fused = {
        cid: round(dense_weight * d.get(cid, d_low) + (1 - dense_weight) * b.get(cid, b_low), 12)
        for cid in dict.fromkeys([*d, *b])
    }
    return dict(sorted(fused.items(), key=lambda kv: -kv[1]))


def mmr(
    candidates: list[str],
    relevance: dict[str, float],
    vectors: dict[str, np.ndarray],
    k: int,
    lam: float = MMR_LAMBDA,
) -> list[str]:
    """Greedy maximal marginal relevance: lam·relevance − (1−lam)·max similarity to the picks.

    Relevance is each candidate's cosine similarity to the query (Carbonell & Goldstein, 1998).
    """
    if not candidates:
        return []
    rel = np.array([relevance[c] for c in candidates], dtype=np.float64)
    dim = len(next(iter(vectors.values()))) if vectors else 1
    mat = np.stack([vectors.get(c, np.zeros(dim, dtype=np.float32)) for c in candidates])
    sims = mat @ mat.T
    picked: list[int] = []
    left = list(range(len(candidates)))
    while left and len(picked) < k:
        penalty = sims[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        score = lam * rel[left] - (1 - lam) * penalty
        best = left[int(np.argmax(score))]
        picked.append(best)
        left.remove(best)
    return [candidates[i] for i in picked]


# --- BM25 ---------------------------------------------------------------------------------


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str], stemmer=None):
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer or _stemmer(), show_progress=False)


@dataclass
class BM25Index:
    """A bm25s index over every chunk's passage, with the ids, sources and tags to filter by."""

    model: object | None  # bm25s.BM25, None when the store is empty
    ids: list[str]
    sources: list[str]
    tags: list[list[str]]
    fingerprint: str

    @classmethod
    def build(cls, chunks: list[Chunk], fingerprint: str) -> BM25Index:
        import bm25s

        chunks = sorted(chunks, key=lambda c: c.id)
        model = None
        if chunks:
            model = bm25s.BM25()
            model.index(tokenize([chunk_passage(c) for c in chunks]), show_progress=False)
        return cls(
            model,
            [c.id for c in chunks],
            [c.source for c in chunks],
            [list(c.tags) for c in chunks],
            fingerprint,
        )

    def save(self, folder: Path) -> None:
        """Write to a fresh folder, then swap it in, so a reader never sees half an index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex}")
        tmp.mkdir()
        if self.model is not None:
            self.model.save(str(tmp / "bm25s"), show_progress=False)
        meta = {
            "fingerprint": self.fingerprint,
            "ids": self.ids,
            "sources": self.sources,
            "tags": self.tags,
        }
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old-{uuid.uuid4().hex}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> BM25Index | None:
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            model = None
            if meta["ids"]:
                import bm25s

                model = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(model, meta["ids"], meta["sources"], meta["tags"], meta["fingerprint"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (in `ids` order) for the query; zeros when nothing matches."""
        if self.model is None:
            return np.zeros(0)
        import bm25s

        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
        )[0]
        tokens = [t for t in tokens if t in self.model.vocab_dict]
        if not tokens:
            return np.zeros(len(self.ids))
        return np.asarray(self.model.get_scores(tokens), dtype=np.float64)


def store_fingerprint(store: Store) -> str:
    """Hash of every (id, content hash) in the store: changes whenever any chunk does."""
    pairs: list[str] = []
    offset = 0
    while True:
        got = store.collection.get(include=["metadatas"], limit=5000, offset=offset)
        for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
            pairs.append(f"{cid}:{(meta or {}).get('content_hash', '')}")
        if len(got["ids"]) < 5000:
            break
        offset += 5000
    return hashlib.sha256("\n".join(sorted(pairs)).encode()).hexdigest()


def bm25_dir(settings: Settings, store: Store) -> Path:
    """Where this store's BM25 index lives: one folder per (store location, collection)."""
    key = hashlib.sha256(f"{store.location}|{settings.collection}".encode()).hexdigest()[:12]
    return settings.home / "bm25" / f"{settings.collection}-{key}"


def refresh_bm25(settings: Settings, store: Store, force: bool = False) -> BM25Index:
    """The BM25 index for the store, rebuilt from the store's texts if it is missing or stale."""
    folder = bm25_dir(settings, store)
    fingerprint = store_fingerprint(store)
    if not force:
        index = BM25Index.load(folder)
        if index is not None and index.fingerprint == fingerprint:
            return index
    index = BM25Index.build(store.all_chunks(), fingerprint)
    index.save(folder)
    return index


# --- the retriever ------------------------------------------------------------------------


def _norm_tags(tags) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    return [t.strip().lstrip("#").lower() for t in tags if t and t.strip()]


def source_matches(pattern: str, source: str) -> bool:
    """`nlp/lora.md` matches itself; `nlp` or `nlp/` matches everything under nlp/."""
    p = pattern.strip().replace("\\", "/")
    return source == p or source.startswith(p.rstrip("/") + "/")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


class Retriever:
    """Hybrid search over one user's store."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None):
        self.settings = settings or Settings.from_env()
        self.store = store or open_store(self.settings)
        self._bm25: BM25Index | None = None
        self._bm25_stamp: tuple[int, int] | None = None

    @property
    def bm25(self) -> BM25Index:
        """The BM25 index, reloaded when an ingest (in any process) has rewritten it."""
        stamp = _stamp(bm25_dir(self.settings, self.store) / "meta.json")
        if self._bm25 is None or stamp != self._bm25_stamp:
            self._bm25 = refresh_bm25(self.settings, self.store)
            self._bm25_stamp = _stamp(bm25_dir(self.settings, self.store) / "meta.json")
        return self._bm25

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = DEFAULT_MODE,
        tags: list[str] | str | None = None,
        source: str | None = None,
        mmr: bool = False,
    ) -> list[Hit]:
        """The k best chunks for a query, best first, each with its score and citation."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if not query.strip() or k <= 0:
            return []
        want = _norm_tags(tags)
        allowed = self._allowed_sources(source)
        if allowed is not None and not allowed:
            return []
        depth = max(CANDIDATES, 4 * k)
        dense = self._dense(query, depth, want, allowed) if mode != "bm25" else []
        lexical = self._lexical(query, depth, want, allowed) if mode != "dense" else []
        if mode == "hybrid":
            scores = fuse_scores(dense, lexical)
        elif mode == "rrf":
            scores = rrf([[cid for cid, _ in dense], [cid for cid, _ in lexical]])
        else:
            scores = dict(dense or lexical)
        order = list(scores)
        if mmr:
            order = self._mmr(query, order[: max(4 * k, 20)], k)
        # Texts, metadata and vectors only for the k that are returned: fetching them for every
        # candidate was most of the Chroma query's time. The vectors spare callers (citations,
        # follow-up notes) encoding the hits again.
        got = self.store.get_with_vectors(order[:k])
        return [Hit.from_chunk(c, scores[c.id], v) for c, v in got]

    def get(self, chunk_id: str) -> Hit | None:
        """One chunk by id, as a Hit with score 0 and its vector; None if it is not in the store."""
        got = self.store.get_with_vectors([chunk_id])
        return Hit.from_chunk(got[0][0], 0.0, got[0][1]) if got else None

    def _allowed_sources(self, source: str | None) -> set[str] | None:
        if not source:
            return None
        return {s for s in set(self.bm25.sources) if source_matches(source, s)}

    def _dense(self, query: str, n: int, tags: list[str], allowed: set[str] | None):
        clauses: list[dict] = [{"tags": {"$contains": t}} for t in tags]
        if allowed is not None:
            clauses.append({"source": {"$in": sorted(allowed)}})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        return self.store.nearest(self._query_vector(query), n, where=where)

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector; cached (embeddings.encode_cached): the same query runs in several
        modes, and citations search the same missed points answer after answer."""
        from mockloop.embeddings import encode_cached

        return encode_cached([query], self.settings.embed_model)[0]

    def _mmr(self, query: str, candidates: list[str], k: int) -> list[str]:
        """Re-rank the fused candidates for diversity using their stored vectors."""
        vectors = self.store.embeddings(candidates)
        q = self._query_vector(query)
        relevance = {c: float(vectors[c] @ q) if c in vectors else 0.0 for c in candidates}
        return mmr(candidates, relevance, vectors, k)

    def _lexical(self, query: str, n: int, tags: list[str], allowed: set[str] | None):
        index = self.bm25
        scores = index.scores(query)
        if scores.size == 0:
            return []
        mask = scores > 0
        if tags or allowed is not None:
            keep = np.array(
                [
                    (allowed is None or s in allowed) and all(t in ts for t in tags)
                    for s, ts in zip(index.sources, index.tags, strict=True)
                ]
            )
            mask &= keep
        picked = np.flatnonzero(mask)
        top = picked[np.argsort(-scores[picked], kind="stable")][:n]
        return [(index.ids[i], float(scores[i])) for i in top]


def snippet(text: str, width: int = 240) -> str:
    """One line of at most `width` characters for listing a hit."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + "…"
