"""`mockloop bank list` and `mockloop bank show`: what the question bank holds, for people and scripts.

Covers the packaged question bank (every round in models.ROUNDS) and, when the `mockloop.coding`
package is installed, its problems as round `coding`. Leaves out anything about practice history:
`mockloop progress` says what has been asked.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from mockloop.bank import load_bank
from mockloop.cli.app import PLAIN, app
from mockloop.models import ROUNDS, SPOKEN_ROUNDS, Question

bank_app = typer.Typer(
    help="The question bank: list what each round can ask, show one question in full.",
    no_args_is_help=True,
    **PLAIN,
)
app.add_typer(bank_app, name="bank")

LEVELS = {1: "easy", 2: "medium", 3: "hard"}


def _coding_problems() -> list[Any]:
    """The coding round's problems, or [] while the `mockloop.coding` package does not exist."""
    try:
        from mockloop.coding import bank as coding_bank  # type: ignore[attr-defined]
    except ImportError:
        return []
    for loader in ("load_problems", "load_bank"):
        fn = getattr(coding_bank, loader, None)
        if fn is not None:
            found = fn()
            return list(getattr(found, "problems", None) or getattr(found, "questions", found))
    return []


def _row(item: Any, round_name: str) -> dict[str, Any]:
    """One bank entry as the JSON object `bank list --json` prints."""
    return {
        "id": item.id,
        "round": round_name,
        "topic": getattr(item, "topic", ""),
        "difficulty": getattr(item, "difficulty", None),
        "tags": list(getattr(item, "tags", []) or []),
        "prompt": getattr(item, "prompt", ""),
    }


def _rows(round_name: str | None) -> list[dict[str, Any]]:
    bank = load_bank()
    rounds = [round_name] if round_name else [*SPOKEN_ROUNDS, "coding"]
    rows: list[dict[str, Any]] = []
    for name in rounds:
        if name == "coding":
            rows += [_row(p, "coding") for p in _coding_problems()]
        else:
            rows += [_row(q, name) for q in bank.for_round(name)]
    return rows


def _rounds_on_offer() -> list[str]:
    return [*SPOKEN_ROUNDS, "coding"] if _coding_problems() else list(SPOKEN_ROUNDS)


@bank_app.command("list")
def list_cmd(
    round_name: str | None = typer.Option(
        None, "--round", "-r", help=f"One of: {', '.join(ROUNDS)} (and coding when installed)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of objects."),
) -> None:
    """One question per line: id, topic and difficulty (all rounds when --round is omitted)."""
    offered = _rounds_on_offer()
    if round_name is not None and round_name not in offered:
        typer.echo(f"error: no round {round_name!r}; choose one of {', '.join(offered)}", err=True)
        raise typer.Exit(2)
    rows = _rows(round_name)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width_id = max((len(r["id"]) for r in rows), default=0)
    width_topic = max((len(r["topic"]) for r in rows), default=0)
    for r in rows:
        level = LEVELS.get(r["difficulty"], str(r["difficulty"]))
        typer.echo(f"{r['id']:<{width_id}}  {r['topic']:<{width_topic}}  {level}")


def render_question(q: Question) -> str:
    """The full text of one bank question: prompt, follow-ups, stages, reference and rubric."""
    level = LEVELS.get(q.difficulty, str(q.difficulty))
    lines = [q.id, f"round: {q.round} · topic: {q.topic} · difficulty: {level}"]
    if q.tags:
        lines.append(f"tags: {', '.join(q.tags)}")
    lines += ["", "Prompt:", q.prompt.strip()]
    if q.stages:
        lines += ["", "Stages:"]
        lines += [f"  {stage}: {text}" for stage, text in q.stages.items()]
    if q.follow_ups:
        lines += ["", "Follow-ups:"] + [f"  - {f}" for f in q.follow_ups]
    if q.reference_answer.strip():
        lines += ["", "Reference answer:", q.reference_answer.strip()]
    if q.rubric is not None:
        lines += ["", f"Rubric (version {q.rubric.version}):"]
        for c in q.rubric.criteria:
            lines.append(f"  [{c.id}] {c.description} (weight {c.weight:g})")
            lines += [f"    + {p}" for p in c.key_points]
            lines += [f"    ! {f}" for f in c.red_flags]
    return "\n".join(lines)


@bank_app.command("show")
def show_cmd(
    question_id: str = typer.Argument(..., help="A question id from `bank list`."),
) -> None:
    """Print one question in full: prompt, reference answer and rubric."""
    q = load_bank().get(question_id)
    if q is None:
        coding = {p.id: p for p in _coding_problems()}
        if question_id in coding:
            problem = coding[question_id]
            typer.echo(f"{question_id}\n\n{getattr(problem, 'prompt', '')}".rstrip())
            typer.echo("(mockloop coding show gives the starter code and examples)")
            return
        typer.echo(
            f"error: no question with id {question_id!r}; see `mockloop bank list`", err=True
        )
        raise typer.Exit(1)
    typer.echo(render_question(q))
