"""Batch grading throughput as ratios against raw encoding of the same texts, in one run.

    python benchmarks/bench_grading.py [--rows 120] [--repeat 3]

The batch is examples/answers.csv's gradable rows, repeated with a numbered suffix on each
answer until --rows (so nothing is reused from the cache). For each repeat, in this order:
raw `SentenceTransformer.encode` (the grader's fine-tuned encoder: one forward pass) of the
answers themselves; raw encode of exactly the texts the grader embeds (key points, red flags,
reference answers, answer spans); a cold `grade_batch` into a fresh data dir with the grader's
vector cache emptied. Prints medians and
  ratio to answers = (answers / batch s) / (answers / raw encode of the answers s)
  ratio to texts   = (answers / batch s) / (answers / raw encode of the grader's texts s)
The second says how much the grader adds on top of the encoding it cannot avoid (goal ≥ 0.5).
Writes benchmarks/out/grading.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mockloop import batch  # noqa: E402
from mockloop.config import Settings  # noqa: E402
from mockloop.grading import offline  # noqa: E402
from mockloop.grading.match import shipped  # noqa: E402
from mockloop.grading.reference import split_references  # noqa: E402
from mockloop.grading.spans import segment  # noqa: E402


def build_batch(rows: int, folder: Path) -> tuple[Path, list[tuple]]:
    """A CSV of `rows` gradable answers and the (question, answer) pairs it holds."""
    src = list(csv.DictReader((REPO / "examples" / "answers.csv").open(encoding="utf-8")))
    good = []
    for rec in src:
        try:
            good.append((rec, batch.question_for_row(batch.normalise(rec))))
        except batch.BadRow:
            continue
    out_rows, pairs = [], []
    for i in range(rows):
        rec, question = good[i % len(good)]
        answer = f"{rec['answer']} (draft {i})" if rec["answer"] else ""
        out_rows.append({**rec, "id": f"b{i}", "answer": answer})
        pairs.append((question, answer))
    path = folder / "bench.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(out_rows[0]))
        w.writeheader()
        w.writerows(out_rows)
    return path, pairs


def grader_texts(pairs: list[tuple]) -> list[str]:
    """The distinct texts grading these answers embeds (what offline.prefetch encodes)."""
    texts = []
    for q, a in pairs:
        for r in offline.rubrics_for(q):
            texts += [t for c in r.criteria for t in c.key_points + c.red_flags]
        texts += split_references(q.reference_answer or "")
        texts += [s.quote for s in segment(a)] + [a.strip()]
    return [t for t in dict.fromkeys(texts) if t]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    matcher = shipped()
    matcher.encode(["warm up"])
    model = matcher.model
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src, pairs = build_batch(args.rows, tmp)
        answers = [a for _, a in pairs]
        texts = grader_texts(pairs)
        for r in range(args.repeat):
            raw_answers = timed(
                lambda: model.encode(answers, batch_size=64, normalize_embeddings=True)
            )
            raw_texts = timed(lambda: model.encode(texts, batch_size=64, normalize_embeddings=True))
            matcher.clear()
            settings = Settings(home=tmp / f"home{r}")
            t = timed(lambda s=settings: batch.grade_batch(src, s, progress=False))
            runs.append({"raw_answers_s": raw_answers, "raw_texts_s": raw_texts, "batch_s": t})
    med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    n = args.rows
    result = {
        "answers": n,
        "texts_embedded": len(texts),
        "batch_answers_per_s": round(n / med["batch_s"], 2),
        "raw_encode_answers_per_s": round(n / med["raw_answers_s"], 2),
        "raw_encode_texts_per_s": round(len(texts) / med["raw_texts_s"], 2),
        "ratio_to_answers": round(med["raw_answers_s"] / med["batch_s"], 3),
        "ratio_to_texts": round(med["raw_texts_s"] / med["batch_s"], 3),
    }
    for k, v in result.items():
        print(f"{k:<26} {v}")
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "grading.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
