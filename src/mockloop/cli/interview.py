"""`mockloop interview`, `sessions`, `resume`, `report` and `eval interviewer`: thin layers over
mockloop.rounds, mockloop.sessions, mockloop.reports.session and mockloop.evaluation.interviewer.

In a round, each line typed is an answer; `/hint`, `/skip`, `/quit` and (system design)
`/stage NAME` are commands; a line holding only `\"\"\"` starts and ends a multi-line answer
(cli/answers.py, which also echoes piped answers so a transcript shows them).
The coding round has its own loop (cli/coding.py: drafts, /run, /submit, clarifying questions).
Closing the input (Ctrl-D) leaves the session open to `mockloop resume ID`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import typer

from mockloop.cli.answers import MULTILINE_HELP, input_is_piped, read_answer
from mockloop.cli.app import app, eval_app
from mockloop.config import Settings
from mockloop.llm import TIMEOUT_ENV, LLMError
from mockloop.models import ROUNDS, SPOKEN_ROUNDS

COMMANDS = "/hint  /skip  /quit" + "  (system design: /stage NAME)"
# Rounds with their own terminal loop register it here (cli/coding.py: the coding round).
ROUND_LOOPS: dict[str, Callable] = {}


class Printer:
    """Prints round steps; remembers streamed text so the final question is not printed twice."""

    def __init__(self, session_id: str):
        self.session_id = session_id
        self.streamed = ""

    def show(self, steps: Iterable) -> None:
        for step in steps:
            getattr(self, f"_{step.kind}")(step)

    def _delta(self, step) -> None:
        if not self.streamed:
            typer.echo("\nInterviewer: ", nl=False)
        self.streamed += step.text
        typer.echo(step.text, nl=False)
        sys.stdout.flush()

    def _ask(self, ask) -> None:
        streamed, self.streamed = self.streamed, ""
        if streamed:
            typer.echo("")
        label = "Follow-up" if ask.follow_up else f"Question {ask.index}/{ask.total}"
        if ask.stage:
            label += f" · {ask.stage}"
        if ask.time_budget_s:
            label += f" · time budget {ask.time_budget_s}s"
        typer.echo(f"\n[{label}]")
        if ask.suggestion:
            typer.echo(ask.suggestion)
        if streamed.strip() != ask.text.strip():
            typer.echo(ask.text)
        if ask.note:
            typer.echo(f"({ask.note})")
        typer.echo("> ", nl=False)

    def _feedback(self, fb) -> None:
        typer.echo("\n" + fb.text)

    def _hint(self, hint) -> None:
        typer.echo("Hint: " + hint.text)
        typer.echo("> ", nl=False)

    def _notice(self, notice) -> None:
        typer.echo(f"\n! {notice.text}")

    def _summary(self, summary) -> None:
        for fb in summary.deferred:
            typer.echo(f"\n[{fb.stage or fb.topic}] {fb.prompt}\n{fb.text}")
        typer.echo("\n" + summary.text)
        typer.echo(f"\nFull report: mockloop report {self.session_id} --format html")


def run_session(
    session, readline: Callable[[], str] | None = None, *, echo: bool | None = None
) -> None:
    """Drive a round from text input (stdin by default) until it ends or the input closes.

    `echo` prints each answer as read; by default it is on when stdin is piped."""
    if echo is None:
        echo = readline is None and input_is_piped()
    readline = readline or sys.stdin.readline
    if session.name in ROUND_LOOPS:  # e.g. coding: code first, then talk
        return ROUND_LOOPS[session.name](session, readline, echo=echo)
    out = Printer(session.session_id)
    out.show(session.begin_iter())
    while not session.finished:
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
        elif cmd.startswith("/stage"):
            out.show(session.goto_iter(cmd[len("/stage") :].strip()))
        elif cmd.startswith("/"):
            typer.echo(f"Commands: {COMMANDS}")
            typer.echo("> ", nl=False)
        else:
            out.show(session.answer_iter(line))


def _pick_project(settings: Settings, readline: Callable[[], str]) -> str | None:
    from mockloop.rounds import list_projects

    projects = list_projects(settings)
    typer.echo("Which project? Pick a number, or paste a one-paragraph summary of another one:")
    for i, (source, title) in enumerate(projects.items(), 1):
        typer.echo(f"  {i}. {title}  ({source})")
    typer.echo("> ", nl=False)
    line = read_answer(readline, echo=input_is_piped())
    if line is None or not line.strip():
        return None
    if line.strip().isdigit() and 1 <= int(line) <= len(projects):
        return list(projects)[int(line) - 1]
    return line.strip()


@app.command()
def interview(
    round_name: str = typer.Option(..., "--round", "-r", help=f"One of: {', '.join(ROUNDS)}."),
    n: int = typer.Option(
        5, "--n", help="Questions in the round (system design and deep dive walk one prompt)."
    ),
    llm: str | None = typer.Option(
        None,
        "--llm",
        help="offline (default) | provider:model | http://host:port/v1?model=NAME&key_env=VAR",
    ),
    llm_timeout: float | None = typer.Option(
        None,
        "--llm-timeout",
        help="Seconds per model request (env MOCKLOOP_LLM_TIMEOUT; default 60). Two timeouts "
        "in a round and the rest of it runs offline.",
    ),
    feedback: str = typer.Option(
        "each", "--feedback", help="each: after every answer · end: at the end."
    ),
    project: str | None = typer.Option(
        None, "--project", help="Deep dive: a project note's path, or a summary."
    ),
    question: str | None = typer.Option(
        None, "--question", help="Pin a bank question id (mlsd, deep-dive)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Fix the question order among equals."),
    mix: str | None = typer.Option(
        None, "--mix", help="due:weak:new question mix, e.g. 2:2:1 (env MOCKLOOP_QUESTION_MIX)."
    ),
) -> None:
    """Run a text-only mock interview round in the terminal.

    Each line you type is an answer. For an answer of several lines, type a line holding only
    \"\"\", then the answer, then another \"\"\" line. Commands: /hint, /skip, /quit, and in
    system design /stage NAME. Piped answers are echoed, so a saved transcript shows them.
    """
    from mockloop.cli.progress import settings_with_mix
    from mockloop.rounds import start_round

    if round_name not in ROUNDS:
        raise typer.BadParameter(f"choose one of {', '.join(ROUNDS)}", param_hint="--round")
    if feedback not in ("each", "end"):
        raise typer.BadParameter("each or end", param_hint="--feedback")
    if llm_timeout is not None:
        if not llm_timeout > 0:
            raise typer.BadParameter("a number of seconds above 0", param_hint="--llm-timeout")
        os.environ[TIMEOUT_ENV] = f"{llm_timeout:g}"  # read by llm.RetryPolicy.from_env
    settings = settings_with_mix(mix)
    if round_name == "deep-dive" and project is None:
        project = _pick_project(settings, sys.stdin.readline)
    try:
        session = start_round(
            round_name,
            settings,
            n=n,
            llm=llm or settings.llm,
            feedback=feedback,
            project=project,
            question_id=question,
            seed=seed,
        )
    except (ValueError, LLMError) as exc:
        typer.echo(f"Cannot start the round: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Session {session.session_id} · {session.title} · model: {session.state.config.llm}"
    )
    commands = "" if round_name == "coding" else f"Commands: {COMMANDS}. "  # its loop says its own
    if round_name != "coding":
        commands += MULTILINE_HELP + " "
    typer.echo(f"{commands}Resume later with: mockloop resume {session.session_id}")
    run_session(session)


@app.command()
def sessions(limit: int = typer.Option(20, "--limit", help="How many, newest first.")) -> None:
    """List interview sessions: id, round, status, answers and mean score."""
    from mockloop.sessions import SessionLog

    rows = SessionLog(Settings.from_env()).list(limit)
    if not rows:
        typer.echo("No sessions yet. Start one with: mockloop interview --round breadth")
        return
    typer.echo(
        f"{'id':<11} {'round':<11} {'status':<9} {'started':<17} {'graded':>6} {'mean':>5}  model"
    )
    for s in rows:
        mean = f"{s.mean:.1f}" if s.mean is not None else "-"
        started = s.started_at[:16].replace("T", " ")
        typer.echo(
            f"{s.id:<11} {s.round:<11} {s.status:<9} {started:<17} {s.answered:>6} {mean:>5}  {s.llm}"
        )


@app.command()
def resume(
    session_id: str = typer.Argument(..., help="A session id (or a unique prefix)."),
) -> None:
    """Continue an interrupted session at the question that was open."""
    from mockloop.rounds import resume_round

    try:
        session = resume_round(session_id, Settings.from_env())
    except (KeyError, LLMError) as exc:
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(2) from None
    if session.finished:
        typer.echo(
            f"Session {session.session_id} has ended; see: mockloop report {session.session_id}"
        )
        return
    done = len(session.state.results)
    typer.echo(f"Resuming session {session.session_id} · {session.title} · {done} answered so far")
    run_session(session)


@app.command()
def report(
    session_id: str = typer.Argument(..., help="A session id (or a unique prefix)."),
    fmt: str = typer.Option("md", "--format", help="md or html."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write it ('-' prints it); default session-ID.md (or .html) here.",
    ),
) -> None:
    """Write a session's transcript, grades, evidence and citations as Markdown or HTML.

    The file goes into the current folder unless --out names another; its path is printed.
    """
    from mockloop.reports.session import session_report
    from mockloop.sessions import SessionLog

    if fmt not in ("md", "html"):
        raise typer.BadParameter("md or html", param_hint="--format")
    settings = Settings.from_env()
    log = SessionLog(settings)
    try:
        full_id = log.resolve(session_id)
    except KeyError as exc:
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(2) from None
    text = session_report(log, full_id, fmt)
    if out is not None and str(out) == "-":
        typer.echo(text)
        return
    path = (out or Path(f"session-{full_id}.{fmt}")).expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    typer.echo(f"Report written to {path}")


@eval_app.command("interviewer")
def eval_interviewer(
    n: int = typer.Option(
        2, "--n", help="Questions per round (system design and deep dive: one prompt)."
    ),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="Notes to ingest into a temporary store (default: the repo's corpus/).",
    ),
    use_home: bool = typer.Option(
        False, "--use-home", help="Use your own notes and database instead."
    ),
    rounds: str | None = typer.Option(None, "--rounds", help="Comma-separated subset of rounds."),
) -> None:
    """Simulated candidates through every round, offline: orderings, targeting, leaks, citations."""
    from mockloop.evaluation.interviewer import default_corpus, format_table, run_interviewer_eval

    chosen = [r.strip() for r in rounds.split(",")] if rounds else list(SPOKEN_ROUNDS)
    if use_home:
        result = run_interviewer_eval(Settings.from_env(), rounds=chosen, n=n)
    else:
        import tempfile

        folder = corpus or default_corpus()
        if folder is None or not Path(folder).is_dir():
            typer.echo("No corpus found: pass --corpus PATH or --use-home.", err=True)
            raise typer.Exit(2)
        with tempfile.TemporaryDirectory(prefix="mockloop-eval-") as tmp:
            from mockloop.notes.ingest import ingest

            settings = Settings(home=Path(tmp))
            typer.echo(f"Ingesting {folder} into a temporary store...")
            ingest([Path(folder)], settings)
            result = run_interviewer_eval(settings, rounds=chosen, n=n)
    typer.echo(format_table(result))
    if not result.passed:
        typer.echo("FAILED: " + "; ".join(result.failures), err=True)
        raise typer.Exit(1)
