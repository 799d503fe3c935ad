"""Fitting the grader end to end, and the leave-one-dataset-out table that says how it transfers.

`fit_grader(out, sources)` is the one documented command's work (`mockloop eval grading --fit`):
1. fine-tune the matcher on pairs from the training sources (matcher_fit.py);
2. fit the cosine → probability logistic on a sample of those pairs, in the new space;
3. fit the score map — the mix of rubric coverage and whole-answer match, then an isotonic map
   to the humans' 0–1 scale — on training rows graded with the new matcher;
4. write the fitted numbers into the weights file's metadata: one artefact, nothing pasted.

`transfer_table()` fits once per left-out source and measures each fold's grader, next to the
plain MiniLM cosine baseline, on a set that fold never saw. Only train splits are fitted on.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict
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


MAP_SOURCES = ("grading", "paraphrase")  # our own labelled sets: the rubric-mode score map only


def score_rows(sources: tuple[str, ...], evaldata: Path = mf.EVALDATA, seed: int = 0) -> list:
    """(question, answer, label 0–1) rows to fit the score map on: the SemEval/SAF train splits
    in reference-answer mode; our labelled sets (evals/grading.jsonl, evals/paraphrase.jsonl) in
    rubric mode and again in reference mode (the question's reference answer alone); and, as
    anchors, bank reference answers (1) and the reference answer of another question (0)."""
    rng = random.Random(seed)
    rows: list[tuple[Question, str, float]] = []
    for p in mf.training_pairs(
        tuple(s for s in sources if s in ("beetle", "scientsbank", "saf")), evaldata
    ):
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
        for q in rng.sample(qs, min(60, len(qs))):
            other = rng.choice([o for o in qs if o.round == q.round and o.id != q.id])
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


def fit_score_map(matcher: Matcher, rows: list) -> dict:
    """Per mode, a logistic model from (whole, points, coverage) to the human grade on 0–1,
    with non-negative weights; a mode with too few rows keeps the defaults."""
    from mockloop.grading.offline import prefetch, raw_features

    prefetch([(q, a) for q, a, _ in rows], matcher=matcher)
    by_mode: dict[str, list] = {}
    for q, a, y in rows:
        mode, x = raw_features(q, a, matcher)
        by_mode.setdefault(mode, []).append((x, y))
        if mode == "rubric":  # the same rows teach the map for rubrics with no reference
            by_mode.setdefault("rubric_noref", []).append(((x[1], x[1], x[2]), y))
    out = {}
    for mode, data in by_mode.items():
        if len(data) >= 30:
            X = np.array([x for x, _ in data])
            out[mode] = soft_logistic(X, np.array([y for _, y in data]))
    return out


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
    with open(EVALS / f"{name}.jsonl", encoding="utf-8") as fh:
        data = [json.loads(line) for line in fh if line.strip()]
    return [(bank.get(d["question_id"]), d["answer"], float(d["label"])) for d in data], 3.0


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


def grader_scores(rows: list, matcher: Matcher) -> np.ndarray:
    from mockloop.grading.offline import grade_answer, prefetch

    prefetch([(q, a) for q, a, _ in rows], matcher=matcher)
    return np.array([grade_answer(q, a, matcher=matcher).overall for q, a, _ in rows])


FOLDS = ("beetle", "scientsbank", "saf", "grading", "paraphrase")
SETS = ("beetle", "scientsbank", "saf", "grading", "paraphrase")


def fold_weights(folder: Path, left_out: str, log=print, states=None) -> Path:
    """The weights fitted without `left_out` (fitted into `folder` unless already there)."""
    path = folder / f"without-{left_out}.safetensors"
    if not path.exists():
        log(f"fitting the fold without {left_out} → {path}")
        fit_grader(path, tuple(s for s in ALL_SOURCES if s != left_out), states=states, log=log)
    return path


def refit_map(path: Path, sources: tuple[str, ...] = ALL_SOURCES, log=print) -> Fitted:
    """Refit only the score map of a weights file (its matcher and logistic stay)."""
    from mockloop.grading.match import read_fitted

    kept = read_fitted(path)
    matcher = Matcher(path)
    matcher.encode(["load"])
    matcher.fitted = Fitted(slope=kept.slope, bias=kept.bias)
    fitted = Fitted(
        slope=kept.slope, bias=kept.bias, **_tuples(fit_score_map(matcher, score_rows(sources)))
    )
    write_fitted(path, fitted)
    log(f"score map refitted: {fitted}")
    return fitted


def transfer_table(folder: Path, log=print, sets: tuple[str, ...] = SETS, states=None) -> list[str]:
    """Leave one dataset out: each set graded by a grader fitted without it, beside the baseline."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [s for s in sets if s in FOLDS and not (folder / f"without-{s}.safetensors").exists()]
    if missing and states is None:
        pairs = mf.training_pairs()
        states = mf.bottom_states([t for p in pairs for t in (p.a, p.b)])
    lines = [
        "| left-out set | n | grader Pearson | cosine Pearson | grader ROC-AUC | cosine ROC-AUC |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    below = []
    for name in sets:
        matcher = Matcher(fold_weights(folder, name, log, states))
        rows, cut = test_rows(name)
        g = measure(rows, grader_scores(rows, matcher), cut)
        b = measure(rows, baseline(rows), cut)
        lines.append(
            f"| {name} | {len(rows)} | {g['pearson']:.3f} | {b['pearson']:.3f} | "
            f"{g['roc_auc']:.3f} | {b['roc_auc']:.3f} |"
        )
        log(lines[-1])
        below += [f"{name} {m}" for m in ("pearson", "roc_auc") if g[m] < b[m]]
    lines.append("below the cosine baseline: " + (", ".join(below) or "none"))
    return lines
