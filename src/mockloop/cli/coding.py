"""`mockloop coding list|show|check`: the coding problem bank and the runner, from the terminal.

The coding round itself is `mockloop interview --round coding` (cli/interview.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from mockloop.cli.answers import read_answer
from mockloop.cli.app import PLAIN, app
from mockloop.cli.interview import ROUND_LOOPS, Printer

coding_app = typer.Typer(
    help="Coding problems: list them, show one, check a solution file against its tests.",
    no_args_is_help=True,
    **PLAIN,
)
app.add_typer(coding_app, name="coding")


def _problem(problem_id: str):
    from mockloop.coding import load_problem_bank

    problem = load_problem_bank().get(problem_id)
    if problem is None:
        typer.echo(f"No problem {problem_id!r}; `mockloop coding list` shows them.", err=True)
        raise typer.Exit(2)
    return problem


@coding_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One problem per line: id, kind, topic, difficulty."""
    from mockloop.coding import load_problem_bank

    problems = load_problem_bank().problems
    if as_json:
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "kind": p.kind,
                "topic": p.topic,
                "difficulty": p.difficulty,
                "signature": p.signature,
            }
            for p in problems
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for p in problems:
        typer.echo(f"{p.id:<34} {p.kind:<9} {p.topic:<22} difficulty {p.difficulty}")


@coding_app.command("show")
def show_cmd(
    problem_id: str = typer.Argument(..., help="A problem id, e.g. coding.roc-auc."),
) -> None:
    """The problem statement, signature, examples and starter code."""
    p = _problem(problem_id)
    typer.echo(p.statement())
    typer.echo(f"\nStarter code:\n{p.starter}")
    typer.echo(f"Hidden tests: {len(p.tests)} · expected complexity: {p.complexity}")


@coding_app.command("check")
def check_cmd(
    problem_id: str = typer.Argument(..., help="A problem id."),
    file: Path = typer.Argument(..., help="A Python file defining the function."),
    visible: bool = typer.Option(False, "--visible", help="Only the visible examples."),
) -> None:
    """Run a solution against the hidden tests; prints N/M passed and the failures; rc 0 = all pass."""
    from mockloop.coding import run_tests

    p = _problem(problem_id)
    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"Cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    report = run_tests(p, code, which="visible" if visible else "all")
    typer.echo(report.text(limit=20))
    raise typer.Exit(0 if report.all_passed else 1)


CODING_COMMANDS = (
    'paste code between two """ lines (it becomes your draft) · /run [FILE] runs the examples · '
    "/submit [FILE] runs the hidden tests · /ask QUESTION (or any line ending in ?) · /hint · "
    "/skip · /quit"
)


def run_coding_session(
    session, readline: Callable[[], str] | None = None, *, echo: bool = False
) -> None:
    """Drive the coding round from text input: a draft, runs, a submission, then the talk.

    `echo` prints each line or pasted block as read (run_session turns it on for piped input)."""
    readline = readline or sys.stdin.readline
    out = Printer(session.session_id)
    out.show(session.begin_iter())
    draft, shown = "", None
    while not session.finished:
        current = session.current.question_id if session.current else None
        if session.in_code_phase and current != shown:  # a new problem: its starter, a new draft
            draft, shown = session.coding.get("code") or "", current
            _show_starter(session, draft)
        line = read_answer(readline, echo=echo)
        if line is None:
            typer.echo(
                f"\nInput closed; session saved. Resume with: mockloop resume {session.session_id}"
            )
            return
        cmd = line.strip()
        if cmd == "/hint":
            out.show([session.hint()])
        elif cmd == "/skip":
            out.show(session.skip_iter())
        elif cmd in ("/quit", "/end"):
            out.show(session.end_iter())
        elif session.in_code_phase and cmd.split(" ", 1)[0] in ("/run", "/submit"):
            name, _, path = cmd.partition(" ")
            code = _code_from(path.strip()) if path.strip() else draft
            if code is None:
                typer.echo("> ", nl=False)
                continue
            draft = code
            if not code.strip():
                typer.echo('No code yet: paste it between two """ lines, or /submit FILE.')
                typer.echo("> ", nl=False)
            elif name == "/run":
                typer.echo(session.run_visible(code).text())
                typer.echo("> ", nl=False)
            else:
                out.show(session.submit_iter(code))
        elif session.in_code_phase and (
            cmd.startswith("/ask") or (cmd.endswith("?") and "\n" not in line)
        ):
            reply = session.clarify(cmd.removeprefix("/ask").strip())
            typer.echo(f"Interviewer: {reply.text}")
            typer.echo("> ", nl=False)
        elif cmd.startswith("/"):
            typer.echo(f"Commands: {CODING_COMMANDS}")
            typer.echo("> ", nl=False)
        elif session.in_code_phase:
            draft = line
            lines = len(line.splitlines())
            typer.echo(
                f"Draft saved ({lines} line{'s' * (lines != 1)}). /run to try the examples, /submit when ready."
            )
            typer.echo("> ", nl=False)
        else:
            out.show(session.answer_iter(line))


def _show_starter(session, draft: str) -> None:
    if not draft:
        typer.echo("\nStarter code:\n" + session.problem.starter)
    typer.echo(f"Commands: {CODING_COMMANDS}")
    typer.echo("> ", nl=False)


def _code_from(path: str) -> str | None:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"Cannot read {path}: {exc}")
        return None


ROUND_LOOPS["coding"] = run_coding_session
