"""Retrieval eval: metric arithmetic on worked examples, dataset parsing, and the floors on corpus/."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mockloop.evaluation.retrieval import (
    DatasetError,
    dedupe,
    evaluate_file,
    external_items,
    hit_at_k,
    load_dataset,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)

REPO = Path(__file__).resolve().parents[2]


def eval_set() -> Path:
    """evals/retrieval.jsonl, or the drafts it is merged from while the merge is pending."""
    merged = REPO / "evals" / "retrieval.jsonl"
    if merged.exists():
        return merged
    drafts = sorted((REPO / "evals" / "_drafts").glob("retrieval_*.jsonl"))
    if not drafts:
        pytest.fail("no retrieval eval set: evals/retrieval.jsonl is missing")
    return drafts[0]


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "recall", "hit"),
    [
        (["a", "b", "c"], {"a"}, 1, 1.0, 1.0),
        (["a", "b", "c"], {"c"}, 2, 0.0, 0.0),
        (["a", "b", "c"], {"c", "z"}, 3, 0.5, 1.0),
        (["a", "b", "c", "z"], {"c", "z"}, 5, 1.0, 1.0),
        ([], {"a"}, 5, 0.0, 0.0),
    ],
)
def test_recall_and_hit_at_k(ranked, relevant, k, recall, hit):
    assert recall_at_k(ranked, relevant, k) == recall
    assert hit_at_k(ranked, relevant, k) == hit


@pytest.mark.parametrize(
    ("ranked", "relevant", "rr"),
    [(["a", "b"], {"a"}, 1.0), (["a", "b", "c"], {"c", "b"}, 0.5), (["a"], {"b"}, 0.0)],
)
def test_reciprocal_rank(ranked, relevant, rr):
    assert reciprocal_rank(ranked, relevant) == rr


def test_ndcg_worked_examples():
    assert ndcg_at_k(["a", "b"], {"a"}) == 1.0
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    # two relevant at ranks 1 and 3 vs the ideal ranks 1 and 2
    want = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}) == pytest.approx(want)
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a"}, k=10) == 0.0


def test_metrics_refuse_an_empty_gold_set():
    with pytest.raises(ValueError):
        recall_at_k(["a"], set(), 1)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], set())


def test_dedupe_turns_chunk_sources_into_a_note_ranking():
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_dataset_lines_that_cannot_be_used_are_reported_not_fatal(tmp_path):
    path = tmp_path / "set.jsonl"
    rows = [
        {
            "id": "q1",
            "query": "what is LoRA",
            "gold_sources": ["corpus/nlp/lora.md"],
            "gold_heading": "Init",
        },
        {"id": "q2", "query": "", "gold_sources": ["a.md"]},
        {"id": "q3", "query": "no gold"},
        {"id": "q1", "query": "duplicate id", "gold_sources": "b.md"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n\n")
    items, skipped = load_dataset(path)
    assert [(i.id, i.gold, i.gold_heading) for i in items] == [
        ("q1", {"nlp/lora.md"}, "Init"),
        ("q1@4", {"b.md"}, None),
    ]
    assert [s.split(": ", 1)[0] for s in skipped] == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_a_dataset_with_nothing_usable_is_an_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": ""}\n')
    with pytest.raises(DatasetError, match="no usable queries"):
        load_dataset(path)


@pytest.mark.slow
def test_hybrid_beats_each_retriever_alone_and_holds_the_recall_floor(corpus_settings):
    report = evaluate_file(eval_set(), corpus_settings)
    print("\n".join(report.table()))
    assert report.n_queries >= 60
    assert report.skipped == [] and report.unknown_gold == []
    for metric in ("recall@1", "recall@5", "mrr", "ndcg@10"):
        hybrid = report.mean("hybrid", metric)
        assert hybrid >= report.mean("dense", metric), metric
        assert hybrid >= report.mean("bm25", metric), metric
    assert report.mean("hybrid", "recall@5") >= 0.9


def test_external_set_writes_each_reference_as_a_note_and_splits_by_the_sets_own_split(tmp_path):
    data = tmp_path / "evaldata"
    data.mkdir()
    head = '"id","split","question_id","question","reference_answers","student_answer"\n'
    (data / "beetle_5way.csv").write_text(
        head
        + '"1","train","Q1","Why does the bulb light?","The circuit is closed","x"\n'
        + '"2","train","Q1","Why does the bulb light?","The circuit is closed","y"\n'
        + '"3","test-unseen-questions","Q2","What is a short?","A path with no resistance","z"\n'
        # the same wording under another question id, with another reference: both are gold
        + '"4","train","Q3","Why does the bulb light?","Both terminals are connected","w"\n'
    )
    notes = tmp_path / "notes"
    items = external_items(data, notes)
    assert [(i.query, sorted(i.gold), i.split) for i in items] == [
        ("Why does the bulb light?", ["beetle/ref-000.txt", "beetle/ref-002.txt"], "dev"),
        ("What is a short?", ["beetle/ref-001.txt"], "test"),
    ]
    assert (notes / "beetle/ref-001.txt").read_text() == "A path with no resistance\n"
    with pytest.raises(DatasetError, match="no external eval data"):
        external_items(tmp_path / "missing", tmp_path / "n2")
