"""The typer apps every command module registers on (kept apart to avoid import cycles)."""

import typer

app = typer.Typer(
    name="mockloop",
    help="A mock interviewer for ML engineers, grounded in your own notes. Works offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Offline evals: how well retrieval, grading and the interviewer agree with humans.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")
