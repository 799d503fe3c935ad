"""`mockloop` commands for grading: grade (batch), calibrate, eval grading."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mockloop.cli.app import app, eval_app
from mockloop.config import Settings


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise typer.BadParameter(f"{what} takes key=value, not {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _missed_floors(report, floors: dict[str, str]) -> list[str]:
    """Metrics that miss their floor (for RMSE a ceiling); one the run lacks (NaN) misses too."""
    out = []
    for name, text in floors.items():
        try:
            floor = float(text)
        except ValueError:
            raise typer.BadParameter(f"--min {name}={text}: not a number") from None
        value = report.get(name)
        if not (value <= floor if name == "rmse" else value >= floor):
            out.append(f"{name} {value:.3f} (floor {floor:g})")
    return out


@app.command()
def grade(
    answers: Path = typer.Argument(..., help="answers.csv or answers.jsonl"),
    round_name: str | None = typer.Option(None, "--round", help="grade only rows of this round"),
    out: Path | None = typer.Option(None, "--out", help="results.jsonl or results.csv"),
    report: Path | None = typer.Option(None, "--report", help="report.html or report.md"),
    calibrated: bool = typer.Option(False, "--calibrated", help="apply your stored calibration"),
    cite: bool = typer.Option(False, "--cite", help="cite your ingested notes for missed points"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Grade a file of written answers; resumable; bad rows are reported and skipped."""
    from mockloop.batch import grade_batch

    settings = Settings.from_env()
    if out is None:
        out = settings.reports_dir / f"{answers.stem}-results.jsonl"
    retriever = None
    if cite:
        from mockloop.retrieval import Retriever

        retriever = Retriever(settings)
    try:
        summary = grade_batch(
            answers,
            settings,
            round_name=round_name,
            out=out,
            report=report,
            calibrated=calibrated,
            retriever=retriever,
            progress=not quiet,
            on_problem=lambda line: typer.echo(line, err=True),
        )
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in summary.lines(answers.name)[summary.skipped :]:
        typer.echo(line)
    if not summary.results and summary.problems:
        raise typer.Exit(1)


@app.command()
def calibrate(
    labeled: Path = typer.Argument(
        ..., help="CSV/JSONL with question_id (or question+reference), answer, score 0–5"
    ),
) -> None:
    """Fit a monotone map from the grader's raw score to your own 0–5 scale, and store it."""
    from mockloop.grading.calibrate import calibrate_file

    settings = Settings.from_env()
    run = calibrate_file(labeled, settings)
    for p in run.problems:
        typer.echo(p.line(labeled.name), err=True)
    if run.calibration is None:
        raise typer.Exit(1)
    cv = run.calibration.cv
    typer.echo(f"calibration fitted on {run.used} answers → {run.path}")
    if cv.get("folds"):
        typer.echo(f"benefit, {cv['folds']}-fold cross-validation grouped by question:")
        typer.echo(f"  {'':<11}{'rmse':>7}{'within_1':>10}{'qwk':>7}{'spearman':>10}")
        for name in ("raw", "calibrated"):
            m = cv[name]
            typer.echo(
                f"  {name:<11}{m['rmse']:>7.3f}{m['within_1']:>10.3f}{m['qwk']:>7.3f}{m['spearman']:>10.3f}"
            )
    else:
        typer.echo(f"  {cv.get('note', 'no cross-validation')}")
    typer.echo("apply it with `mockloop grade answers.csv --calibrated`")


@eval_app.command("grading")
def eval_grading(
    dataset: Path = typer.Option(
        Path("evals/grading.jsonl"), "--dataset", help="CSV/JSONL of labelled answers"
    ),
    mapping: list[str] | None = typer.Option(
        None,
        "--map",
        help="column=field (fields: question, reference, answer, score, question_id, rubric, round)",
    ),
    where: list[str] | None = typer.Option(None, "--where", help="keep rows with column=value"),
    label: list[str] | None = typer.Option(
        None, "--label", help="text label=number, e.g. correct=5"
    ),
    positive_at: float | None = typer.Option(
        None, "--positive-at", help="ROC-AUC positives: human score ≥ this"
    ),
    ordinal: bool = typer.Option(
        False, "--ordinal", help="labels are ranks, not 0–5: skip kappa, RMSE, within-1"
    ),
    boot: int = typer.Option(1000, "--boot", help="bootstrap resamples for the 95% CIs"),
    limit: int | None = typer.Option(None, "--limit", help="grade at most this many rows"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the figures as JSON"),
    exemplars: Path | None = typer.Option(
        None,
        "--exemplars",
        help="labelled answers to other questions (e.g. a train split) to vote with",
    ),
    exemplar_where: list[str] | None = typer.Option(
        None, "--exemplar-where", help="keep exemplar rows with column=value (e.g. split=train)"
    ),
    fit: bool = typer.Option(
        False, "--fit-match-model", help="refit the match weights on this (training!) table instead"
    ),
    align_out: Path = typer.Option(
        Path("align.npz"), "--align-out", help="with --fit-match-model: where the align model goes"
    ),
    floors: list[str] | None = typer.Option(
        None,
        "--min",
        help="metric=value: exit 1 if the metric falls below it (rmse: above), e.g. roc_auc=0.78",
    ),
) -> None:
    """How well the offline grader agrees with human scores on a labelled table."""
    from mockloop.evaluation.grading import fit_match_model, run_grading_eval

    settings = Settings.from_env()
    labels = {k: float(v) for k, v in _pairs(label, "--label").items()}
    kwargs = dict(
        mapping=_pairs(mapping, "--map"), where=_pairs(where, "--where"), labels=labels, limit=limit
    )
    if not dataset.exists():
        typer.echo(f"error: no dataset at {dataset}", err=True)
        raise typer.Exit(2)
    if fit:
        model, aligner, n, cv = fit_match_model(
            dataset, settings, positive_at=positive_at or 1.0, **kwargs
        )
        aligner.save(align_out)
        typer.echo(f"MatchModel fitted on {n} answers: {model}")
        typer.echo(
            "grouped-CV ROC-AUC (train only): " + ", ".join(f"{k} {v:.3f}" for k, v in cv.items())
        )
        typer.echo(f"align model written to {align_out} (ships as src/mockloop/grading/align.npz)")
        return
    rescore = None
    if exemplars is not None:
        from mockloop.evaluation.grading import exemplar_scorer

        rescore = exemplar_scorer(
            exemplars,
            settings,
            mapping=kwargs["mapping"],
            where=_pairs(exemplar_where, "--exemplar-where"),
            labels=labels,
            positive_at=positive_at,
            progress=True,
        )
    report = run_grading_eval(
        dataset,
        settings,
        rescore=rescore,
        positive_at=positive_at,
        scale=not ordinal,
        n_boot=boot,
        progress=True,
        **kwargs,
    )
    for line in report.lines():
        typer.echo(line)
    if json_out:
        json_out.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    failed = _missed_floors(report, _pairs(floors, "--min"))
    if failed:
        typer.echo("below the floor: " + "; ".join(failed), err=True)
        raise typer.Exit(1)
