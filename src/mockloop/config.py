"""Settings: where a user's data lives, which Chroma and which models to use.

Everything comes from the environment (or explicit arguments), never from files in the
repository, so tests point MOCKLOOP_HOME at a temp dir and nothing leaks between users.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
DEFAULT_QUESTION_MIX = (2.0, 2.0, 1.0)


def parse_question_mix(value: str | tuple | list) -> tuple[float, float, float]:
    """`"2:2:1"` → (2.0, 2.0, 1.0): the weights of due reviews : weakest topics : new questions.

    Raises ValueError with a message a user can act on (three non-negative numbers, not all 0).
    """
    parts = value.split(":") if isinstance(value, str) else list(value)
    hint = "expected due:weak:new as three non-negative numbers, e.g. 2:2:1"
    try:
        weights = tuple(float(str(p).strip()) for p in parts)
    except ValueError:
        raise ValueError(f"question mix {value!r}: {hint}") from None
    if len(weights) != 3 or any(not w >= 0 or w == float("inf") for w in weights):
        raise ValueError(f"question mix {value!r}: {hint}")
    if not any(weights):
        raise ValueError(f"question mix {value!r}: at least one weight must be above 0")
    return weights  # type: ignore[return-value]


def _default_home() -> Path:
    return Path(os.environ.get("MOCKLOOP_HOME") or Path.home() / ".mockloop")


@dataclass(frozen=True)
class Settings:
    """One user's configuration. `Settings.from_env()` is what the CLI and the UI use."""

    home: Path = field(default_factory=_default_home)
    chroma_url: str | None = None  # http://host:port → HttpClient; None → embedded on disk
    collection: str = "notes"
    embed_model: str = BUNDLED_MODEL  # or any sentence-transformers model path
    max_file_mb: float = 20.0
    llm: str = "offline"
    # due reviews : weakest topics : new questions, interleaved when a round picks its questions
    question_mix: tuple[float, float, float] = DEFAULT_QUESTION_MIX

    def __post_init__(self) -> None:
        # accept "2:2:1" (env, CLI) as well as a tuple, and always store a validated tuple
        object.__setattr__(self, "question_mix", parse_question_mix(self.question_mix))

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        values = {
            "home": _default_home(),
            "chroma_url": env.get("MOCKLOOP_CHROMA_URL") or None,
            "collection": env.get("MOCKLOOP_COLLECTION", "notes"),
            "embed_model": env.get("MOCKLOOP_EMBED_MODEL", BUNDLED_MODEL),
            "max_file_mb": float(env.get("MOCKLOOP_MAX_FILE_MB", "20")),
            "llm": env.get("MOCKLOOP_LLM", "offline"),
            "question_mix": DEFAULT_QUESTION_MIX,
        }
        if env.get("MOCKLOOP_QUESTION_MIX"):
            try:
                values["question_mix"] = parse_question_mix(env["MOCKLOOP_QUESTION_MIX"])
            except ValueError as exc:
                raise ValueError(f"MOCKLOOP_QUESTION_MIX: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["home"] = Path(values["home"]).expanduser()
        return cls(**values)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def db_path(self) -> Path:
        return self.home / "mockloop.db"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
