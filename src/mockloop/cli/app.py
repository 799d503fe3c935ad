"""The typer apps every command module registers on (kept apart to avoid import cycles).

Help is click's plain layout (PLAIN): typer's rich panels print a type after every option,
flags included (`--quiet <bool>`), which reads as if the flag took a value.
"""

import typer

PLAIN = {"rich_markup_mode": None}  # every Typer of the CLI is built with it

app = typer.Typer(
    name="mockloop",
    help="A mock interviewer for ML engineers, grounded in your own notes. Works offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    **PLAIN,
)
eval_app = typer.Typer(
    help="Offline evals: how well retrieval, grading and the interviewer agree with humans.",
    no_args_is_help=True,
    **PLAIN,
)
app.add_typer(eval_app, name="eval")
