"""Settings: where a user's data lives, which Chroma and which models to use.

Everything comes from the environment (or explicit arguments), never from files in the
repository, so tests point MOCKLOOP_HOME at a temp dir and nothing leaks between users.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


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
        }
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
