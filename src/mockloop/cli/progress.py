"""`mockloop progress` and `mockloop plan`: what you've practised, and what to do until the day."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mockloop import plan as planning
from mockloop import progress as prog
from mockloop.bank import load_bank
from mockloop.cli.app import app
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.models import ROUNDS
from mockloop.reports import progress as report


def _write(path: Path, text: str, *, newline: str | None = None) -> None:
    """Write an output file, creating its folder; a path that can't be written is one line, rc 1."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline=newline)
    except OSError as exc:
        typer.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc


def settings_with_mix(mix: str | None) -> Settings:
    """Settings from the environment, with --mix over MOCKLOOP_QUESTION_MIX; bad values → rc 2."""
    try:
        return Settings.from_env(question_mix=mix)
    except ValueError as exc:
        typer.echo(f"error: {'--mix ' if mix else ''}{exc}", err=True)
        raise typer.Exit(2) from exc


def _print_table(title: str, headers: list[str], rows: list[list]) -> None:
    table = Table(title=title, title_justify="left")
    for h in headers:
        table.add_column(h)
    for row in rows:
        table.add_row(*[str(c) for c in row])
    Console(width=120).print(table)


@app.command("progress")
def progress_cmd(
    report_path: Path | None = typer.Option(
        None, "--report", help="Write an HTML report with plots."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Per round and topic: sessions, mean score and trend, mastery, reviews due."""
    conn = connect(settings_with_mix(None))
    summary = prog.summarize(conn)
    if as_json:
        typer.echo(prog.to_json(summary))
    elif not summary.total_answers:
        typer.echo("No graded answers yet. Start with: mockloop interview --round breadth")
    else:
        typer.echo(f"{summary.total_sessions} sessions · {summary.total_answers} graded answers")
        _print_table("Rounds", report.ROUND_HEADERS, report.round_rows(summary))
        _print_table("Topics", report.TOPIC_HEADERS, report.topic_rows(summary))
    if report_path:
        _write(report_path, report.progress_html(conn, now=summary.now))
        typer.echo(f"Report written to {report_path}")


def _parse_rounds(value: str | None) -> list[str] | None:
    if not value:
        return None
    rounds = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in rounds if r not in ROUNDS]
    if unknown:
        raise typer.BadParameter(f"unknown round(s) {unknown}; choose from {', '.join(ROUNDS)}")
    return rounds


@app.command("plan")
def plan_cmd(
    until: datetime = typer.Option(
        ..., "--until", formats=["%Y-%m-%d"], help="Interview day (YYYY-MM-DD)."
    ),
    hours_per_day: float = typer.Option(..., "--hours-per-day", help="Study time per day."),
    rounds: str | None = typer.Option(
        None, "--rounds", help="Comma-separated rounds (default: all)."
    ),
    out: Path = typer.Option(Path("plan.md"), "--out", help="Markdown plan to write."),
    ics: Path | None = typer.Option(Path("plan.ics"), "--ics", help="Calendar file to write."),
    start_time: str = typer.Option(
        "18:00", "--start-time", help="When each day's blocks start (HH:MM)."
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="Time zone of the calendar, e.g. Europe/Berlin (default: the system's)."
    ),
    mix: str | None = typer.Option(
        None,
        "--mix",
        help="due reviews : weak topics : new topics, e.g. 2:2:1 "
        "(default MOCKLOOP_QUESTION_MIX, else 2:2:1).",
    ),
) -> None:
    """A day-by-day plan weighted by weakness, due reviews and round mix, as Markdown and .ics."""
    settings = settings_with_mix(mix)
    conn = connect(settings)
    try:
        at = time.fromisoformat(start_time)
        zone = planning.zone(tz) if tz else planning.local_zone()
        the_plan = planning.make_plan(
            conn,
            load_bank().questions,
            until=until.date() if isinstance(until, datetime) else date.fromisoformat(str(until)),
            hours_per_day=hours_per_day,
            rounds=_parse_rounds(rounds),
            settings=settings,
            start=date.today(),  # the user's local date, not UTC's
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _write(out, planning.to_markdown(the_plan))
    typer.echo(f"{len(the_plan.days)} days planned → {out}")
    if ics:
        _write(ics, planning.to_ics(the_plan, start_time=at, tz=zone), newline="")
        typer.echo(f"calendar → {ics}")
