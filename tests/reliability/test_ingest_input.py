"""Issue 15.2-3: hostile file names and archives never stop an ingest or poison later runs."""

from __future__ import annotations

import io
import os
import re
import tracemalloc
import zipfile
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


# --- archives ----------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def note(title: str) -> str:
    return f"# {title}\n\n{title} is a note kept only by this test.\n"


def test_members_with_dot_dot_or_absolute_paths_are_skipped_with_a_reason(tmp_path, settings):
    archive = tmp_path / "export.zip"
    archive.write_bytes(
        zip_bytes(
            {
                "ok/kept.md": note("Kept"),
                "../escape.md": note("Escape"),
                "ok/../../up.md": note("Up"),
                "/etc/abs.md": note("Absolute"),
            }
        )
    )
    summary = ingest([archive], settings)
    assert summary.added == 1 and set(open_store(settings).sources()) == {"ok/kept.md"}
    unsafe = [p for p, why in summary.skipped if "unsafe path inside the zip" in why]
    assert len(unsafe) == 3, summary.lines()
    assert "3 skipped" in summary.lines()[-3]


def test_zips_nested_past_the_depth_cap_are_skipped_and_the_rest_read(tmp_path, settings):
    level = zip_bytes({"deepest.md": note("Deepest")})
    for depth in range(4, 0, -1):  # each level holds a note and the next level's zip
        level = zip_bytes({f"level{depth}.md": note(f"Level {depth}"), "inner.zip": level})
    archive = tmp_path / "nested.zip"
    archive.write_bytes(level)
    summary = ingest([archive], settings)
    sources = set(open_store(settings).sources())
    assert {"level1.md", "inner.zip/level2.md", "inner.zip/inner.zip/level3.md"} <= sources
    assert not any("deepest" in s for s in sources)
    assert any("nested more than 3 levels" in why for _p, why in summary.skipped)


def test_an_archive_over_the_member_cap_is_skipped_whole(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_ZIP_MAX_MEMBERS", "5")
    archive = tmp_path / "many.zip"
    archive.write_bytes(zip_bytes({f"n{i}.md": note(f"Note {i}") for i in range(6)}))
    (tmp_path / "loose.md").write_text(note("Loose"), encoding="utf-8")
    summary = ingest([archive, tmp_path / "loose.md"], settings)
    assert summary.added == 1
    [(_path, why)] = summary.skipped
    assert "6 members, over the 5 cap" in why and "MOCKLOOP_ZIP_MAX_MEMBERS" in why


def test_an_archive_that_would_unpack_past_the_byte_cap_is_skipped(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_ZIP_MAX_MB", "1")
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(zip_bytes({"a.txt": "a" * 700_000, "b.txt": "b" * 700_000}))
    assert archive.stat().st_size < 10_000  # small on disk, big unpacked
    summary = ingest([archive], settings)
    assert summary.added == 0
    assert (
        "over the 1 MB cap" in summary.skipped[0][1]
        and "MOCKLOOP_ZIP_MAX_MB" in summary.skipped[0][1]
    )


def test_inner_zips_are_not_held_in_memory(tmp_path, settings):
    """40 inner archives of 4 MB each: reading them must not keep 160 MB of bytes alive."""
    inner = zip_bytes({"scan.png": bytes(4 * 1024 * 1024)}, method=zipfile.ZIP_STORED)
    archive = tmp_path / "split-export.zip"
    archive.write_bytes(zip_bytes({f"part{i:02d}.zip": inner for i in range(40)}))
    ingest([tmp_path / "empty-warmup"], settings)  # imports and opens the store first
    tracemalloc.start()
    try:
        ingest([archive], settings)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"


def test_a_file_over_the_chunk_budget_is_skipped_with_the_reason(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_MAX_CHUNKS", "5")
    vault = tmp_path / "vault"
    vault.mkdir()
    big = "\n\n".join(f"## Part {i}\n\n" + f"Sentence {i} about sampling. " * 60 for i in range(12))
    (vault / "big.md").write_text("# Big\n\n" + big, encoding="utf-8")
    (vault / "small.md").write_text(note("Small"), encoding="utf-8")
    summary = ingest([vault], settings)
    assert set(open_store(settings).sources()) == {"small.md"}
    [(path, why)] = summary.skipped
    assert path.endswith("big.md")
    assert "over this run's budget of 5 new chunks" in why and "MOCKLOOP_MAX_CHUNKS" in why
    assert "to embed" in why


def test_a_large_file_says_how_long_embedding_will_take_before_it_starts(
    tmp_path, settings, monkeypatch
):
    import mockloop.notes.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "LARGE_FILE_CHUNKS", 3)
    said: list[tuple[str, int]] = []
    progress: list[tuple[str, int, int]] = []
    text = "\n\n".join(f"## Part {i}\n\n" + f"Sentence {i} about decoding. " * 60 for i in range(6))
    (tmp_path / "long.md").write_text("# Long\n\n" + text, encoding="utf-8")

    summary = ingest(
        [tmp_path / "long.md"],
        settings,
        on_progress=lambda what, done, total: progress.append((what, done, total)),
        on_notice=lambda line: said.append((line, len(progress))),
    )
    [(line, when)] = said
    assert re.search(r"long\.md: \d+ chunks to embed, about \d+ (s|min)", line), line
    first_chunk = next(i for i, p in enumerate(progress) if p[0] == "chunks")
    assert when <= first_chunk  # said before any chunk was embedded
    assert progress[-1][0] == "chunks" and progress[-1][1] == summary.chunks_written
    assert line in summary.lines()
