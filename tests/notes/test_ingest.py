"""Ingest: bad input skipped and counted, incremental and idempotent runs, kill -9 recovery."""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import signal
import zipfile

import pytest

from mockloop.config import Settings
from mockloop.notes.ingest import forget, ingest
from mockloop.retrieval import Retriever
from mockloop.store import open_store

from .conftest import (
    VAULT,
    encrypt_pdf,
    ingest_in_subprocess,
    make_pdf,
    manifest_state,
    store_state,
    write_tree,
)


def test_ingest_writes_every_chunk_with_its_citation(vault, settings):
    summary = ingest([vault], settings)
    assert (summary.added, summary.changed, summary.unchanged, summary.removed) == (3, 0, 0, 0)
    assert summary.skipped == [] and summary.files_seen == 3
    store = open_store(settings)
    assert store.sources() == {
        "ml/optimizers.md": 1,
        "nlp/lora.md": 3,
        "ranking/position-bias.md": 2,
    }
    assert summary.chunks_written == store.count() == 6
    [hit] = Retriever(settings).search("does the adapter add inference latency once merged", k=1)
    assert hit.citation == "nlp/lora.md § LoRA › Merging"
    assert hit.tags == ["nlp", "fine-tuning", "peft"]


@pytest.mark.reliability
def test_bad_inputs_are_each_skipped_with_one_reason_and_the_run_goes_on(tmp_path, monkeypatch):
    root = write_tree(tmp_path / "notes", {"good.md": "# Good\nA note that loads fine."})
    bad = {
        "empty.md": b"",
        "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        "latin1.md": "r\u00e9sum\u00e9 notes".encode("latin-1"),
        "corrupt.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
        "encrypted.pdf": encrypt_pdf(make_pdf(["a secret page"])),
        "big.md": b"# Big\n" + b"x" * 3000,
        "locked.md": b"# Locked\nno permission",
    }
    write_tree(root, bad)
    (root / "loop").mkdir()
    (root / "loop" / "back").symlink_to(root, target_is_directory=True)
    (root / "dangling.md").symlink_to(root / "missing.md")
    os.mkfifo(root / "pipe.md")
    (root / "picture.png").write_bytes(b"\x89PNG")  # another type: ignored, not an error
    locked = root / "locked.md"
    if os.geteuid() == 0:  # root reads anything: make the OS refusal happen for this one file
        real = pathlib.Path.read_bytes

        def read_bytes(self):
            if self.name == "locked.md":
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    else:
        locked.chmod(0)

    settings = Settings(home=tmp_path / "home", max_file_mb=2000 / 1024 / 1024)
    summary = ingest([root], settings)

    reasons = {pathlib.Path(p).name: r for p, r in summary.skipped}
    assert set(reasons) == {
        "empty.md", "binary.md", "latin1.md", "corrupt.pdf", "encrypted.pdf", "big.md",
        "locked.md", "back", "dangling.md", "pipe.md",
    }  # fmt: skip
    assert reasons["empty.md"] == "empty file"
    assert reasons["binary.md"].startswith("binary content")
    assert reasons["latin1.md"].startswith("invalid UTF-8 at byte 1")
    assert reasons["corrupt.pdf"].startswith("corrupt PDF")
    assert reasons["encrypted.pdf"].startswith("encrypted PDF")
    assert reasons["big.md"].startswith("larger than the 0.00190735 MB cap")
    assert reasons["locked.md"] == "cannot read: Permission denied"
    assert reasons["back"].startswith("symlink loop")
    assert reasons["dangling.md"] == "broken symlink"
    assert reasons["pipe.md"] == "not a regular file"
    assert (summary.added, summary.ignored, summary.files_seen) == (1, 1, 11)
    assert open_store(settings).sources() == {"good.md": 1}
    lines = summary.lines()
    assert sum(line.startswith("skipped ") for line in lines) == 10
    assert "files: 1 added, 0 changed, 0 unchanged, 0 removed, 10 skipped (of 11 seen)" in lines


def test_second_run_on_the_same_tree_changes_nothing(vault, settings):
    ingest([vault], settings)
    before = store_state(settings), manifest_state(settings)
    again = ingest([vault], settings)
    assert (again.added, again.changed, again.unchanged, again.removed) == (0, 0, 3, 0)
    assert again.chunks_written == again.chunks_deleted == 0
    assert (store_state(settings), manifest_state(settings)) == before


def test_changed_added_and_deleted_files_are_reconciled(tmp_path, vault, settings):
    ingest([vault], settings)
    lora = vault / "nlp/lora.md"
    lora.write_text(lora.read_text().replace("no extra inference latency", "zero added latency"))
    (vault / "ranking/position-bias.md").unlink()
    write_tree(vault, {"nlp/rag.md": "# RAG\nRetrieve passages, then generate with them."})

    summary = ingest([vault], settings)

    assert (summary.added, summary.changed, summary.unchanged, summary.removed) == (1, 1, 1, 1)
    assert summary.chunks_written == 2  # the edited LoRA section and the new note; the rest reused
    assert summary.chunks_deleted == 3  # the old LoRA section and the two position-bias chunks
    fresh = Settings(home=tmp_path / "fresh")
    ingest([vault], fresh)
    assert store_state(settings) == store_state(fresh)
    assert manifest_state(settings) == manifest_state(fresh)
    hits = Retriever(settings).search("examination propensity of a position", k=5, mode="bm25")
    assert all(h.source != "ranking/position-bias.md" for h in hits)


def test_a_tag_only_edit_updates_tags_without_re_embedding(vault, settings):
    ingest([vault], settings)
    lora = vault / "nlp/lora.md"
    lora.write_text(lora.read_text().replace("tags: [nlp, fine-tuning]", "tags: [nlp, adapters]"))
    summary = ingest([vault], settings)
    assert (summary.changed, summary.chunks_written) == (1, 0)
    r = Retriever(settings)
    for mode in ("dense", "bm25"):
        hits = r.search("low-rank update", k=5, mode=mode, tags=["adapters"])
        assert {h.source for h in hits} == {"nlp/lora.md"}
        assert r.search("low-rank update", k=5, mode=mode, tags=["fine-tuning"]) == []


def test_notion_export_zip_with_csv_database(tmp_path, settings):
    nid = "0123456789abcdef0123456789abcdef"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            f"Study {nid}/Transformers {nid[::-1]}.md", "# Transformers\nSelf-attention everywhere."
        )
        zf.writestr(
            f"Study {nid}/Papers {nid}.csv",
            "Name,Tags,TL;DR\nDeep & Cross Network,ranking,Explicit bounded-degree feature crosses.\n"
            "RoBERTa,nlp,BERT trained longer without next-sentence prediction.\n",
        )
        zf.writestr(f"Study {nid}/image.png", b"\x89PNG")
        zf.writestr(
            f"Study {nid}/Reading {nid}.csv",
            "Name,Notes\nSIM,two-stage search over lifelong history\n",
        )
        zf.writestr(
            f"Study {nid}/Reading {nid}_all.csv",
            "Name,Notes,Year\nSIM,two-stage search over lifelong history,2020\n",
        )
        zf.writestr("__MACOSX/._junk.md", b"junk")
    export = tmp_path / "Export.zip"
    export.write_bytes(buf.getvalue())

    summary = ingest([export], settings)

    assert (summary.added, summary.ignored) == (3, 1)
    assert summary.skipped == [
        (
            f"{export}/Study {nid}/Reading {nid}.csv",
            "same rows as Reading_all.csv (Notion exports both)",
        )
    ]
    assert open_store(settings).sources() == {
        "Study/Papers.csv": 2,
        "Study/Reading_all.csv": 1,
        "Study/Transformers.md": 1,
    }
    [hit] = Retriever(settings).search("next sentence prediction dropped", k=1, tags=["nlp"])
    assert hit.citation == "Study/Papers.csv § RoBERTa"
    assert "TL;DR: BERT trained longer" in hit.text


def test_nothing_ingestable_is_not_ok(tmp_path, settings):
    root = write_tree(tmp_path / "junk", {"empty.md": b"", "pic.png": b"\x89PNG"})
    summary = ingest([root, tmp_path / "does-not-exist"], settings)
    assert not summary.ok
    assert (str(tmp_path / "does-not-exist"), "path not found") in summary.skipped
    assert summary.files_seen == 2
    assert (
        "files: 0 added, 0 changed, 0 unchanged, 0 removed, 2 skipped (of 2 seen)"
        in summary.lines()
    )


def test_a_missing_root_removes_nothing(vault, tmp_path, settings):
    ingest([vault], settings)
    moved = tmp_path / "moved"
    vault.rename(moved)
    summary = ingest([vault], settings)
    assert summary.removed == 0 and open_store(settings).count() == 6


def test_forget_by_source_folder_prefix_or_path(vault, settings):
    ingest([vault], settings)
    assert forget(["nlp/lora.md"], settings) == ["nlp/lora.md"]
    assert forget([str(vault / "ranking")], settings) == ["ranking/position-bias.md"]
    assert forget(["nothing/here"], settings) == []
    assert open_store(settings).sources() == {"ml/optimizers.md": 1}
    assert list(manifest_state(settings)) == ["ml/optimizers.md"]
    assert [h.source for h in Retriever(settings).search("pretrained low-rank", mode="bm25")] == []
    summary = ingest([vault], settings)  # forgotten files come back as new on the next ingest
    assert (summary.added, summary.unchanged) == (2, 1)


# --- kill -9 ---------------------------------------------------------------------------------

V2_EDIT = ("Users click the top slots more often", "People click the first results more")


def _make_v2(vault):
    """Change one note (stale chunk to delete), delete one, add two."""
    bias = vault / "ranking/position-bias.md"
    bias.write_text(bias.read_text().replace(*V2_EDIT))
    (vault / "ml/optimizers.md").unlink()
    write_tree(
        vault,
        {
            "nlp/rag.md": "# RAG\nRetrieve passages, then generate with them in the prompt.",
            "nlp/bpe.md": "# BPE\nByte-pair encoding merges the most frequent symbol pair.",
        },
    )


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory):
    """A home with the v1 vault ingested, the vault then edited to v2, and the state an
    uninterrupted v2 ingest reaches. Ingests run in other processes, so this one holds no
    Chroma client on these homes."""
    base = tmp_path_factory.mktemp("crash")
    vault = write_tree(base / "vault", VAULT)
    home_v1 = base / "home-v1"
    done = ingest_in_subprocess(home_v1, [vault])
    assert done.returncode == 0, done.stderr[-2000:]
    _make_v2(vault)
    reference = base / "reference"
    shutil.copytree(home_v1, reference)
    clean = ingest_in_subprocess(reference, [vault])
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert "files: 2 added, 1 changed, 1 unchanged, 1 removed" in clean.stdout
    want = Settings(home=reference)
    return vault, home_v1, store_state(want), manifest_state(want)


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.parametrize(
    "crash_at",
    ["after_upsert:1", "after_delete:1", "after_manifest:1", "after_manifest:3", "after_remove:1"],
)
def test_ingest_killed_at_any_step_then_rerun_matches_an_uninterrupted_run(
    tmp_path, crash_setup, crash_at
):
    vault, home_v1, want_store, want_manifest = crash_setup
    home = tmp_path / "crashed"
    shutil.copytree(home_v1, home)

    killed = ingest_in_subprocess(home, [vault], crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    settings = Settings(home=home)
    rerun = ingest([vault], settings)

    assert rerun.ok and rerun.skipped == []
    assert store_state(settings) == want_store
    assert manifest_state(settings) == want_manifest
    # The BM25 index agrees with the store after recovery, too.
    r = Retriever(settings)
    assert sorted(r.bm25.ids) == sorted(want_store)
    assert r.search("byte-pair encoding merges", k=1, mode="bm25")[0].source == "nlp/bpe.md"


@pytest.mark.slow
@pytest.mark.reliability
def test_chunks_written_by_a_killed_run_for_a_file_deleted_before_the_rerun_are_removed(
    tmp_path, crash_setup
):
    vault_v2, home_v1, want_store, want_manifest = crash_setup
    vault = tmp_path / "vault"
    shutil.copytree(vault_v2, vault)
    home = tmp_path / "home"
    shutil.copytree(home_v1, home)
    _move_root(home, vault_v2, vault)

    killed = ingest_in_subprocess(home, [vault], crash_at="after_upsert:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    (vault / "nlp/bpe.md").unlink()  # its chunks are in the store, but no manifest row has them
    settings = Settings(home=home)
    ingest([vault], settings)

    assert store_state(settings) == {
        cid: text for cid, text in want_store.items() if "Byte-pair" not in text
    }
    assert manifest_state(settings) == {
        src: row for src, row in want_manifest.items() if src != "nlp/bpe.md"
    }


def _move_root(home, old, new):
    """Manifest roots and locations are absolute paths: follow a copied vault."""
    from mockloop import db

    old, new = str(old.resolve()), str(new.resolve())
    conn = db.connect(Settings(home=home))
    with conn:
        conn.execute(
            "UPDATE manifest SET root = ?, location = ? || substr(location, ?) WHERE root = ?",
            (new, new, len(old) + 1, old),
        )
    conn.close()
