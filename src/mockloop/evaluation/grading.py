"""The grading eval: grade every answer of a human-labelled table and measure agreement.

Works on any CSV/JSONL with a question (or bank question id), a reference answer or rubric,
an answer and a human score. `mapping` renames the file's columns to our fields
(`{"student_answer": "answer", "label_5way": "score"}`), `where` keeps rows whose column equals
a value (`{"split": "test-unseen-questions"}`), `labels` turns text labels into numbers
(`{"correct": 2, "partially_correct_incomplete": 1}`; unlisted labels are skipped with a reason).
Prints Pearson, Spearman, quadratic weighted kappa, RMSE and within-1 with bootstrap 95% CIs;
ROC-AUC when the labels are binary or a positive threshold is given.

Fitting the grader lives in evaluation/matcher_fit.py and evaluation/grading_fit.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mockloop.batch import BadRow, Problem, normalise, question_for_row, read_table
from mockloop.config import Settings
from mockloop.evaluation import stats
from mockloop.models import Question

FIELDS = (
    "id",
    "question_id",
    "question",
    "reference",
    "rubric",
    "answer",
    "round",
    "topic",
    "score",
)
SCALE_METRICS = ("qwk", "rmse", "within_1")  # meaningful only when humans score on 0–5


@dataclass
class Metric:
    name: str
    value: float
    low: float
    high: float

    def line(self) -> str:
        if math.isnan(self.value):
            return f"{self.name:<10} n/a"
        return f"{self.name:<10} {self.value:6.3f}  [{self.low:6.3f}, {self.high:6.3f}]"


@dataclass
class GradingEvalReport:
    dataset: str
    n: int
    metrics: list[Metric] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    auc_positive: str = ""

    def get(self, name: str) -> float:
        return next((m.value for m in self.metrics if m.name == name), float("nan"))

    def lines(self) -> list[str]:
        out = [f"grading eval on {self.dataset}: {self.n} answers, {len(self.problems)} skipped"]
        out.append(f"{'metric':<10} {'value':>6}  95% bootstrap CI")
        out += [m.line() for m in self.metrics]
        if self.auc_positive:
            out.append(f"(roc_auc: positive = {self.auc_positive})")
        return out

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "n": self.n,
            "skipped": len(self.problems),
            "metrics": {m.name: {"value": m.value, "ci95": [m.low, m.high]} for m in self.metrics},
        }


def apply_mapping(row: dict, mapping: dict[str, str]) -> dict:
    """Rename columns: mapping is file column → our field (either order is accepted)."""
    out = dict(row)
    for a, b in mapping.items():
        src, dst = (a, b) if b in FIELDS or a not in FIELDS else (b, a)
        if src in row:
            out[dst] = row[src]
    return out


def load_rows(
    path: Path,
    mapping: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    labels: dict[str, float] | None = None,
    limit: int | None = None,
) -> tuple[list[tuple[int, Question, str, float]], list[Problem]]:
    """(row number, question, answer, human score) for every usable row, plus problems."""
    rows, problems = read_table(Path(path))
    usable = []
    for n, raw in rows:
        if where and any(str(raw.get(k, "")) != v for k, v in where.items()):
            continue
        row = normalise(apply_mapping(raw, mapping or {}))
        try:
            if "answer" not in row:
                raise BadRow("missing the answer column")
            value = row.get("score")
            if labels and str(value).strip() in labels:
                score = float(labels[str(value).strip()])
            else:
                try:
                    score = float(value)
                except (TypeError, ValueError) as exc:
                    raise BadRow(f"label {value!r} is not a number and not in --label") from exc
            usable.append((n, question_for_row(row), str(row.get("answer") or ""), score))
        except BadRow as exc:
            problems.append(Problem(n, str(exc)))
        if limit and len(usable) >= limit:
            break
    return usable, problems


def _metric(name: str, fn: Callable, human, pred, n_boot: int) -> Metric:
    value = fn(human, pred)
    low, high = stats.bootstrap_ci(fn, human, pred, n=n_boot) if n_boot else (math.nan, math.nan)
    return Metric(name, value, low, high)


def warm_cache(items: list[tuple[int, Question, str, float]], settings: Settings, matcher=None):
    """Encode every key point and answer span in large batches up front (much faster)."""
    from mockloop.grading.offline import prefetch

    prefetch([(q, answer) for _, q, answer, _ in items], settings, matcher)


def run_grading_eval(
    path: Path,
    settings: Settings | None = None,
    *,
    mapping: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    labels: dict[str, float] | None = None,
    positive_at: float | None = None,
    scale: bool = True,
    n_boot: int = 1000,
    limit: int | None = None,
    progress: bool = False,
    grade_fn: Callable | None = None,
    matcher=None,
) -> GradingEvalReport:
    """Grade every usable row and compute agreement with the human scores."""
    from tqdm import tqdm

    from mockloop.grading import grade_answer

    settings = settings or Settings.from_env()
    grade_fn = grade_fn or (lambda q, a: grade_answer(q, a, settings=settings, matcher=matcher))
    items, problems = load_rows(path, mapping, where, labels, limit)
    report = GradingEvalReport(dataset=str(path), n=len(items), problems=problems)
    warm_cache(items, settings, matcher)
    human, pred = [], []
    bar = None if progress else True  # None: a bar on a terminal, none in a log
    for n, question, answer, score in tqdm(items, disable=bar, desc="grading", unit="answer"):
        overall = grade_fn(question, answer).overall
        human.append(score)
        pred.append(overall)
        report.predictions.append(
            {"row": n, "question_id": question.id, "human": score, "overall": overall}
        )
    if len(human) < 2:
        return report
    h, p = np.asarray(human), np.asarray(pred)
    report.metrics.append(_metric("pearson", stats.pearson, h, p, n_boot))
    report.metrics.append(_metric("spearman", stats.spearman, h, p, n_boot))
    if scale:
        for name in SCALE_METRICS:
            report.metrics.append(_metric(name, stats.METRICS[name], h, p, n_boot))
    values = sorted(set(human))
    if positive_at is not None or len(values) == 2:
        cut = positive_at if positive_at is not None else values[1]
        y = (h >= cut).astype(float)
        report.metrics.append(_metric("roc_auc", stats.roc_auc, y, p, n_boot))
        report.auc_positive = f"human score ≥ {cut:g}"
    return report
