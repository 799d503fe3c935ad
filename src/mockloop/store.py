"""The Chroma collection that holds note chunks: embedded on disk, or a Chroma server.

`open_store(settings)` gives a `Store`: upsert chunks with their vectors, delete by id or
source, fetch chunks back, run a dense query, and list sources. Embeddings are always passed
in explicitly (the collection has no embedding function, so Chroma never downloads a model);
the collection records which model made them and refuses to mix models. Telemetry is off.
Leaves out: which chunks to write (notes/ingest.py) and ranking (retrieval.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from mockloop.config import Settings
from mockloop.models import Chunk

_BATCH = 1000  # ids per Chroma call; its server caps request sizes


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


@dataclass
class DenseMatch:
    chunk: Chunk
    similarity: float  # cosine similarity, 1 = same direction
    embedding: np.ndarray | None = None


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _client(settings: Settings):
    import chromadb

    if settings.chroma_url:
        url = urlparse(
            settings.chroma_url if "//" in settings.chroma_url else f"http://{settings.chroma_url}"
        )
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(
                f"cannot use chroma URL {settings.chroma_url!r}: expected http://host:port"
            )
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=_chroma_settings()
            )
            client.heartbeat()
        except Exception as e:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(e).__name__}). "
                "Start it with `chroma run --path DIR --port PORT`, or unset MOCKLOOP_CHROMA_URL "
                "to use the embedded store."
            ) from None
        return client, f"{url.scheme}://{url.hostname}:{port}"
    path = settings.chroma_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception as e:
        raise StoreError(
            f"cannot open the note store at {path} ({type(e).__name__}: {e}). Check that the "
            "directory is writable, or point MOCKLOOP_HOME at another data directory."
        ) from None
    return client, str(path)


def open_store(settings: Settings | None = None) -> Store:
    """The user's chunk store (created on first use); raises StoreError with a fix on failure."""
    settings = settings or Settings.from_env()
    client, location = _client(settings)
    try:
        collection = client.get_or_create_collection(
            settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embed_model": settings.embed_model},
        )
    except Exception as e:
        raise StoreError(
            f"cannot open collection {settings.collection!r} at {location}: {e}. "
            "Collection names need 3-512 characters from [a-zA-Z0-9._-]."
        ) from None
    made_with = (collection.metadata or {}).get("embed_model")
    if made_with and made_with != settings.embed_model:
        raise StoreError(
            f"the store at {location} holds vectors from {made_with!r}, not {settings.embed_model!r}. "
            f"Set MOCKLOOP_EMBED_MODEL={made_with} or use another MOCKLOOP_COLLECTION."
        )
    return Store(collection, location, settings)


def _metadata(chunk: Chunk) -> dict:
    meta = {
        "source": chunk.source,
        "heading_path": json.dumps(chunk.heading_path, ensure_ascii=False),
        "content_hash": chunk.content_hash,
        "title": chunk.title,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    if chunk.tags:
        meta["tags"] = list(chunk.tags)
    return meta


def chunk_from(chunk_id: str, text: str, meta: dict) -> Chunk:
    """A Chunk rebuilt from what Chroma stores."""
    meta = meta or {}
    return Chunk(
        id=chunk_id,
        text=text or "",
        source=meta.get("source", ""),
        heading_path=json.loads(meta.get("heading_path") or "[]"),
        page=meta.get("page"),
        tags=list(meta.get("tags") or []),
        content_hash=meta.get("content_hash", ""),
        title=meta.get("title", ""),
    )


class Store:
    """One Chroma collection of note chunks."""

    def __init__(self, collection, location: str, settings: Settings):
        self.collection = collection
        self.location = location
        self.settings = settings

    def count(self) -> int:
        return self.collection.count()

    def upsert(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks with their vectors; writing the same chunk again changes nothing."""
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(embeddings[start : start + _BATCH], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[_metadata(c) for c in part],
            )

    def update_metadata(self, chunks: list[Chunk]) -> None:
        """Rewrite the metadata of chunks already stored, keeping their vectors."""
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            self.collection.update(ids=[c.id for c in part], metadatas=[_metadata(c) for c in part])

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            self.collection.delete(ids=list(ids[start : start + _BATCH]))

    def delete_source(self, source: str) -> int:
        """Remove every chunk of a source; returns how many there were."""
        ids = self.collection.get(where={"source": source}, include=[])["ids"]
        self.delete(ids)
        return len(ids)

    def ids(self) -> set[str]:
        """Every chunk id in the store."""
        return set(self.collection.get(include=[])["ids"])

    def get(self, ids: list[str]) -> list[Chunk]:
        """Chunks for the given ids, in that order; unknown ids are left out."""
        return [c for c, _ in self._get(ids, vectors=False)]

    def get_with_vectors(self, ids: list[str]) -> list[tuple[Chunk, np.ndarray]]:
        """(chunk, its stored vector) for the given ids, in that order; unknown ids left out."""
        return self._get(ids, vectors=True)

    def _get(self, ids: list[str], *, vectors: bool) -> list[tuple[Chunk, np.ndarray | None]]:
        include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
        found: dict[str, tuple[Chunk, np.ndarray | None]] = {}
        for start in range(0, len(ids), _BATCH):
            got = self.collection.get(ids=list(ids[start : start + _BATCH]), include=include)
            embedded = got["embeddings"] if vectors else [None] * len(got["ids"])
            for cid, text, meta, vec in zip(
                got["ids"], got["documents"], got["metadatas"], embedded, strict=True
            ):
                v = None if vec is None else np.asarray(vec, dtype=np.float32)
                found[cid] = (chunk_from(cid, text, meta), v)
        return [found[i] for i in ids if i in found]

    def embeddings(self, ids: list[str]) -> dict[str, np.ndarray]:
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {
            cid: np.asarray(e, dtype=np.float32)
            for cid, e in zip(got["ids"], got["embeddings"], strict=True)
        }

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, sorted by id (what the BM25 index is built from)."""
        chunks: list[Chunk] = []
        offset = 0
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                chunks.append(chunk_from(cid, text, meta))
            if len(got["ids"]) < 5000:
                break
            offset += 5000
        return sorted(chunks, key=lambda c: c.id)

    def sources(self) -> dict[str, int]:
        """source → number of chunks, sorted by source."""
        counts: dict[str, int] = {}
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=5000, offset=offset)
            for meta in got["metadatas"]:
                src = (meta or {}).get("source", "")
                counts[src] = counts.get(src, 0) + 1
            if len(got["ids"]) < 5000:
                break
            offset += 5000
        return dict(sorted(counts.items()))

    def nearest(
        self, embedding: np.ndarray, n: int, where: dict | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the n nearest chunks, best first; ids only, so fast."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        got = self.collection.query(
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=min(n, total),
            where=where or None,
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def query(
        self,
        embedding: np.ndarray,
        n: int,
        where: dict | None = None,
        with_embeddings: bool = False,
    ) -> list[DenseMatch]:
        """Nearest chunks to a query vector, best first, optionally restricted by `where`."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        include = ["documents", "metadatas", "distances"]
        if with_embeddings:
            include.append("embeddings")
        got = self.collection.query(
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=min(n, total),
            where=where or None,
            include=include,
        )
        vectors = got.get("embeddings")
        matches = []
        for i, cid in enumerate(got["ids"][0]):
            matches.append(
                DenseMatch(
                    chunk=chunk_from(cid, got["documents"][0][i], got["metadatas"][0][i]),
                    similarity=1.0 - float(got["distances"][0][i]),
                    embedding=np.asarray(vectors[0][i], dtype=np.float32)
                    if with_embeddings
                    else None,
                )
            )
        return matches
