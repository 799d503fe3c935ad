"""The paraphrase set stays a test of paraphrase: real questions, sane labels, no copied phrasing.

evals/paraphrase.jsonl holds answers written in candidates' own words by someone who never read
the grader. Its value rests on two things checked here: every row still names a bank question of
the right round, and no answer shares a run of four words with that question's reference answer
or rubric key points (so a grader cannot score well on it by matching our own wording).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from mockloop.bank import load_bank

PATH = Path(__file__).resolve().parents[2] / "evals" / "paraphrase.jsonl"
QUALITIES = {"strong", "terse", "partial", "wrong"}
RUN = 4


def _rows() -> list[dict]:
    return [json.loads(line) for line in PATH.read_text().splitlines() if line.strip()]


def _runs(text: str) -> set[tuple[str, ...]]:
    """Every run of RUN consecutive lower-cased words: "A b c d e" -> {(a,b,c,d), (b,c,d,e)}."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def _protected_texts(question) -> list[str]:
    texts = [question.reference_answer or ""]
    if question.rubric is not None:
        texts += [p for c in question.rubric.criteria for p in c.key_points]
    return texts


def test_runs_are_four_word_windows():
    assert _runs("Find the smallest, and put it") == {
        ("find", "the", "smallest", "and"),
        ("the", "smallest", "and", "put"),
        ("smallest", "and", "put", "it"),
    }


def test_rows_name_real_questions_with_valid_labels():
    rows = _rows()
    bank = load_bank()
    assert len(rows) >= 150
    assert len({r["question_id"] for r in rows}) >= 45
    assert len({r["id"] for r in rows}) == len(rows), "duplicate row ids"
    for r in rows:
        question = bank.get(r["question_id"])
        assert question is not None, f"{r['id']}: unknown question {r['question_id']}"
        assert question.round == r["round"], f"{r['id']}: round {r['round']} != {question.round}"
        assert r["label"] in range(6), f"{r['id']}: label {r['label']}"
        assert r["quality"] in QUALITIES, f"{r['id']}: quality {r['quality']}"
        assert r["answer"].strip(), f"{r['id']}: empty answer"


def test_every_question_has_strong_partial_and_wrong_answers_in_label_order():
    by_question: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in _rows():
        by_question[r["question_id"]][r["quality"]].append(r["label"])
    for qid, labels in by_question.items():
        missing = {"strong", "partial", "wrong"} - set(labels)
        assert not missing, f"{qid}: no {sorted(missing)} answer"
        # the grader's "strong > partial > wrong" check only means something if the labels agree
        assert min(labels["strong"]) > max(labels["partial"]), f"{qid}: strong <= partial"
        assert min(labels["partial"]) > max(labels["wrong"]), f"{qid}: partial <= wrong"


def test_no_answer_shares_a_four_word_run_with_reference_or_key_points():
    bank = load_bank()
    offences = []
    for r in _rows():
        question = bank.get(r["question_id"])
        answer_runs = _runs(r["answer"])
        for text in _protected_texts(question):
            for run in sorted(answer_runs & _runs(text)):
                offences.append(f"{r['id']} ({r['question_id']}): '{' '.join(run)}'")
    assert not offences, "answers copy the rubric's wording:\n" + "\n".join(offences)


def test_the_set_is_mostly_technical_with_each_quality_present():
    rows = _rows()
    qualities = Counter(r["quality"] for r in rows)
    assert set(qualities) == QUALITIES
    rounds = Counter(r["round"] for r in rows)
    assert rounds["breadth"] + rounds["nlp"] + rounds["ranking"] + rounds["mlsd"] >= 0.8 * len(rows)
