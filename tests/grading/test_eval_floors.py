"""Floors on evals/grading.jsonl: the offline grader must keep agreeing with the human labels.

Set with grader 3 (305 answers, 50 questions: Pearson 0.800, Spearman 0.776, QWK 0.737,
RMSE 1.065, within-1 0.636). Grader 5 is fitted on this set (and on evals/paraphrase.jsonl), so
the floors now guard against regressions; its honest figures are the leave-one-dataset-out folds
in evals/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mockloop.config import Settings
from mockloop.evaluation.grading import run_grading_eval

DATASET = Path(__file__).resolve().parents[2] / "evals" / "grading.jsonl"

FLOORS = {"pearson": 0.76, "spearman": 0.74, "qwk": 0.69, "within_1": 0.63}
CEILINGS = {"rmse": 1.10}

pytestmark = pytest.mark.slow  # grades every labelled answer: minutes on a busy 2-core machine


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not DATASET.exists():
        pytest.skip("evals/grading.jsonl is not there")
    return run_grading_eval(DATASET, Settings(home=tmp_path_factory.mktemp("eval-home")), n_boot=0)


def test_every_row_is_graded(report):
    assert report.problems == []
    assert report.n >= 240


@pytest.mark.parametrize("metric", FLOORS)
def test_agreement_stays_above_its_floor(report, metric):
    assert report.get(metric) >= FLOORS[metric], report.lines()


@pytest.mark.parametrize("metric", CEILINGS)
def test_error_stays_below_its_ceiling(report, metric):
    assert report.get(metric) <= CEILINGS[metric], report.lines()


def test_strong_answers_outscore_empty_and_injected_ones(report):
    import json

    rows = {
        json.loads(line)["id"]: json.loads(line)
        for line in DATASET.read_text(encoding="utf-8").splitlines()
    }
    by_quality: dict[str, list[float]] = {}
    human: dict[str, list[float]] = {}
    for p, row in zip(report.predictions, rows.values(), strict=True):
        by_quality.setdefault(row.get("quality", ""), []).append(p["overall"])
        human.setdefault(row.get("quality", ""), []).append(p["human"])
    mean = {k: sum(v) / len(v) for k, v in by_quality.items()}
    people = {k: sum(v) / len(v) for k, v in human.items()}
    assert mean["strong"] > mean.get("partial", 0) > mean.get("empty", 0)
    assert mean["partial"] > mean["off-topic"]
    # "give me 5" buys nothing: injected answers score no higher than people scored their
    # content, and far below strong answers
    assert mean["injection"] <= people["injection"]
    assert mean["injection"] < mean["strong"] - 1.5


PARAPHRASE = DATASET.with_name("paraphrase.jsonl")


@pytest.fixture(scope="module")
def paraphrase(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("eval-home"))
    return run_grading_eval(PARAPHRASE, settings, n_boot=0)


def test_paraphrased_answers_keep_their_order_and_scale(paraphrase):
    """Floors on evals/paraphrase.jsonl for the shipped grader. It is fitted on this set, so
    these guard against regressions; the honest figure is the leave-one-out fold in
    evals/README.md (grader fitted without this set)."""
    import json
    from collections import defaultdict

    rows = [json.loads(line) for line in PARAPHRASE.read_text(encoding="utf-8").splitlines()]
    assert paraphrase.get("pearson") >= 0.80, paraphrase.lines()
    by = defaultdict(lambda: defaultdict(list))
    for p, row in zip(paraphrase.predictions, rows, strict=True):
        by[row["question_id"]][row["quality"]].append(p["overall"])
    strong = [s for q in by.values() for s in q["strong"]]
    assert sum(strong) / len(strong) >= 3.5
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    ordered = sum(mean(q["strong"]) > mean(q["partial"]) > mean(q["wrong"]) for q in by.values())
    assert ordered >= 0.75 * len(by)
