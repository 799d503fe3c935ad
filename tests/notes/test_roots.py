"""Several roots in one store: a file is known by where it really is, so one folder's ingest
never overwrites or removes another folder's notes, and one file reached twice is stored once."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from mockloop import db
from mockloop.config import Settings
from mockloop.notes.ingest import forget, ingest
from mockloop.retrieval import Retriever
from mockloop.store import open_store

from .conftest import VAULT, manifest_state, store_state, write_tree

KAFKA = "# Alerts\n\nKafka consumer lag alerts fire when a consumer group falls behind the log end offset.\n"
BREAD = "# Bread\n\nA sourdough starter is flour and water, fed daily until it doubles.\n"


@pytest.fixture
def two_roots(tmp_path):
    a = write_tree(tmp_path / "rootA", {"index.md": KAFKA})
    b = write_tree(tmp_path / "rootB", {"index.md": BREAD})
    return a, b


def _top_source(settings, query: str) -> str:
    return Retriever(settings).search(query, k=1)[0].source


def test_a_second_folder_with_the_same_file_name_keeps_both_notes(two_roots, settings):
    a, b = two_roots
    ingest([a], settings)
    second = ingest([b], settings)

    assert (second.added, second.changed, second.removed) == (1, 0, 0)
    assert second.renamed == [(str(b / "index.md"), "rootB/index.md")]
    assert (
        f"stored {b / 'index.md'} as rootB/index.md: another folder already has a note at that path"
        in second.lines()
    )
    assert open_store(settings).sources() == {"index.md": 1, "rootB/index.md": 1}
    assert _top_source(settings, "Kafka consumer lag") == "index.md"
    assert _top_source(settings, "sourdough starter") == "rootB/index.md"

    again = ingest([a], settings)  # re-ingesting A leaves B alone, and B keeps its name
    assert (again.unchanged, again.changed, again.removed) == (1, 0, 0)
    assert open_store(settings).sources() == {"index.md": 1, "rootB/index.md": 1}


def test_re_ingesting_a_folder_removes_only_its_own_deleted_files(two_roots, settings):
    a, b = two_roots
    ingest([a], settings)
    ingest([b], settings)
    (a / "index.md").unlink()
    write_tree(a, {"streams.md": "# Streams\n\nExactly-once needs idempotent producers."})

    summary = ingest([a], settings)

    assert (summary.added, summary.removed) == (1, 1)
    assert open_store(settings).sources() == {"rootB/index.md": 1, "streams.md": 1}
    assert _top_source(settings, "sourdough starter") == "rootB/index.md"


def test_a_combined_run_then_single_folder_runs_remove_nothing(two_roots, settings):
    a, b = two_roots
    first = ingest([a, b], settings)
    assert first.added == 2
    before = store_state(settings), manifest_state(settings)
    for root in (b, a):
        summary = ingest([root], settings)
        assert (summary.unchanged, summary.changed, summary.removed) == (1, 0, 0)
    assert (store_state(settings), manifest_state(settings)) == before
    assert open_store(settings).sources() == {"index.md": 1, "rootB/index.md": 1}


def test_a_folder_then_its_subfolder_stores_each_file_once(vault, settings):
    ingest([vault], settings)
    before = store_state(settings), manifest_state(settings)

    sub = ingest([vault / "nlp"], settings)

    assert (sub.added, sub.changed, sub.unchanged, sub.removed) == (0, 0, 1, 0)
    assert sub.chunks_written == 0
    assert (store_state(settings), manifest_state(settings)) == before
    # The subfolder still owns its files: deleting one there and re-ingesting it removes it.
    (vault / "nlp/lora.md").unlink()
    gone = ingest([vault / "nlp"], settings)
    assert gone.removed == 1
    assert sorted(open_store(settings).sources()) == [
        "ml/optimizers.md",
        "ranking/position-bias.md",
    ]


def test_one_run_over_a_folder_and_its_subfolder_counts_each_file_once(vault, settings):
    summary = ingest([vault, vault / "nlp"], settings)
    assert (summary.added, summary.files_seen) == (3, 3)
    assert sorted(open_store(settings).sources()) == [
        "ml/optimizers.md",
        "nlp/lora.md",
        "ranking/position-bias.md",
    ]


def test_a_symlink_from_another_folder_reaches_the_stored_file(vault, tmp_path, settings):
    ingest([vault], settings)
    other = tmp_path / "other"
    other.mkdir()
    (other / "adapters.md").symlink_to(vault / "nlp/lora.md")

    summary = ingest([other], settings)

    assert (summary.added, summary.unchanged, summary.chunks_written) == (0, 1, 0)
    assert open_store(settings).sources()["nlp/lora.md"] == 3
    assert forget([str(other / "adapters.md")], settings) == ["nlp/lora.md"]


def test_names_taken_twice_get_a_longer_folder_prefix(tmp_path, settings):
    roots = [write_tree(tmp_path / x / "notes", {"index.md": f"# {x}\n\nNote {x}."}) for x in "abc"]
    for root in roots:
        ingest([root], settings)
    assert sorted(open_store(settings).sources()) == [
        "c/notes/index.md",
        "index.md",
        "notes/index.md",
    ]


def test_forget_takes_a_source_name_or_a_path(two_roots, settings):
    a, b = two_roots
    ingest([a], settings)
    ingest([b], settings)
    assert forget(["rootB/index.md"], settings) == ["rootB/index.md"]
    ingest([b], settings)  # back under the same name
    assert forget([str(b)], settings) == ["rootB/index.md"]
    shutil.rmtree(a)  # a folder deleted from disk can still be forgotten by its path
    assert forget([str(a)], settings) == ["index.md"]
    assert open_store(settings).count() == 0 and manifest_state(settings) == {}


def test_a_moved_folder_is_recognised_without_re_embedding(vault, tmp_path, settings):
    ingest([vault], settings)
    before = store_state(settings)
    moved = tmp_path / "moved"
    vault.rename(moved)

    summary = ingest([moved], settings)

    assert (summary.added, summary.unchanged, summary.chunks_written) == (0, 3, 0)
    assert store_state(settings) == before
    assert sorted(open_store(settings).sources()) == sorted(
        ["ml/optimizers.md", "nlp/lora.md", "ranking/position-bias.md"]
    )


def test_a_loop_between_two_file_symlinks_is_reported_as_a_loop(tmp_path, settings):
    root = write_tree(tmp_path / "notes", {"good.md": "# Good\n\nLoads fine."})
    (root / "a.md").symlink_to(root / "b.md")
    (root / "b.md").symlink_to(root / "a.md")
    (root / "dangling.md").symlink_to(root / "missing.md")

    summary = ingest([root], settings)

    reasons = {p.rsplit("/", 1)[-1]: r for p, r in summary.skipped}
    assert reasons["a.md"].startswith("symlink loop") and reasons["b.md"].startswith("symlink loop")
    assert reasons["dangling.md"] == "broken symlink"
    assert summary.added == 1


def _make_pre_m003(settings: Settings) -> None:
    """Rebuild the data dir's database as a mockloop from before migration m003 left it: the
    same manifest rows, without locations."""
    conn = db.connect(settings)
    rows = [
        tuple(r)
        for r in conn.execute(
            "SELECT source, root, content_hash, chunk_ids, ingested_at FROM manifest"
        )
    ]
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        settings.db_path.with_name(settings.db_path.name + suffix).unlink(missing_ok=True)
    old = sqlite3.connect(settings.db_path)
    old.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for fn in (db.m001_manifest, db.m002_sessions):
        fn(old)
        old.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (fn.__name__,))
    old.executemany("INSERT INTO manifest VALUES (?, ?, ?, ?, ?)", rows)
    old.commit()
    old.close()


def _locations(settings: Settings) -> dict[str, str | None]:
    conn = db.connect(settings)
    try:
        return dict(conn.execute("SELECT source, location FROM manifest").fetchall())
    finally:
        conn.close()


def test_a_store_from_before_locations_is_adopted_without_re_embedding(vault, tmp_path, settings):
    other = write_tree(tmp_path / "other", {"index.md": BREAD})
    ingest([vault], settings)
    ingest([other], settings)
    rows = manifest_state(settings)
    _make_pre_m003(settings)
    before = store_state(settings)

    summary = ingest([vault], settings)

    assert (summary.added, summary.unchanged, summary.removed, summary.chunks_written) == (
        0,
        3,
        0,
        0,
    )
    assert store_state(settings) == before and manifest_state(settings) == rows
    located = _locations(settings)
    assert sorted(located) == sorted([*VAULT, "index.md"])
    assert located["nlp/lora.md"] == str((vault / "nlp/lora.md").resolve())
    assert located["index.md"] is None  # another root's row waits for its own ingest
    assert open_store(settings).sources()["index.md"] == 1


def test_an_old_folder_row_is_matched_when_its_subfolder_is_ingested(vault, settings):
    ingest([vault], settings)
    _make_pre_m003(settings)
    before = store_state(settings), manifest_state(settings)

    summary = ingest([vault / "nlp"], settings)

    assert (summary.added, summary.unchanged, summary.chunks_written) == (0, 1, 0)
    assert (store_state(settings), manifest_state(settings)) == before
    assert _locations(settings)["nlp/lora.md"] == str((vault / "nlp/lora.md").resolve())
