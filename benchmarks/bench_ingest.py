"""Ingest speed as ratios against the raw building block, measured in one run.

    python benchmarks/bench_ingest.py [--corpus corpus] [--repeat 3]

For each repeat, in this order: raw `SentenceTransformer.encode` of exactly the passages ingest
embeds (same model, batch size 64, normalised); a cold `ingest` of the corpus into a fresh data
dir; a re-ingest of the unchanged corpus. Other load on the machine swings single runs, so the
ratio is the median of per-run ratios, and the time ingest spends outside the encoder (loading,
chunking, hashing, Chroma writes, BM25) is shown too. Prints medians and
  throughput ratio = (chunks / cold ingest s) / (chunks / raw encode s)   goal ≥ 0.85
  re-ingest fraction = re-ingest s / cold ingest s                         goal ≤ 0.05
and writes them to benchmarks/out/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mockloop.config import Settings  # noqa: E402
from mockloop.embeddings import get_encoder  # noqa: E402
from mockloop.notes.chunking import chunk_documents, chunk_passage, content_hash  # noqa: E402
from mockloop.notes.ingest import ingest  # noqa: E402
from mockloop.notes.loaders import LoadError, load  # noqa: E402


def corpus_passages(corpus: Path) -> list[str]:
    """The passages a cold ingest of the corpus embeds, via the same loaders and chunker."""
    passages: dict[str, str] = {}
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(corpus).parts):
            continue
        source = path.relative_to(corpus).as_posix()
        data = path.read_bytes()
        try:
            docs = load(source, data)
        except LoadError:
            continue
        for chunk in chunk_documents(source, docs, content_hash(data)):
            passages.setdefault(chunk.id, chunk_passage(chunk))
    return list(passages.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    settings_model = Settings().embed_model
    model = get_encoder(settings_model)
    passages = corpus_passages(args.corpus)
    model.encode(passages[:64], batch_size=64)  # warm-up: first calls pay one-off costs

    # Time spent inside the encoder during ingest, so the report can separate ingest's own
    # overhead (load, chunk, hash, Chroma writes, BM25) from the encoder's share.
    import mockloop.embeddings as embeddings

    real_encode, in_encoder = embeddings.encode, [0.0]

    def timed_encode(*a, **kw):
        t = time.perf_counter()
        try:
            return real_encode(*a, **kw)
        finally:
            in_encoder[0] += time.perf_counter() - t

    embeddings.encode = timed_encode
    raw, cold, again, written, overhead, ratios = [], [], [], [], [], []
    for i in range(args.repeat):
        t = time.perf_counter()
        model.encode(passages, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        raw.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory(prefix="mockloop-bench-") as home:
            settings = Settings(home=Path(home), embed_model=settings_model)
            in_encoder[0] = 0.0
            t = time.perf_counter()
            summary = ingest([args.corpus], settings)
            cold.append(time.perf_counter() - t)
            overhead.append(cold[-1] - in_encoder[0])
            ratios.append(raw[-1] / cold[-1])
            written.append(summary.chunks_written)
            t = time.perf_counter()
            rerun = ingest([args.corpus], settings)
            again.append(time.perf_counter() - t)
            assert rerun.chunks_written == 0 and rerun.unchanged == summary.added
        print(
            f"run {i + 1}: raw encode {raw[-1]:.2f}s · cold ingest {cold[-1]:.2f}s "
            f"(outside the encoder {overhead[-1]:.2f}s) · re-ingest {again[-1]:.3f}s "
            f"· ratio {ratios[-1]:.3f}",
            flush=True,
        )

    n = len(passages)
    assert set(written) == {n}, f"ingest wrote {written} chunks, the benchmark encoded {n}"
    t_raw, t_cold, t_again, t_over = (statistics.median(x) for x in (raw, cold, again, overhead))
    ratio = statistics.median(ratios)
    result = {
        "chunks": n,
        "files": summary.added,
        "raw_encode_s": round(t_raw, 3),
        "cold_ingest_s": round(t_cold, 3),
        "reingest_s": round(t_again, 3),
        "raw_chunks_per_s": round(n / t_raw, 1),
        "ingest_chunks_per_s": round(n / t_cold, 1),
        "throughput_ratio": round(ratio, 3),  # median of per-run ratios
        "ingest_outside_encoder_s": round(t_over, 3),
        "reingest_fraction": round(t_again / t_cold, 4),
        "repeats": args.repeat,
    }
    print(
        f"\n{n} chunks from {summary.added} files, median of {args.repeat}\n"
        f"raw encode      {t_raw:7.2f} s  ({result['raw_chunks_per_s']} chunks/s)\n"
        f"cold ingest     {t_cold:7.2f} s  ({result['ingest_chunks_per_s']} chunks/s; "
        f"{t_over:.2f} s outside the encoder)\n"
        f"re-ingest       {t_again:7.3f} s\n"
        f"throughput ratio (ingest / raw encode, median per run): {ratio:.3f}  (goal ≥ 0.85)\n"
        f"re-ingest / cold ingest:                {result['reingest_fraction']:.4f}  (goal ≤ 0.05)"
    )
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
