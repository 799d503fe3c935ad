"""Search latency on a store of ≥ 10,000 chunks, with the raw building blocks in the same run.

    python benchmarks/bench_search.py [--chunks 10000] [--queries evals/retrieval.jsonl]

Builds a temporary store: the corpus ingested for real, then synthetic chunks until the store
holds --chunks. A synthetic chunk is a real chunk with a fifth of its words swapped for words of
another chunk, under a new source, and the real chunk's vector plus Gaussian noise (cosine ≈ 0.93)
re-normalised — cheap to make, and as hard to search as real text of that size. Then every eval
query is searched (k=5) in each mode, after a warm-up pass. Prints p50/p95 per mode, and the raw
building blocks on the same queries: query encode alone, and encode + one Chroma query. Writes
benchmarks/out/search.json. Goal: hybrid p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mockloop import embeddings  # noqa: E402
from mockloop.config import Settings  # noqa: E402
from mockloop.embeddings import encode  # noqa: E402
from mockloop.models import Chunk  # noqa: E402
from mockloop.notes.chunking import chunk_id  # noqa: E402
from mockloop.notes.ingest import ingest  # noqa: E402
from mockloop.retrieval import Retriever, refresh_bm25  # noqa: E402
from mockloop.store import open_store  # noqa: E402


def synthesize(store, target: int, seed: int = 0) -> int:
    """Add perturbed copies of the store's chunks until it holds `target`; returns how many."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    real = store.all_chunks()
    vectors = store.embeddings([c.id for c in real])
    words = [c.text.split() for c in real]
    need = target - len(real)
    batch: list[Chunk] = []
    batch_vecs: list[np.ndarray] = []
    for i in range(need):
        j = i % len(real)
        base = real[j]
        text = words[j][:]
        donor = words[rng.randrange(len(real))]
        for pos in rng.sample(range(len(text)), k=max(1, len(text) // 5)):
            text[pos] = rng.choice(donor)
        body = " ".join(text)
        source = f"synthetic/{i // len(real)}/{base.source}"
        batch.append(
            base.model_copy(
                update={
                    "id": chunk_id(source, base.heading_path, i, body),
                    "text": body,
                    "source": source,
                }
            )
        )
        v = vectors[base.id] + noise.normal(0, 0.02, size=vectors[base.id].shape)
        batch_vecs.append((v / np.linalg.norm(v)).astype(np.float32))
        if len(batch) == 2000 or i == need - 1:
            store.upsert(batch, np.stack(batch_vecs))
            batch, batch_vecs = [], []
    return need


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--queries", type=Path, default=REPO / "evals" / "retrieval.jsonl")
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    queries = [
        json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()
    ]
    with tempfile.TemporaryDirectory(prefix="mockloop-bench-") as home:
        settings = Settings(home=Path(home))
        ingest([args.corpus], settings)
        store = open_store(settings)
        t = time.perf_counter()
        added = synthesize(store, args.chunks)
        t_syn = time.perf_counter() - t
        t = time.perf_counter()
        refresh_bm25(settings, store)
        t_bm25 = time.perf_counter() - t
        total = store.count()
        print(
            f"store: {total} chunks ({added} synthetic, written in {t_syn:.1f}s; BM25 built in {t_bm25:.1f}s)"
        )

        retriever = Retriever(settings)
        for q in queries[:10]:  # warm-up: model, Chroma segments, BM25 load, numba/BLAS paths
            retriever.search(q, 5)
        results: dict[str, dict[str, float]] = {}

        def measure(name: str, fn) -> None:
            times = []
            for q in queries:
                t = time.perf_counter()
                fn(q)
                times.append(time.perf_counter() - t)
            results[name] = {"p50_ms": round(pct(times, 50), 2), "p95_ms": round(pct(times, 95), 2)}
            print(
                f"{name:<28} p50 {results[name]['p50_ms']:7.2f} ms   p95 {results[name]['p95_ms']:7.2f} ms"
            )

        measure("raw: encode query", lambda q: encode([q]))
        measure(
            "raw: encode + chroma query",
            lambda q: store.collection.query(query_embeddings=encode([q]), n_results=50),
        )
        for mode in ("dense", "bm25", "hybrid"):
            # A fresh Retriever per mode would reload BM25; reuse it but drop cached query vectors.
            embeddings.forget()
            measure(
                f"search mode={mode}",
                lambda q, m=mode: (
                    embeddings.forget(),
                    retriever.search(q, 5, mode=m),
                ),
            )
        measure(
            "search hybrid + mmr",
            lambda q: (embeddings.forget(), retriever.search(q, 5, mmr=True)),
        )

    raw = results["raw: encode + chroma query"]["p50_ms"]
    ratio = results["search mode=hybrid"]["p50_ms"] / raw
    print(
        f"\n{len(queries)} queries on {total} chunks. hybrid p50 / (encode + chroma query) p50 = {ratio:.2f}; "
        f"hybrid p95 {results['search mode=hybrid']['p95_ms']:.1f} ms (goal ≤ 50 ms)"
    )
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.json").write_text(
        json.dumps(
            {
                "chunks": total,
                "queries": len(queries),
                "latency": results,
                "hybrid_over_raw_p50": round(ratio, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
