"""The grading eval: grade every answer of a human-labelled table and measure agreement.

Works on any CSV/JSONL with a question (or bank question id), a reference answer or rubric,
an answer and a human score. `mapping` renames the file's columns to our fields
(`{"student_answer": "answer", "label_5way": "score"}`), `where` keeps rows whose column equals
a value (`{"split": "test-unseen-questions"}`), `labels` turns text labels into numbers
(`{"correct": 2, "partially_correct_incomplete": 1}`; unlisted labels are skipped with a reason).
Prints Pearson, Spearman, quadratic weighted kappa, RMSE and within-1 with bootstrap 95% CIs;
ROC-AUC when the labels are binary or a positive threshold is given.

Also `fit_match_model`: refit the grader's match weights (scoring.MatchModel) on a *training*
table — how the shipped weights were obtained (see evals/README.md). Never run it on a test split.
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
from mockloop.grading.align import MEMBERS
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


def warm_cache(items: list[tuple[int, Question, str, float]], settings: Settings) -> None:
    """Encode every prompt, key point and answer span in large batches up front (much faster)."""
    from mockloop.grading.offline import prefetch

    prefetch([(q, answer) for _, q, answer, _ in items], settings)


def exemplar_scorer(
    path: Path,
    settings: Settings,
    *,
    mapping: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    labels: dict[str, float] | None = None,
    positive_at: float | None = None,
    progress: bool = False,
) -> Callable[[Question, str, float], float]:
    """A rescoring function from labelled exemplars (e.g. a train split); see grading.exemplars."""
    from tqdm import tqdm

    from mockloop.grading import grade_answer
    from mockloop.grading.exemplars import ExemplarIndex, fit_blend
    from mockloop.grading.offline import _embed

    items, _ = load_rows(path, mapping, where, labels)
    if len(items) < 10:
        raise ValueError(f"only {len(items)} usable exemplars in {path}")
    scores = [s for *_, s in items]
    cut = positive_at if positive_at is not None else sorted(set(scores))[-1]
    warm_cache(items, settings)
    overalls = [
        grade_answer(q, a, settings=settings).overall
        for _, q, a, _ in tqdm(
            items, disable=None if progress else True, desc="exemplars", unit="answer"
        )
    ]
    vecs = _embed([a for _, _, a, _ in items], settings.embed_model)
    y = np.asarray([s >= cut for s in scores], dtype=float)
    groups = [q.id for _, q, _, _ in items]
    index = ExemplarIndex(vecs, y, groups)
    votes = [index.vote(vecs[i], exclude=groups[i]) for i in range(len(items))]
    blend = fit_blend(overalls, votes, y)

    def rescore(question: Question, answer: str, overall: float) -> float:
        vote = index.vote(_embed([answer], settings.embed_model)[0], exclude=question.id)
        return blend.apply(overall, vote)

    return rescore


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
    rescore: Callable[[Question, str, float], float] | None = None,
) -> GradingEvalReport:
    """Grade every usable row and compute agreement with the human scores."""
    from tqdm import tqdm

    from mockloop.grading import grade_answer

    settings = settings or Settings.from_env()
    grade_fn = grade_fn or (lambda q, a: grade_answer(q, a, settings=settings))
    items, problems = load_rows(path, mapping, where, labels, limit)
    report = GradingEvalReport(dataset=str(path), n=len(items), problems=problems)
    warm_cache(items, settings)
    human, pred = [], []
    bar = None if progress else True  # None: a bar on a terminal, none in a log
    for n, question, answer, score in tqdm(items, disable=bar, desc="grading", unit="answer"):
        overall = grade_fn(question, answer).overall
        if rescore is not None:
            overall = rescore(question, answer, overall)
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


def _fact_questions() -> list[Question]:
    """Bank questions with a rubric of claims (story rounds grade a story, not facts)."""
    from mockloop.bank import load_bank
    from mockloop.grading.scoring import STORY_ROUNDS

    return [q for q in load_bank().questions if q.rubric and q.round not in STORY_ROUNDS]


def bank_pairs(settings: Settings, seed: int = 0) -> list[tuple]:
    """(question, key point, span, states it?) pairs from the question bank's own rubrics.

    For every key point of a non-story bank question: the span of its own reference answer
    nearest to it (positive), and the nearest span in the reference answers of two other
    questions of the same round (negatives): the one whose prompt is most alike (a hard
    negative, e.g. L1 for an L2 point) and a random one. They teach the learned parts what ML prose
    looks like; Beetle answers are one short sentence about circuits.
    """
    import random

    from mockloop.grading import offline
    from mockloop.grading.spans import segment

    model = settings.embed_model
    questions = _fact_questions()
    rng = random.Random(seed)
    spans = {q.id: [s.quote for s in segment(q.reference_answer)] for q in questions}
    prompts = dict(
        zip(
            (q.id for q in questions),
            offline._embed([q.prompt for q in questions], model),
            strict=True,
        )
    )
    out = []
    for q in questions:
        pool = [o for o in questions if o.id != q.id and o.round == q.round]
        nearest = max(pool, key=lambda o: float(prompts[o.id] @ prompts[q.id]))
        others = [nearest, rng.choice([o for o in pool if o is not nearest])]
        for point in (p for c in q.rubric.criteria for p in c.key_points):
            vec = offline._embed([point], model)[0]
            for source, label in [(q, True)] + [(o, False) for o in others]:
                texts = spans[source.id]
                if texts:
                    best = int(np.argmax(offline._embed(texts, model) @ vec))
                    out.append((q, point, texts[best], label))
    return out


def fit_match_model(
    path: Path,
    settings: Settings | None = None,
    folds: int = 5,
    with_bank: bool = True,
    members: int = MEMBERS,
    **load_kwargs,
):
    """Refit the grader's learned parts on a labelled *training* table (positive: score ≥ cut).

    Uses rows whose reference gives a single key point, plus (`with_bank`) the bank's own
    point/span pairs (`bank_pairs`). Stacked so the logistic never sees an
    align probability from a model that was fitted on the same row:
    1. the align ensemble (align.py, `members` models averaged) is fitted
       `folds` times, each time leaving out one group of questions, and scores the answers of
       the questions it left out;
    2. scoring.MatchModel is fitted on the features of each answer's best span (its align
       feature from step 1) against the binary label;
    3. the shipped align ensemble is fitted once more on every row.
    Returns (MatchModel, align.AlignModel, n answers used, cross-validated ROC-AUC): the last is the
    logistic's out-of-fold ROC-AUC on the table's rows and on the bank's pairs, by the same
    question groups, so fits can be compared without looking at any test split.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict

    from mockloop.embeddings import encode_with_tokens
    from mockloop.grading import align, offline
    from mockloop.grading.reference import derive_key_points
    from mockloop.grading.scoring import FEATURES, MatchModel

    settings = settings or Settings.from_env()
    positive_at = load_kwargs.pop("positive_at", 1.0)
    items, _ = load_rows(path, **load_kwargs)
    warm_cache(items, settings)
    rows = []
    for _, question, answer, score in items:
        points = derive_key_points(question.reference_answer)
        if len(points) == 1 and answer.strip():
            rows.append((question, points[0], answer, score >= positive_at))
    n_table = len(rows)
    if with_bank:
        rows += bank_pairs(settings)
    texts = list(dict.fromkeys(t for _, point, answer, _ in rows for t in (point, answer)))
    raw = dict(zip(texts, encode_with_tokens(texts)[1], strict=True))
    points_tok = [raw[p] for _, p, _, _ in rows]
    answers_tok = [raw[a] for _, _, a, _ in rows]
    labels = [y for *_, y in rows]
    groups = [q.id for q, *_ in rows]

    names = list(FEATURES)
    x, y, held_groups, from_table = [], [], [], []
    for train, held in GroupKFold(folds).split(rows, labels, groups):
        fold_model = align.fit_ensemble(
            [points_tok[i] for i in train],
            [answers_tok[i] for i in train],
            [labels[i] for i in train],
            members=members,
        )
        for i in held:
            question, point, answer, label = rows[i]
            feats = offline.best_features(question, point, answer, settings, fold_model)
            if feats is not None:
                x.append([getattr(feats, k) for k in names])
                y.append(label)
                held_groups.append(groups[i])
                from_table.append(i < n_table)
    x, y, table = np.asarray(x), np.asarray(y), np.asarray(from_table)
    clf = LogisticRegression(C=1.0, max_iter=2000)
    oof = cross_val_predict(
        clf, x, y, groups=held_groups, cv=GroupKFold(folds), method="predict_proba"
    )[:, 1]
    cv = {
        name: stats.roc_auc(y[part].astype(float), oof[part])
        for name, part in (("table", table), ("bank", ~table))
        if part.any() and len(set(y[part])) == 2
    }
    clf.fit(x, y)
    coefs = dict(zip(names, (round(float(c), 3) for c in clf.coef_[0]), strict=True))
    match = MatchModel(bias=round(float(clf.intercept_[0]), 3), **coefs)
    aligner = align.fit_ensemble(points_tok, answers_tok, labels, members=members)
    return match, aligner, len(x), cv


BAND_QUANTILES = (0.49, 0.82)


def coverage_band(
    settings: Settings | None = None, quantiles: tuple[float, float] = BAND_QUANTILES, seed: int = 0
) -> tuple[float, float]:
    """The rubric coverage band (offline.BAND) for the installed match and align models.

    Every key point of a non-story bank question is matched against its own reference answer
    and the reference answers of three other questions of its round; the band's ends are the
    match probabilities at fixed quantiles of that distribution. The quantiles are where the
    first hand-set band (0.45, 0.85) sat before any learned matcher, so a refit moves the band
    with the model instead of leaving it at values the old model's probabilities had.
    """
    import random

    from mockloop.grading import offline

    settings = settings or Settings.from_env()
    model = settings.embed_model
    questions = _fact_questions()
    rng = random.Random(seed)
    probs = []
    for q in questions:
        prompt_words = set(offline.content_words(q.prompt))
        prompt_vec = offline._embed([q.prompt], model)[0]
        others = rng.sample([o for o in questions if o.id != q.id and o.round == q.round], 3)
        encs = [
            offline._encode_answer(o.reference_answer, [], prompt_words, prompt_vec, model)
            for o in [q, *others]
        ]
        points = [p for c in q.rubric.criteria for p in c.key_points]
        for p, vec, toks in zip(
            points, offline._embed(points, model), offline._tokens(points), strict=True
        ):
            pt = offline._point(p, vec, toks)
            probs += [offline._best_match(pt, enc, prompt_words)[0] for enc in encs]
    low, high = np.quantile(np.asarray(probs), quantiles)
    return round(float(low), 3), round(float(high), 3)
