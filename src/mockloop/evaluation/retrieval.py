"""Retrieval eval: how often search puts the note an interviewer's question is about near the top.

Metrics are pure functions over a ranked list of note ids (sources, deduplicated in rank order)
and the set of relevant ones:

    >>> recall_at_k(["a", "b", "c"], {"c", "z"}, k=3)   # one of two relevant notes in the top 3
    0.5
    >>> hit_at_k(["a", "b", "c"], {"c", "z"}, k=3)      # ...and at least one is there
    1.0
    >>> reciprocal_rank(["a", "b", "c"], {"b"})
    0.5
    >>> round(ndcg_at_k(["a", "b"], {"b"}, k=10), 4)      # 1/log2(3) over the ideal 1/log2(2)
    0.6309

The runner reads a JSONL set (`query`, `gold_sources`, optional `gold_heading` and `id`), runs
dense, BM25 and hybrid search and averages the metrics per mode. Relevance is at note level and
a query's gold notes are alternatives, so recall@k reports `hit_at_k` (any gold note in the top
k); `all_gold@5` is textbook recall. `heading@5` asks for a top-5 chunk under the gold heading. Leaves out: grading
evals (see the other modules of this package).
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mockloop.config import Settings
from mockloop.models import Hit

METRICS = ("recall@1", "recall@5", "mrr", "ndcg@10", "all_gold@5")
DEPTH = 50  # chunks retrieved per query; deduplicated to notes before scoring


class DatasetError(Exception):
    """The eval set cannot be used at all (missing, or no usable line)."""


def dedupe(items: list[str]) -> list[str]:
    """First occurrence of each item, order kept: chunk sources → a ranking of notes."""
    return list(dict.fromkeys(items))


def recall_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """Share of the relevant items found in the first k."""
    if not relevant:
        raise ValueError("recall needs at least one relevant item")
    return len(relevant & set(ranked[:k])) / len(relevant)


def hit_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """1.0 if any relevant item is in the first k, else 0.0 (gold notes as alternatives)."""
    return 1.0 if relevant & set(ranked[:k]) else 0.0


def reciprocal_rank(ranked: list[str], relevant: set[str]) -> float:
    """1 / rank of the first relevant item (rank from 1); 0 when none is retrieved."""
    for rank, item in enumerate(ranked, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG: Σ 1/log2(rank+1) over relevant hits, over the ideal ordering."""
    if not relevant:
        raise ValueError("nDCG needs at least one relevant item")
    dcg = sum(
        1.0 / math.log2(r + 1) for r, item in enumerate(ranked[:k], start=1) if item in relevant
    )
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def heading_hit(hits: list[Hit], gold: set[str], heading: str, k: int = 5) -> bool:
    """Whether a top-k chunk comes from a gold note and sits under the gold heading."""
    want = heading.casefold().strip()
    return any(h.source in gold and want in " › ".join(h.heading_path).casefold() for h in hits[:k])


@dataclass
class Item:
    id: str
    query: str
    gold: set[str]
    gold_heading: str | None = None
    split: str | None = None  # external sets: "dev" (fusion chosen on it) or "test"


@dataclass
class QueryResult:
    item: Item
    mode: str
    ranked: list[str]
    scores: dict[str, float]
    heading: bool | None


@dataclass
class RetrievalReport:
    dataset: str
    results: list[QueryResult]
    skipped: list[str] = field(default_factory=list)  # dataset lines that could not be used
    unknown_gold: list[str] = field(default_factory=list)  # gold sources not in the store
    n_sources: int = 0
    n_chunks: int = 0

    @property
    def modes(self) -> list[str]:
        return list(dict.fromkeys(r.mode for r in self.results))

    def mean(self, mode: str, metric: str) -> float:
        vals = [r.scores[metric] for r in self.results if r.mode == mode]
        return sum(vals) / len(vals) if vals else float("nan")

    def split_mean(self, mode: str, metric: str, split: str) -> float:
        vals = [r.scores[metric] for r in self.results if r.mode == mode and r.item.split == split]
        return sum(vals) / len(vals) if vals else float("nan")

    @property
    def splits(self) -> list[str]:
        return sorted({r.item.split for r in self.results if r.item.split})

    def heading_rate(self, mode: str) -> float | None:
        vals = [r.heading for r in self.results if r.mode == mode and r.heading is not None]
        return sum(vals) / len(vals) if vals else None

    @property
    def n_queries(self) -> int:
        return len({r.item.id for r in self.results})

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "queries": self.n_queries,
            "sources": self.n_sources,
            "chunks": self.n_chunks,
            "skipped_lines": self.skipped,
            "unknown_gold": self.unknown_gold,
            "splits": {
                sp: {
                    m: {k: round(self.split_mean(m, k, sp), 4) for k in ("recall@1", "recall@5")}
                    for m in self.modes
                }
                for sp in self.splits
            },
            "modes": {
                m: {
                    **{k: round(self.mean(m, k), 4) for k in METRICS},
                    "heading@5": None
                    if self.heading_rate(m) is None
                    else round(self.heading_rate(m), 4),
                }
                for m in self.modes
            },
        }

    def table(self) -> list[str]:
        n_heading = (
            sum(1 for r in self.results if r.mode == self.modes[0] and r.heading is not None)
            if self.results
            else 0
        )
        lines = [
            f"retrieval eval: {self.n_queries} queries from {self.dataset}; "
            f"store: {self.n_sources} notes, {self.n_chunks} chunks",
            f"{'mode':<8}{'recall@1':>10}{'recall@5':>10}{'MRR':>8}{'nDCG@10':>9}"
            f"{'heading@5':>11}{'all-gold@5':>12}",
        ]
        for m in self.modes:
            h = self.heading_rate(m)
            lines.append(
                f"{m:<8}{self.mean(m, 'recall@1'):>10.3f}{self.mean(m, 'recall@5'):>10.3f}"
                f"{self.mean(m, 'mrr'):>8.3f}{self.mean(m, 'ndcg@10'):>9.3f}"
                f"{'-' if h is None else f'{h:.3f}':>11}{self.mean(m, 'all_gold@5'):>12.3f}"
            )
        lines.append(
            "recall@k: a gold note in the top k (gold notes are alternatives); all-gold@5: share "
            f"of gold notes in the top 5; heading@5: over the {n_heading} queries naming a heading"
        )
        for split in self.splits:
            n = len({r.item.id for r in self.results if r.item.split == split})
            lines.append(
                f"{split} questions ({n}): "
                + "  ".join(
                    f"{m} {self.split_mean(m, 'recall@1', split):.3f}/"
                    f"{self.split_mean(m, 'recall@5', split):.3f}"
                    for m in self.modes
                )
                + "  (recall@1/recall@5)"
            )
        lines += [f"skipped line: {s}" for s in self.skipped]
        lines += [f"gold source not in the store: {s}" for s in self.unknown_gold]
        return lines

    def misses(self, mode: str, k: int = 5) -> list[str]:
        out = []
        for r in self.results:
            if r.mode == mode and r.scores[f"recall@{k}"] < 1:
                out.append(
                    f"miss {r.item.id}: {r.item.query!r} gold={sorted(r.item.gold)} got={r.ranked[:k]}"
                )
        return out


def _norm_source(s: str) -> str:
    s = s.strip().replace("\\", "/")
    return s[len("corpus/") :] if s.startswith("corpus/") else s


def load_dataset(path: Path) -> tuple[list[Item], list[str]]:
    """Items from a JSONL file, and one line per unusable line (number and reason)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    items: list[Item] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            row = json.loads(line)
            query = str(row["query"]).strip()
            gold = row.get("gold_sources") or row.get("gold_source")
            gold = {_norm_source(g) for g in ([gold] if isinstance(gold, str) else gold or [])}
            if not query or not gold:
                raise ValueError("needs a query and gold_sources")
        except (ValueError, KeyError, TypeError) as e:
            skipped.append(f"{path}:{n}: {e}")
            continue
        qid = str(row.get("id") or f"line-{n}")
        if qid in seen:
            qid = f"{qid}@{n}"
        seen.add(qid)
        heading = row.get("gold_heading")
        items.append(Item(qid, query, gold, str(heading) if heading else None))
    if not items:
        raise DatasetError(f"{path} has no usable queries")
    return items, skipped


EVAL_MODES = ("dense", "bm25", "hybrid", "rrf")


def evaluate(
    retriever, items: list[Item], modes=EVAL_MODES, depth: int = DEPTH
) -> list[QueryResult]:
    """Run every query in every mode and score the note-level ranking."""
    results = []
    for mode in modes:
        for item in items:
            hits = retriever.search(item.query, depth, mode=mode)
            ranked = dedupe([h.source for h in hits])
            # Gold notes are alternatives (either answers the question): a query counts as
            # recalled at k when any of them is in the top k. all_gold@5 is textbook recall.
            scores = {
                "recall@1": hit_at_k(ranked, item.gold, 1),
                "recall@5": hit_at_k(ranked, item.gold, 5),
                "all_gold@5": recall_at_k(ranked, item.gold, 5),
                "mrr": reciprocal_rank(ranked, item.gold),
                "ndcg@10": ndcg_at_k(ranked, item.gold, 10),
            }
            heading = heading_hit(hits, item.gold, item.gold_heading) if item.gold_heading else None
            results.append(QueryResult(item, mode, ranked, scores, heading))
    return results


def evaluate_file(dataset: Path, settings: Settings) -> RetrievalReport:
    """The eval on a store that already holds the corpus."""
    from mockloop.retrieval import Retriever

    items, skipped = load_dataset(dataset)
    retriever = Retriever(settings)
    sources = retriever.store.sources()
    unknown = sorted({g for it in items for g in it.gold} - set(sources))
    return RetrievalReport(
        dataset=str(dataset),
        results=evaluate(retriever, items),
        skipped=skipped,
        unknown_gold=unknown,
        n_sources=len(sources),
        n_chunks=sum(sources.values()),
    )


def run_retrieval_eval(dataset: Path, corpus: Path, home: Path | None = None) -> RetrievalReport:
    """Ingest `corpus` into `home` (a temp dir by default; incremental) and run the eval."""
    from mockloop.notes.ingest import ingest

    model = Settings.from_env().embed_model
    with tempfile.TemporaryDirectory(prefix="mockloop-eval-") as tmp:
        # Always the embedded store: an eval must not write into a shared server collection.
        settings = Settings(home=Path(home or tmp), embed_model=model)
        summary = ingest([corpus], settings)
        if not summary.ok:
            raise DatasetError(
                f"could not ingest the corpus at {corpus}: " + "; ".join(summary.lines())
            )
        return evaluate_file(dataset, settings)


# --- the external set: notes nobody on the project wrote ------------------------------------
# (file, question column, reference column, rows whose split makes a question "dev")
EXTERNAL = (
    ("beetle_5way.csv", "question", "reference_answers", {"train"}),
    ("scientsbank_2way.csv", "question", "reference_answers", {"train"}),
    ("saf_en_dev.csv", "question", "reference", {"training"}),
)


def external_items(evaldata: Path, notes_dir: Path) -> list[Item]:
    """Write each distinct reference answer of the SemEval-2013 and SAF sets as its own note
    under `notes_dir` (one folder per set) and return their questions as queries.

    A question's gold notes are the references of every question id with the same wording
    (Beetle asks some questions twice with different references). A question is "dev" when the
    set's training split holds it, else "test" (unseen questions and domains): fusion is chosen
    on dev only. Raises DatasetError when `evaldata` holds none of the files."""
    import csv

    items: list[Item] = []
    for name, q_col, ref_col, dev_splits in EXTERNAL:
        path = Path(evaldata) / name
        if not path.is_file():
            continue
        folder = Path(name).stem.split("_")[0]
        (notes_dir / folder).mkdir(parents=True, exist_ok=True)
        note_of: dict[str, str] = {}  # reference text → note source
        by_question: dict[str, tuple[set[str], set[str]]] = {}  # wording → (golds, splits)
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                ref = row[ref_col].replace(" ||| ", "\n").strip()
                query = " ".join(row[q_col].split())
                if not ref.strip() or not query:
                    continue
                if ref not in note_of:
                    source = f"{folder}/ref-{len(note_of):03d}.txt"
                    note_of[ref] = source
                    (notes_dir / source).write_text(ref + "\n", encoding="utf-8")
                golds, splits = by_question.setdefault(query, (set(), set()))
                golds.add(note_of[ref])
                splits.add(row["split"])
        for n, (query, (golds, splits)) in enumerate(by_question.items(), start=1):
            split = "dev" if splits & dev_splits else "test"
            items.append(Item(f"{folder}-{n:03d}", query, golds, split=split))
    if not items:
        raise DatasetError(f"no external eval data at {evaldata} (beetle, scientsbank or saf CSV)")
    return items


def run_external_eval(
    evaldata: Path, home: Path | None = None, modes=EVAL_MODES
) -> RetrievalReport:
    """Ingest the external sets' reference answers (in a temp dir; never into the repo) and
    run their questions as queries."""
    from mockloop.notes.ingest import ingest
    from mockloop.retrieval import Retriever

    model = Settings.from_env().embed_model
    with tempfile.TemporaryDirectory(prefix="mockloop-ext-") as tmp:
        notes = Path(tmp) / "notes"
        items = external_items(evaldata, notes)
        settings = Settings(home=Path(home or Path(tmp) / "home"), embed_model=model)
        summary = ingest([notes], settings)
        if not summary.ok:
            raise DatasetError("could not ingest the external notes: " + "; ".join(summary.lines()))
        retriever = Retriever(settings)
        sources = retriever.store.sources()
        return RetrievalReport(
            dataset=f"{evaldata} (reference answers as notes)",
            results=evaluate(retriever, items, modes),
            unknown_gold=sorted({g for it in items for g in it.gold} - set(sources)),
            n_sources=len(sources),
            n_chunks=sum(sources.values()),
        )
