"""Issue 15.2-3: hostile file names and archives never stop an ingest or poison later runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockloop.config import Settings
from mockloop.notes.ingest import ingest
from mockloop.store import open_store

pytestmark = pytest.mark.reliability


def write_raw_name(folder: Path, raw: bytes, text: str) -> None:
    """A file whose name holds bytes that are not UTF-8 (as a Latin-1 system writes them)."""
    with open(os.path.join(os.fsencode(folder), raw), "w", encoding="utf-8") as fh:
        fh.write(text)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_a_non_utf8_file_name_is_stored_under_a_safe_name_and_reruns_work(tmp_path, settings):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "good.md").write_text("# Good\n\nDropout zeroes activations.\n", encoding="utf-8")
    write_raw_name(vault, b"caf\xe9 attention.md", "# Cafe\n\nAttention weighs values by keys.\n")

    first = ingest([vault], settings)
    assert (first.added, first.skipped) == (2, [])
    assert "caf\\xe9 attention.md" in open_store(settings).sources()
    assert any("not valid UTF-8" in line and "caf\\xe9" in line for line in first.lines())

    again = ingest([vault], settings)  # the name is stable: nothing re-embedded, nothing lost
    assert (again.added, again.unchanged, again.removed) == (0, 2, 0)
    (vault / "more.md").write_text("# More\n\nLayer norm rescales.\n", encoding="utf-8")
    third = ingest([vault], settings)
    assert (third.added, third.unchanged) == (1, 2)


def test_a_non_utf8_root_folder_is_ingested_too(tmp_path, settings):
    root = os.path.join(os.fsencode(tmp_path), b"notes-\xff")
    os.mkdir(root)
    write_raw_name(Path(os.fsdecode(root)), b"a.md", "# A\n\nBeam search keeps k paths.\n")
    summary = ingest([Path(os.fsdecode(root))], settings)
    assert summary.added == 1 and summary.skipped == []
    assert ingest([Path(os.fsdecode(root))], settings).unchanged == 1
