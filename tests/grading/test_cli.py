"""The `mockloop grade`, `calibrate` and `eval grading` commands, driven as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from mockloop.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "answers.csv"
runner = CliRunner()

QUESTION = "Why do we scale features before L2 regularization?"
REFERENCE = "The L2 penalty treats all weights alike, so features on large scales are penalised less; scaling puts every weight on the same footing."
LABELLED = [
    (
        "Scaling puts every weight on the same footing, so L2 penalises all features equally instead of favouring large-scale ones.",
        5,
        "correct",
    ),
    (
        "Because the penalty is the same for each weight, features with a large scale need small weights and escape the penalty.",
        4,
        "correct",
    ),
    ("It makes training faster.", 1, "incorrect"),
    ("I am not sure.", 0, "incorrect"),
    ("Scaling is needed so the gradient descent converges.", 1, "incorrect"),
    ("So that the L2 penalty is fair across features of different units.", 4, "correct"),
]


def _labelled(path: Path, questions: int = 2) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["qid", "prompt", "ref", "student", "human", "verdict", "split"])
        for k in range(questions):
            for i, (answer, score, verdict) in enumerate(LABELLED):
                w.writerow(
                    [
                        f"q{k}",
                        QUESTION + " " * k,
                        REFERENCE,
                        answer,
                        score,
                        verdict,
                        "test" if i % 2 else "train",
                    ]
                )
    return path


def test_grade_command_writes_results_and_report_and_names_bad_rows(tmp_path, mockloop_home):
    out, report = tmp_path / "results.csv", tmp_path / "report.html"
    result = runner.invoke(
        app, ["grade", str(EXAMPLE), "--out", str(out), "--report", str(report), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "skipped answers.csv row 19: unknown question id 'breadth.no-such-question'"
        in result.output
    )
    assert "20 rows: 18 graded (18 new, 0 from an earlier run), 2 skipped" in result.output
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 18
    assert "data:image/png;base64," in report.read_text(encoding="utf-8")
    again = runner.invoke(app, ["grade", str(EXAMPLE), "--out", str(out), "--quiet"])
    assert "18 graded (0 new, 18 from an earlier run)" in again.output


def test_grade_defaults_results_into_the_data_dir(mockloop_home):
    result = runner.invoke(app, ["grade", str(EXAMPLE), "--round", "nlp", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (mockloop_home / "reports" / "answers-results.jsonl").exists()


def test_grade_calibrated_without_a_calibration_says_how_to_fit_one(mockloop_home):
    result = runner.invoke(app, ["grade", str(EXAMPLE), "--calibrated", "--quiet"])
    assert result.exit_code == 2
    assert "mockloop calibrate labeled.csv" in result.output


def test_calibrate_then_grade_calibrated(tmp_path, mockloop_home):
    labelled = tmp_path / "labelled.csv"
    with labelled.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "reference", "answer", "score"])
        for k in range(3):
            for answer, score, _ in LABELLED:
                w.writerow([QUESTION + "?" * k, REFERENCE, answer, score])
        w.writerow([QUESTION, REFERENCE, "an answer", "eleven"])
    result = runner.invoke(app, ["calibrate", str(labelled)])
    assert result.exit_code == 0, result.output
    assert "calibration fitted on 18 answers" in result.output
    assert "3-fold cross-validation grouped by question" in result.output
    assert "row 19: score 'eleven' is not a number" in result.output
    assert (mockloop_home / "calibration.json").exists()
    out = tmp_path / "cal.jsonl"
    graded = runner.invoke(
        app, ["grade", str(labelled), "--calibrated", "--out", str(out), "--quiet"]
    )
    assert graded.exit_code == 0, graded.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["raw_score"] is not None for r in rows)


def test_eval_grading_maps_columns_and_labels_and_prints_figures(tmp_path):
    data = _labelled(tmp_path / "ext.csv")
    args = [
        "eval",
        "grading",
        "--dataset",
        str(data),
        "--map",
        "qid=question_id",
        "--map",
        "prompt=question",
        "--map",
        "ref=reference",
        "--map",
        "student=answer",
        "--map",
        "verdict=score",
        "--label",
        "correct=1",
        "--label",
        "incorrect=0",
        "--boot",
        "50",
        "--ordinal",
        "--json",
        str(tmp_path / "figures.json"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "12 answers, 0 skipped" in result.output
    assert "roc_auc" in result.output and "positive = human score ≥ 1" in result.output
    assert "qwk" not in result.output  # --ordinal: no scale metrics
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["metrics"]["roc_auc"]["value"] > 0.8  # right answers outscore wrong ones
    filtered = runner.invoke(app, args + ["--where", "split=train"])
    assert "6 answers" in filtered.output


def test_eval_grading_on_a_numeric_0_to_5_table_prints_every_metric(tmp_path):
    data = _labelled(tmp_path / "ext.csv")
    args = [
        "eval",
        "grading",
        "--dataset",
        str(data),
        "--map",
        "prompt=question",
        "--map",
        "ref=reference",
        "--map",
        "student=answer",
        "--map",
        "human=score",
        "--boot",
        "50",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("pearson", "spearman", "qwk", "rmse", "within_1"):
        assert name in result.output
    pearson = float(result.output.split("pearson")[1].split()[0])
    held = runner.invoke(app, args + ["--min", f"pearson={pearson - 0.01}", "--min", "rmse=9"])
    assert held.exit_code == 0, held.output
    missed = runner.invoke(app, args + ["--min", f"pearson={pearson + 0.01}", "--min", "rmse=0"])
    assert missed.exit_code == 1
    assert "pearson" in missed.output and "rmse" in missed.output and "floor" in missed.output
    absent = runner.invoke(app, args + ["--min", "roc_auc=0.5"])  # no binary labels: no AUC
    assert absent.exit_code == 1


def test_eval_grading_without_a_dataset_fails_clearly(tmp_path):
    result = runner.invoke(app, ["eval", "grading", "--dataset", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "no dataset at" in result.output


def test_refit_map_refits_only_the_map_of_the_named_file_without_the_left_out_source(
    tmp_path, monkeypatch
):
    from mockloop.evaluation import grading_fit

    calls = []
    monkeypatch.setattr(
        grading_fit, "refit_map", lambda path, sources, log: calls.append((path, sources))
    )
    monkeypatch.setattr(grading_fit, "fit_grader", lambda *a, **k: calls.append("full fit"))
    weights = tmp_path / "m.safetensors"
    result = runner.invoke(
        app, ["eval", "grading", "--refit-map", str(weights), "--leave-out", "saf"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [(weights, tuple(s for s in grading_fit.ALL_SOURCES if s != "saf"))]
