"""`mockloop` commands for grading: grade (batch), calibrate, eval grading."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mockloop.cli.app import app, eval_app
from mockloop.config import Settings


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """['a=1', 'b = 2'] -> {'a': '1', 'b': '2'}; an item without '=' is a usage error."""
    out = {}
    for item in values or []:
        if "=" not in item:
            raise typer.BadParameter(f"{what} takes key=value, not {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def pairs_option(flag: str, help: str):
    """A repeatable `--flag key=value` option (the four of `eval grading` share this one shape);
    the command reads it with parse_pairs."""
    return typer.Option(None, flag, help=help, metavar="KEY=VALUE")


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
    from mockloop.evaluation.calibration import calibrate_file

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
    mapping: list[str] | None = pairs_option(
        "--map",
        "column=field (fields: question, reference, answer, score, question_id, rubric, round)",
    ),
    where: list[str] | None = pairs_option("--where", "keep rows with column=value"),
    label: list[str] | None = pairs_option("--label", "text label=number, e.g. correct=5"),
    positive_at: float | None = typer.Option(
        None, "--positive-at", help="ROC-AUC positives: human score ≥ this"
    ),
    ordinal: bool = typer.Option(
        False, "--ordinal", help="labels are ranks, not 0–5: skip kappa, RMSE, within-1"
    ),
    boot: int = typer.Option(1000, "--boot", help="bootstrap resamples for the 95% CIs"),
    limit: int | None = typer.Option(None, "--limit", help="grade at most this many rows"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the figures as JSON"),
    fit: Path | None = typer.Option(
        None,
        "--fit",
        help="refit the grader from its training sources (train splits only) and write the "
        "weights file here (ships as src/mockloop/grading/matcher.safetensors); ~40 min, 2 cores",
    ),
    refit_map: Path | None = typer.Option(
        None,
        "--refit-map",
        help="refit only the score map of this weights file (its matcher stays; ~6 min)",
    ),
    leave_out: str | None = typer.Option(
        None,
        "--leave-out",
        help="with --fit or --refit-map: fit without this source (beetle, scientsbank, saf, bank, grading, paraphrase)",
    ),
    transfer: Path | None = typer.Option(
        None,
        "--transfer",
        help="print the leave-one-dataset-out table, with folds fitted into this folder "
        "(reused when present) and the MiniLM cosine baseline, then the paraphrase set "
        "cross-validated by question",
    ),
    ablation: Path | None = typer.Option(
        None,
        "--ablation",
        help="like --transfer, with each part of the score (readings, red-flag cuts) taken "
        "away in turn: does it earn its place?",
    ),
    matcher: Path | None = typer.Option(
        None, "--matcher", help="grade with this weights file instead of the shipped one"
    ),
    floors: list[str] | None = pairs_option(
        "--min",
        "metric=value: exit 1 if the metric falls below it (rmse: above), e.g. roc_auc=0.78",
    ),
) -> None:
    """How well the offline grader agrees with human scores on a labelled table."""
    from mockloop.evaluation.grading import run_grading_eval

    if any(x is not None for x in (fit, transfer, ablation, refit_map)):
        from mockloop.evaluation import grading_fit

        if refit_map is not None:
            sources = tuple(s for s in grading_fit.ALL_SOURCES if s != leave_out)
            grading_fit.refit_map(refit_map, sources, log=typer.echo)
        elif ablation is not None:
            lines = grading_fit.transfer_table(
                ablation, log=typer.echo, variants=grading_fit.ABLATIONS
            )
            typer.echo("\n".join(lines))
        elif fit is not None:
            sources = tuple(s for s in grading_fit.ALL_SOURCES if s != leave_out)
            grading_fit.fit_grader(fit, sources, log=typer.echo)
        else:
            lines = grading_fit.transfer_table(transfer, log=typer.echo)
            typer.echo("\n".join(lines))
            typer.echo("\n".join(grading_fit.paraphrase_cv(transfer, log=typer.echo)))
            if not lines[-1].endswith("none"):
                raise typer.Exit(1)
        return
    settings = Settings.from_env()
    labels = {k: float(v) for k, v in parse_pairs(label, "--label").items()}
    kwargs = dict(
        mapping=parse_pairs(mapping, "--map"),
        where=parse_pairs(where, "--where"),
        labels=labels,
        limit=limit,
    )
    if not dataset.exists():
        typer.echo(f"error: no dataset at {dataset}", err=True)
        raise typer.Exit(2)
    from mockloop.grading.match import Matcher

    report = run_grading_eval(
        dataset,
        settings,
        matcher=Matcher(matcher) if matcher else None,
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
    failed = _missed_floors(report, parse_pairs(floors, "--min"))
    if failed:
        typer.echo("below the floor: " + "; ".join(failed), err=True)
        raise typer.Exit(1)
