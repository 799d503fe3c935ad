"""Keeping credentials out of what is shown: which environment values are secrets, and text with
them blanked. The web app redacts every error it shows with these (ui/handlers.py).

    redact("key sk-abc123 rejected", ["sk-abc123"])  -> 'key *** rejected'

Leaves out: key lookup itself (llm.py) and the spec shown without credentials (llm.safe_spec).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

SECRET_HINTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH")


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look like credentials (OPENAI_API_KEY,
    MOCKLOOP_AUTH, …), and the password part of a `user:password` value."""
    out = []
    for name, value in (os.environ if environ is None else environ).items():
        if any(h in name.upper() for h in SECRET_HINTS) and value:
            out.append(value)
            if ":" in value:  # user:password
                out.append(value.split(":", 1)[1])
    return out


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret value (of 4+ characters) replaced by ***."""
    for s in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def describe_error(exc: BaseException, environ: Mapping[str, str] | None = None) -> str:
    """'RuntimeError: 401 for key ***': an error as a user may see it, secrets blanked."""
    return redact(f"{type(exc).__name__}: {exc}", secret_values(environ))
