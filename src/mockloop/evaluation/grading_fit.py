"""Fitting the grader end to end, and the leave-one-dataset-out table that says how it transfers.

`fit_grader(out, sources)` is the one documented command's work (`mockloop eval grading --fit`):
1. fine-tune the matcher on pairs from the training sources (matcher_fit.py);
2. fit the cosine → probability logistic on a sample of those pairs, in the new space;
3. fit the score map — per mode, a model of the whole-answer match, the point match and the
   rubric coverage (rubric modes: a logistic equated to the humans' spread; reference mode: a
   line, each source weighing the same) — on training rows graded with the new matcher;
4. write the fitted numbers into the weights file's metadata: one artefact, nothing pasted.

`transfer_table()` fits once per left-out source and measures each fold's grader, next to the
plain MiniLM cosine baseline, on a set that fold never saw; with ABLATIONS it also measures the
grader with each part of its score taken away. Only train splits are fitted on.
"""

from __future__ import annotations

import csv
import functools
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mockloop.evaluation import matcher_fit as mf
from mockloop.grading.match import Fitted, Matcher
from mockloop.models import Question

SCORE_ROWS = 2500  # training rows the score map is fitted on (a sample: two numbers and a curve)
LOGISTIC_PAIRS = 4000


def fit_logistic(matcher: Matcher, pairs: list[mf.Pair], seed: int = 0) -> tuple[float, float]:
    """(slope, bias) of P(states it | cosine), fitted on a sample of training pairs."""
    from sklearn.linear_model import LogisticRegression

    sample = random.Random(seed).sample(pairs, min(LOGISTIC_PAIRS, len(pairs)))
    a = matcher.encode([p.a for p in sample])
    b = matcher.encode([p.b for p in sample])
    cos = (a * b).sum(1, keepdims=True)
    y = np.array([p.label >= 0.5 for p in sample])
    lr = LogisticRegression(C=10.0).fit(cos, y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


# Our own labelled sets: they fit the rubric modes' map, and reference mode's line again
# graded against the question's reference alone (score_rows).
MAP_SOURCES = ("grading", "paraphrase")


# Outside sources whose grades set reference mode's line: SAF's 0–1 scores of university
# answers, the closest to a technical short answer. The matcher learns from all three outside
# sets; the line does not from two of them. SciEntsBank's 2-way labels count a partly correct
# answer as wrong (fitted on them, the map marked partial answers down to 0). Beetle's school
# physics answers share the reference's words whether right or wrong, so they sit high on the
# cosine scale: fitted on them too, the line was steep enough that a faithful paraphrase of a
# technical reference read 3.1–3.4 (evals/README.md, look 9).
GRADED = ("saf",)


def score_rows(sources: tuple[str, ...], evaldata: Path = mf.EVALDATA, seed: int = 0) -> list:
    """(question, answer, label 0–1) rows to fit the score map on: the SAF train
    split in reference-answer mode; our labelled sets (evals/grading.jsonl, evals/paraphrase.jsonl) in
    rubric mode and again in reference mode (the question's reference answer alone); and, as
    anchors, bank reference answers (1) and the reference answer of another question (0).
    The anchors are drawn with their own generator, so every fold and ablation fits on the same
    anchors whatever outside rows it samples."""
    rng = random.Random(seed)
    rows: list[tuple[Question, str, float]] = []
    for p in mf.training_pairs(tuple(s for s in sources if s in GRADED), evaldata):
        q = Question(
            id=f"{p.source}:{p.group}",
            round="breadth",
            topic=p.source,
            prompt="",
            reference_answer=p.a,
        )
        rows.append((q, p.b, p.label))
    rows = rng.sample(rows, min(SCORE_ROWS, len(rows)))
    for name in (s for s in sources if s in MAP_SOURCES):
        for q, a, y in test_rows(name)[0]:
            rows.append((q, a, y / 5.0))
            if q.reference_answer:  # the same answer graded against the reference alone
                rows.append((q.model_copy(update={"rubric": None}), a, y / 5.0))
    if "bank" in sources:
        from mockloop.bank import load_bank

        qs = [q for q in load_bank().questions if q.rubric is not None and q.reference_answer]
        qs = [q for q in qs if q.round not in ("behavioral", "deep-dive")]
        anchors = random.Random(seed)
        for q in anchors.sample(qs, min(60, len(qs))):
            other = anchors.choice([o for o in qs if o.round == q.round and o.id != q.id])
            rows += [(q, q.reference_answer, 1.0), (q, other.reference_answer, 0.0)]
    return rows


def soft_logistic(X: np.ndarray, y: np.ndarray) -> list[float]:
    """(bias, weights…) of a logistic model fitted to grades on 0–1 (each row counts as a
    positive with weight y and a negative with weight 1 − y); a reading whose weight comes out
    negative is dropped and the rest refitted, so more agreement never lowers a score."""
    from sklearn.linear_model import LogisticRegression

    keep = list(range(X.shape[1]))
    while True:
        Xk = np.vstack([X[:, keep], X[:, keep]])
        yk = np.r_[np.ones(len(y)), np.zeros(len(y))]
        lr = LogisticRegression(C=10.0, max_iter=1000).fit(Xk, yk, sample_weight=np.r_[y, 1 - y])
        coef = lr.coef_[0]
        if (coef >= 0).all() or len(keep) == 1:
            break
        keep.pop(int(np.argmin(coef)))
    weights = [0.0] * X.shape[1]
    for k, c in zip(keep, coef, strict=True):
        weights[k] = round(float(max(c, 0.0)), 4)
    return [round(float(lr.intercept_[0]), 4)] + weights


def equate(coefficients: list[float], X: np.ndarray, y: np.ndarray) -> list[float]:
    """The logistic's coefficients rescaled (z → a·z + c) so its grades on the training rows
    spread like the humans' (same mean and standard deviation).

    A least-squares fit on noisy readings pulls every grade toward the middle: strong answers
    read 3 and wrong ones 1.5 where people give 5 and 1. Matching the spread keeps the order
    (a > 0) and puts the grades back on the people's scale."""
    from scipy.optimize import minimize

    z = coefficients[0] + X @ np.array(coefficients[1:])

    def mismatch(v):
        p = 1.0 / (1.0 + np.exp(-(np.exp(v[0]) * z + v[1])))
        return (p.mean() - y.mean()) ** 2 + (p.std() - y.std()) ** 2

    v = minimize(mismatch, x0=[0.0, 0.0], method="Nelder-Mead").x
    a, c = float(np.exp(v[0])), float(v[1])
    return [round(a * coefficients[0] + c, 4)] + [round(a * w, 4) for w in coefficients[1:]]


@dataclass(frozen=True)
class MapRow:
    """One graded row as the score map sees it."""

    mode: str
    readings: tuple[float, float, float]  # (whole, points, coverage)
    human: float  # 0–1
    red_flags: int
    keyword_list: bool
    empty: bool
    source: str  # "saf" (score_rows names it in the question id) or "ours"


def source_of(question: Question) -> str:
    """Which training source a score row came from (equal weight per source in the fit)."""
    head = question.id.split(":")[0]
    return head if head in GRADED else "ours"


def map_rows(matcher: Matcher, rows: list) -> list[MapRow]:
    """Each (question, answer, human 0–1) row read by the grader with `matcher`."""
    from mockloop.grading.offline import best_of, mode_of, prefetch, readings

    prefetch([(q, a) for q, a, _ in rows], matcher=matcher)
    out = []
    for q, a, y in rows:
        _, s = best_of(q, a, matcher)
        out.append(
            MapRow(
                mode_of(q, s),
                readings(s),
                y,
                len(s.red_flags),
                s.sig.keyword_list,
                not a.strip(),
                source_of(q),
            )
        )
    return out


def _masked(readings: tuple, drop: tuple[int, ...]) -> tuple:
    return tuple(0.0 if i in drop else x for i, x in enumerate(readings))


EQUATED = ("rubric", "rubric_noref")  # modes fitted on 0–5 grades: equated to their spread
LINEAR = ("reference",)  # modes whose map is linear, each training source weighted the same


def linear_fit(X: np.ndarray, y: np.ndarray, sources: list[str]) -> list[float]:
    """(bias, weights…) of a least-squares line with non-negative weights, each source's rows
    weighing as much in all as any other source's (the largest set does not set the scale)."""
    from sklearn.linear_model import LinearRegression

    count = Counter(sources)
    weight = np.array([1.0 / count[s] for s in sources])
    lr = LinearRegression(positive=True).fit(X, y, sample_weight=weight)
    return [round(float(lr.intercept_), 4)] + [round(float(c), 4) for c in lr.coef_]


def fit_map(rows: list[MapRow], drop: tuple[int, ...] = ()) -> dict:
    """Per mode, a model from (whole, points, coverage) to the human grade on 0–1, with
    non-negative weights: in the rubric modes a logistic (fitted on our 0–5 grades) equated to
    the humans' spread; in reference mode a line fitted on other datasets' grades, whose
    answers sit at different places on the cosine scale (a logistic steep enough for one set
    saturates on the next; measured in evals/README.md). A mode with too few rows keeps the
    defaults. Readings in `drop` are zeroed (the ablation)."""
    by_mode: dict[str, list] = {}
    for r in rows:
        x = _masked(r.readings, drop)
        by_mode.setdefault(r.mode, []).append((x, r.human, r.source))
        if r.mode == "rubric":  # the same rows teach the map for rubrics with no reference
            by_mode.setdefault("rubric_noref", []).append(((x[1], x[1], x[2]), r.human, r.source))
    out: dict = {"linear": []}
    for mode, data in by_mode.items():
        if len(data) >= 30:
            X, y = np.array([x for x, *_ in data]), np.array([y for _, y, _ in data])
            if mode in LINEAR:
                out[mode] = linear_fit(X, y, [s for *_, s in data])
                out["linear"].append(mode)
                continue
            coefficients = soft_logistic(X, y)
            out[mode] = equate(coefficients, X, y) if mode in EQUATED else coefficients
    return out


def fit_score_map(matcher: Matcher, rows: list) -> dict:
    """The score map fitted on (question, answer, human 0–1) rows graded with `matcher`."""
    return fit_map(map_rows(matcher, rows))


def write_fitted(weights: Path, fitted: Fitted) -> None:
    """Store the fitted numbers in the weights file's metadata (the one artefact)."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(weights))
    meta = {"base": "all-MiniLM-L6-v2", "fitted": json.dumps(asdict(fitted))}
    save_file(state, str(weights), metadata=meta)


ALL_SOURCES = mf.SOURCES


def fit_grader(
    out: Path, sources: tuple[str, ...] = ALL_SOURCES, *, states=None, log=print
) -> Fitted:
    """Fit matcher, logistic and score map on the sources; write them all to `out`."""
    pairs = mf.training_pairs(sources)
    log(f"pairs: {mf.label_balance(pairs)}")
    mf.fine_tune(pairs, out, states=states, log=log)
    matcher = Matcher(out)
    slope, bias = fit_logistic(matcher, pairs)
    matcher.fitted = Fitted(slope=slope, bias=bias)
    log(f"logistic: slope {slope:.2f} bias {bias:.2f}")
    fitted = Fitted(slope=slope, bias=bias, **_tuples(fit_score_map(matcher, score_rows(sources))))
    write_fitted(out, fitted)
    log(f"score map: {fitted}; written to {out}")
    return fitted


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


# --- the leave-one-dataset-out table -------------------------------------------------------

EVALS = Path(__file__).resolve().parents[3] / "evals"
# left-out set → (file, filter, answer/reference/label columns, labels, positive at)
TESTS = {
    "beetle": ("beetle_5way.csv", {"split": "test-unseen-questions"}),
    "scientsbank": ("scientsbank_2way.csv", {"split": "test-unseen-questions"}),
    "saf": ("saf_en_dev.csv", {"split": "unseen_answers"}),
}


def test_rows(name: str, evaldata: Path = mf.EVALDATA) -> tuple[list, float]:
    """(question, answer, human) rows of a left-out set and the ROC-AUC positive cut."""
    if name in TESTS:
        fname, where = TESTS[name]
        with open(evaldata / fname, newline="", encoding="utf-8") as fh:
            raw = [r for r in csv.DictReader(fh) if all(r[k] == v for k, v in where.items())]
        rows = []
        for r in raw:
            if name == "saf":
                ref, ans, y = r["reference"], r["answer"], float(r["score"])
            elif name == "beetle":
                ref, ans = r["reference_answers"], r["student_answer"]
                y = {"correct": 2.0, "partially_correct_incomplete": 1.0}.get(r["label_5way"], 0.0)
            else:
                ref, ans = r["reference_answers"], r["student_answer"]
                y = 1.0 if r["label_2way"] == "correct" else 0.0
            q = Question(
                id=r["question_id"],
                round="breadth",
                topic=name,
                prompt=r["question"],
                reference_answer=ref,
            )
            rows.append((q, ans, y))
        return rows, {"saf": 0.5, "beetle": 2.0, "scientsbank": 1.0}[name]
    from mockloop.bank import load_bank

    bank = load_bank()
    data = read_evalset(name)
    return [(bank.get(d["question_id"]), d["answer"], float(d["label"])) for d in data], 3.0


def read_evalset(name: str) -> list[dict]:
    """The rows of one of our labelled sets (evals/NAME.jsonl)."""
    with open(EVALS / f"{name}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def baseline(rows: list) -> np.ndarray:
    """The plain baseline: max cosine of the answer and any reference, with the bundled MiniLM."""
    from mockloop.embeddings import encode_cached
    from mockloop.grading.reference import split_references

    out = []
    for q, a, _ in rows:
        refs = split_references(q.reference_answer or "") or [""]
        out.append(float((encode_cached([a or " "]) @ encode_cached(refs).T).max()))
    return np.array(out)


def measure(rows: list, pred: np.ndarray, cut: float) -> dict:
    from scipy.stats import pearsonr
    from sklearn.metrics import roc_auc_score

    y = np.array([h for *_, h in rows])
    return {"pearson": float(pearsonr(y, pred)[0]), "roc_auc": float(roc_auc_score(y >= cut, pred))}


SETS = ("beetle", "scientsbank", "saf", "grading", "paraphrase")


def fold_weights(folder: Path, left_out: str, log=print, states=None) -> Path:
    """The weights fitted without `left_out` (fitted into `folder` unless already there)."""
    path = folder / f"without-{left_out}.safetensors"
    if not path.exists():
        log(f"fitting the fold without {left_out} → {path}")
        fit_grader(path, tuple(s for s in ALL_SOURCES if s != left_out), states=states, log=log)
    return path


def fold_matcher(path: Path) -> Matcher:
    """The matcher of a weights file with its fitted logistic, loaded; its score map is left
    out (the caller refits one)."""
    from mockloop.grading.match import read_fitted

    kept = read_fitted(path)
    matcher = Matcher(path)
    matcher.encode(["load"])
    matcher.fitted = Fitted(slope=kept.slope, bias=kept.bias)
    return matcher


@functools.cache
def fold_readings(path: Path, left_out: str) -> tuple[Matcher, list[MapRow]]:
    """A fold's matcher and its training rows as the score map reads them (all sources but
    `left_out`): computed once per run, shared by the transfer table and the paraphrase CV."""
    matcher = fold_matcher(path)
    return matcher, map_rows(matcher, score_rows(tuple(s for s in ALL_SOURCES if s != left_out)))


def refit_map(path: Path, sources: tuple[str, ...] = ALL_SOURCES, log=print) -> Fitted:
    """Refit only the score map of a weights file (its matcher and logistic stay)."""
    matcher = fold_matcher(path)
    fitted = Fitted(
        slope=matcher.fitted.slope,
        bias=matcher.fitted.bias,
        **_tuples(fit_score_map(matcher, score_rows(sources))),
    )
    write_fitted(path, fitted)
    log(f"score map refitted: {fitted}")
    return fitted


# (name, readings zeroed, red-flag and keyword-list cuts applied)
GRADER = ("grader", (), True)
ABLATIONS = (
    GRADER,
    ("without the whole-answer reading", (0,), True),
    ("without the point reading", (1,), True),
    ("without the coverage reading", (2,), True),
    ("without the red-flag and keyword-list cuts", (), False),
)


def fold_scores(matcher: Matcher, train: list[MapRow], test: list[MapRow], variant) -> np.ndarray:
    """The left-out rows graded with a score map refitted on the fold's training rows, with one
    part of the score taken away (`variant`, one of ABLATIONS; GRADER takes nothing away)."""
    from mockloop.grading import scoring

    _, drop, cuts = variant
    fitted = Fitted(
        slope=matcher.fitted.slope, bias=matcher.fitted.bias, **_tuples(fit_map(train, drop))
    )
    out = []
    for r in test:
        score = fitted.score(r.mode, _masked(r.readings, drop))
        if cuts:
            score = scoring.penalised(score, r.red_flags, r.keyword_list)
        out.append(0.0 if r.empty else score)
    return np.array(out)


def transfer_table(
    folder: Path, log=print, sets: tuple[str, ...] = SETS, variants=(GRADER,), states=None
) -> list[str]:
    """Leave one dataset out: each set graded by a grader fitted without it (Pearson / ROC-AUC),
    beside the plain MiniLM cosine. The matchers are fitted once into `folder` and reused; the
    score map is refitted from the fold's training rows on every run, so the table always
    measures the code as it is. With more `variants` (ABLATIONS) it is the ablation table."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [s for s in sets if not (folder / f"without-{s}.safetensors").exists()]
    if missing and states is None:
        pairs = mf.training_pairs()
        states = mf.bottom_states([t for p in pairs for t in (p.a, p.b)])
    cells: dict[str, list[str]] = {v[0]: [] for v in variants}
    cells["MiniLM cosine"] = []
    below = []
    for name in sets:
        matcher, train = fold_readings(fold_weights(folder, name, log, states), name)
        rows, cut = test_rows(name)
        test = map_rows(matcher, rows)
        base = measure(rows, baseline(rows), cut)
        cells["MiniLM cosine"].append(f"{base['pearson']:.3f} / {base['roc_auc']:.3f}")
        for variant in variants:
            m = measure(rows, fold_scores(matcher, train, test, variant), cut)
            cells[variant[0]].append(f"{m['pearson']:.3f} / {m['roc_auc']:.3f}")
            log(f"{name} (n={len(rows)}): {variant[0]}: {cells[variant[0]][-1]}")
            if variant is GRADER:
                below += [f"{name} {k}" for k in ("pearson", "roc_auc") if m[k] < base[k]]
        log(f"{name}: MiniLM cosine: {cells['MiniLM cosine'][-1]}")
    lines = [
        "Pearson / ROC-AUC on each left-out set, graded by a grader fitted without it",
        "| | " + " | ".join(sets) + " |",
        "|---" + "|---:" * len(sets) + "|",
    ]
    lines += [f"| {label} | " + " | ".join(c) + " |" for label, c in cells.items()]
    lines.append("below the cosine baseline: " + (", ".join(below) or "none"))
    return lines


# --- the paraphrase set, cross-validated by question --------------------------------------

ORDER = ("strong", "partial", "wrong")  # each question's answers should score in this order


def paraphrase_cv(folder: Path, k: int = 5, log=print) -> list[str]:
    """evals/paraphrase.jsonl graded in k folds grouped by question: the matcher is the fold
    fitted without the set (never trained on it), the score map is fitted on the other sources
    plus the other folds' questions. It measures what the shipped grader (whose map has seen
    this set) does on answers of this kind to questions it has not seen. Prints Pearson, QWK,
    the mean grade per quality beside the people's, and on how many questions strong > partial
    > wrong holds."""
    from itertools import pairwise

    from sklearn.model_selection import GroupKFold

    from mockloop.evaluation import stats

    matcher, others = fold_readings(fold_weights(folder, "paraphrase", log), "paraphrase")
    rows, _ = test_rows("paraphrase")
    quality = [d["quality"] for d in read_evalset("paraphrase")]
    read = map_rows(matcher, [(q, a, y / 5.0) for q, a, y in rows])
    # each answer also teaches the map against the reference alone, as score_rows does
    alone = map_rows(
        matcher, [(q.model_copy(update={"rubric": None}), a, y / 5.0) for q, a, y in rows]
    )
    groups = [q.id for q, *_ in rows]
    pred = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=k).split(rows, groups=groups):
        held_in = [read[i] for i in train] + [
            alone[i] for i in train if rows[i][0].reference_answer
        ]
        pred[test] = fold_scores(matcher, others + held_in, [read[i] for i in test], GRADER)
    human = np.array([y for *_, y in rows])
    lines = [
        f"evals/paraphrase.jsonl, {k} folds by question (n={len(rows)}, "
        f"{len(set(groups))} questions): Pearson {stats.pearson(human, pred):.3f}, "
        f"QWK {stats.qwk(human, pred):.3f}, RMSE {stats.rmse(human, pred):.2f}"
    ]
    for name in ("strong", "terse", "partial", "wrong"):
        pick = [i for i, q in enumerate(quality) if q == name]
        lines.append(
            f"  {name:8s} n={len(pick):3d}  grader {pred[pick].mean():.2f}  people "
            f"{human[pick].mean():.2f}"
        )
    ordered = total = 0
    for qid in dict.fromkeys(groups):
        mean = {}
        for name in ORDER:
            pick = [i for i, g in enumerate(groups) if g == qid and quality[i] == name]
            if pick:
                mean[name] = pred[pick].mean()
        if len(mean) >= 2:
            total += 1
            got = [mean[n] for n in ORDER if n in mean]
            ordered += all(a > b for a, b in pairwise(got))
    lines.append(f"  strong > partial > wrong on {ordered} of {total} questions")
    return lines
