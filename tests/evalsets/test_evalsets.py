"""The eval sets stay valid as the bank and corpus change: a renamed id or note fails here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mockloop.bank import load_bank
from mockloop.notes.loaders import clean_path

EVALS = Path(__file__).resolve().parents[2] / "evals"
CORPUS = EVALS.parent / "corpus"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVALS / name).read_text().splitlines() if line.strip()]


def test_grading_set_names_real_questions_with_labels_in_range():
    rows = _rows("grading.jsonl")
    bank = load_bank()
    assert len(rows) >= 240
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        question = bank.get(r["question_id"])
        assert question is not None, f"{r['id']}: unknown question {r['question_id']}"
        assert question.round == r["round"]
        assert r["label"] in range(6)
    per_round = Counter(r["round"] for r in rows)
    assert set(per_round) == {"breadth", "nlp", "ranking", "mlsd", "behavioral", "deep-dive"}
    assert len({r["question_id"] for r in rows}) >= 40


def test_retrieval_set_gold_notes_exist_in_the_corpus():
    rows = _rows("retrieval.jsonl")
    assert len(rows) >= 60
    sources = {
        clean_path(p.relative_to(CORPUS).as_posix()) for p in CORPUS.rglob("*") if p.is_file()
    }
    for r in rows:
        for gold in r["gold_sources"]:
            assert gold in sources, f"{r['id']}: gold note {gold} is not in corpus/"
