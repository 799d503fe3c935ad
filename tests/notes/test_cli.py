"""The notes commands, driven through typer's CliRunner: exact summaries and exit codes."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from mockloop.cli import app

from .conftest import write_tree

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_ingest_prints_the_summary_and_a_rerun_reports_everything_unchanged(vault, mockloop_home):
    (vault / "empty.md").write_bytes(b"")
    first = run("ingest", str(vault))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"skipped {vault / 'empty.md'}: empty file",
        "files: 3 added, 0 changed, 0 unchanged, 0 removed, 1 skipped (of 4 seen)",
        "chunks: 6 written, 0 deleted",
        f"store: {mockloop_home / 'chroma'}",
    ]
    second = run("ingest", str(vault))
    assert second.exit_code == 0
    assert (
        "files: 0 added, 0 changed, 3 unchanged, 0 removed, 1 skipped (of 4 seen)" in second.stdout
    )
    assert "chunks: 0 written, 0 deleted" in second.stdout


def test_ingest_of_nothing_usable_exits_non_zero_and_says_what_to_do(tmp_path):
    root = write_tree(tmp_path / "junk", {"a.md": b"", "b.png": b"\x89PNG"})
    result = run("ingest", str(root))
    assert result.exit_code == 1
    assert (
        "files: 0 added, 0 changed, 0 unchanged, 0 removed, 1 skipped (of 1 seen)" in result.stdout
    )
    assert "nothing could be ingested" in result.stderr
    assert ".md, .txt, .pdf, .csv and .zip" in result.stderr


def test_a_store_that_cannot_be_opened_exits_2_with_a_fix(vault):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    result = run("ingest", str(vault), "--chroma-url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"cannot reach the Chroma server at http://127.0.0.1:{port}" in result.stderr
    assert "chroma run --path" in result.stderr


def test_a_home_that_is_a_file_exits_2(vault, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("MOCKLOOP_HOME", str(blocker))
    result = run("ingest", str(vault))
    assert result.exit_code == 2
    assert "cannot open the note store" in result.stderr and "MOCKLOOP_HOME" in result.stderr


def test_search_prints_ranked_citations_and_snippets(vault):
    run("ingest", str(vault))
    result = run("search", "how is B initialised in LoRA", "-k", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1. nlp/lora.md § LoRA › Initialisation  [")
    assert (
        lines[1]
        == "   A is random and B starts at zero, so the adapted model equals the base model at step 0."
    )
    assert lines[2].startswith("2. ")
    assert len(lines) == 4


def test_search_filters_and_json_output(vault):
    import json

    run("ingest", str(vault))
    result = run("search", "weights", "--tag", "optimization", "--json", "--mode", "bm25")
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["citation"] for h in hits] == ["ml/optimizers.md § Optimizers"]
    none = run("search", "weights", "--source", "papers/")
    assert none.stdout.strip() == "no matching notes (check --tag/--source)"


def test_search_before_any_ingest_says_what_to_do():
    result = run("search", "anything")
    assert result.exit_code == 1
    assert "run `mockloop ingest PATH` first" in result.stderr


def test_stats_and_forget(vault, mockloop_home):
    run("ingest", str(vault))
    stats = run("stats").stdout.splitlines()
    assert stats[0] == f"store: {mockloop_home / 'chroma'} (collection 'notes')"
    assert stats[1:3] == ["sources: 3", "chunks: 6"]
    assert stats[3].startswith("last ingest: ") and "(3 added, 0 changed" in stats[3]
    assert stats[4:7] == [
        "     1  ml/optimizers.md",
        "     3  nlp/lora.md",
        "     2  ranking/position-bias.md",
    ]
    # how each note was routed, and why: folders that name a round are hints
    assert stats[7] == "routing (round · topic, then why):"
    assert stats[8].startswith("  ml/optimizers.md → breadth · ")
    assert stats[9].startswith("  nlp/lora.md → nlp · ")

    gone = run("forget", "nlp/")
    assert gone.exit_code == 0
    assert gone.stdout.splitlines() == ["forgot nlp/lora.md", "removed 1 sources"]
    assert run("stats").stdout.splitlines()[1:3] == ["sources: 2", "chunks: 3"]
    missing = run("forget", "nlp/")
    assert missing.exit_code == 1 and "no ingested source matches nlp/" in missing.stderr


@pytest.mark.slow
def test_eval_retrieval_prints_the_table(corpus_settings, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(corpus_settings.home, home)  # already ingested: the command only re-checks
    dataset = tmp_path / "mini.jsonl"
    dataset.write_text(
        '{"id": "x1", "query": "Why initialise the LoRA B matrix to zero?", "gold_sources": ["nlp/lora-qlora.md"]}\n'
    )
    from .test_eval_retrieval import REPO

    result = run(
        "eval",
        "retrieval",
        "--dataset",
        str(dataset),
        "--corpus",
        str(REPO / "corpus"),
        "--home",
        str(home),
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"retrieval eval: 1 queries from {dataset}")
    assert lines[1].split() == [
        "mode",
        "recall@1",
        "recall@5",
        "MRR",
        "nDCG@10",
        "heading@5",
        "all-gold@5",
    ]
    assert [line.split()[0] for line in lines[2:5]] == ["dense", "bm25", "hybrid"]
    assert lines[4].split()[2] == "1.000"  # hybrid recall@5 on the one query
    assert lines[-1] == "default: hybrid"  # the mode `mockloop search` uses
