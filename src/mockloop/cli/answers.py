"""Reading what the candidate types in a terminal round: one line is an answer, and a line
holding only three double quotes starts (and another ends) an answer of several lines.

When the input is piped rather than typed, the terminal does not show it, so each answer is
echoed after the prompt: a transcript then shows which answer went to which question.
Used by the spoken rounds' loop (cli/interview.py) and the coding round's (cli/coding.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

FENCE = '"""'
MULTILINE_HELP = (
    'For an answer of several lines, type a line holding only """, then the answer, '
    'then another """ line.'
)


def input_is_piped() -> bool:
    """Whether standard input comes from a file or pipe rather than someone typing."""
    try:
        return not sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return True


def read_answer(readline: Callable[[], str], *, echo: bool = False) -> str | None:
    """One answer: a line, or the lines between two FENCE lines; None when input is closed.

    With `echo`, the answer is printed as read (the prompt is already on the line)."""
    line = readline()
    if line == "":
        return None
    if line.strip() != FENCE:
        answer = line.rstrip("\n")
    else:
        lines = []
        while True:
            more = readline()
            if more == "" or more.strip() == FENCE:
                break
            lines.append(more.rstrip("\n"))
        answer = "\n".join(lines)
    if echo:
        typer.echo(answer)
    return answer
