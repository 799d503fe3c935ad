"""Retrieval: modes, filters, MMR, fusion arithmetic, and a BM25 index that follows the store."""

from __future__ import annotations

import numpy as np
import pytest

from mockloop.notes.ingest import ingest
from mockloop.retrieval import Retriever, bm25_dir, fuse_scores, mmr, rrf, source_matches
from mockloop.store import open_store

from .conftest import write_tree


@pytest.fixture
def ingested(vault, settings):
    ingest([vault], settings)
    return settings


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid", "rrf"])
def test_every_mode_finds_the_note_that_answers(ingested, mode):
    hits = Retriever(ingested).search("why does AdamW decouple weight decay", k=3, mode=mode)
    assert hits[0].citation == "ml/optimizers.md § Optimizers"
    assert "AdamW decouples weight decay" in hits[0].text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_tag_filter_requires_every_tag(ingested):
    r = Retriever(ingested)
    assert {h.source for h in r.search("weights", k=10, tags=["nlp"])} == {"nlp/lora.md"}
    assert {h.source for h in r.search("weights", k=10, tags="#Optimization")} == {
        "ml/optimizers.md"
    }
    assert r.search("weights", k=10, tags=["nlp", "optimization"]) == []


def test_source_filter_takes_a_file_or_a_folder_prefix(ingested):
    r = Retriever(ingested)
    for mode in ("dense", "bm25", "hybrid"):
        hits = r.search("clicks and positions", k=10, mode=mode, source="ranking/")
        assert {h.source for h in hits} == {"ranking/position-bias.md"}
    assert r.search("anything", source="nlp/lora.md")[0].source == "nlp/lora.md"
    assert r.search("anything", source="nl") == []  # a prefix is a whole folder name


def test_source_matches():
    assert source_matches("nlp", "nlp/lora.md")
    assert source_matches("nlp/", "nlp/lora.md")
    assert source_matches("nlp/lora.md", "nlp/lora.md")
    assert not source_matches("nlp/lo", "nlp/lora.md")


def test_get_returns_the_chunk_or_none(ingested):
    r = Retriever(ingested)
    hit = r.search("initialise B at zero", k=1)[0]
    assert r.get(hit.chunk_id).text == hit.text
    assert r.get("0" * 32) is None


def test_mmr_drops_near_duplicates(tmp_path, settings):
    same = "Gradient clipping rescales the gradient when its norm exceeds a threshold."
    notes = {f"copy{i}.md": f"# Clipping {i}\n{same}" for i in range(3)}
    notes["other.md"] = (
        "# Warmup\nLearning-rate warmup avoids huge early updates before clipping is needed."
    )
    ingest([write_tree(tmp_path / "v", notes)], settings)
    r = Retriever(settings)
    plain = r.search("gradient clipping threshold", k=2, mode="dense")
    diverse = r.search("gradient clipping threshold", k=2, mode="dense", mmr=True)
    assert {h.source for h in plain} <= {"copy0.md", "copy1.md", "copy2.md"}
    assert diverse[0].source == plain[0].source
    assert diverse[1].source == "other.md"


def test_empty_query_or_store_gives_no_hits(settings):
    r = Retriever(settings)
    assert r.search("anything") == []
    assert r.search("   ") == []


def test_unknown_mode_is_an_error(ingested):
    with pytest.raises(ValueError, match="mode must be one of"):
        Retriever(ingested).search("x", mode="sparse")


def test_bm25_is_rebuilt_when_the_store_changed_behind_its_back(ingested, tmp_path):
    store = open_store(ingested)
    assert Retriever(ingested).search("AdamW", mode="bm25")
    store.delete_source("ml/optimizers.md")  # as a killed ingest or another client could
    assert Retriever(ingested).search("AdamW", mode="bm25") == []
    assert bm25_dir(ingested, store).exists()


def test_bm25_index_is_persisted_and_reused(ingested):
    store = open_store(ingested)
    folder = bm25_dir(ingested, store)
    stamp = (folder / "meta.json").stat().st_mtime_ns
    Retriever(ingested).search("AdamW", mode="bm25")
    assert (folder / "meta.json").stat().st_mtime_ns == stamp


def test_rrf_worked_example():
    fused = rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert list(fused) == ["a", "c", "b"]
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)


def test_mmr_worked_example():
    vectors = {
        "a": np.array([1.0, 0.0]),
        "a2": np.array([0.99, np.sqrt(1 - 0.99**2)]),
        "b": np.array([0.0, 1.0]),
    }
    relevance = {"a": 1.0, "a2": 0.95, "b": 0.5}
    assert mmr(["a", "a2", "b"], relevance, vectors, k=2, lam=1.0) == ["a", "a2"]
    assert mmr(["a", "a2", "b"], relevance, vectors, k=2, lam=0.5) == ["a", "b"]


def test_a_long_lived_retriever_sees_notes_ingested_after_it_was_made(ingested, vault):
    r = Retriever(ingested)  # as the UI keeps one
    assert r.search("byte-pair encoding merges", k=1, mode="bm25")[0].source != "nlp/bpe.md"
    write_tree(vault, {"nlp/bpe.md": "# BPE\nByte-pair encoding merges the most frequent pair."})
    ingest([vault], ingested)
    for mode in ("bm25", "hybrid"):
        assert r.search("byte-pair encoding merges", k=1, mode=mode)[0].source == "nlp/bpe.md"


def test_score_fusion_lets_a_strong_dense_match_beat_a_keyword_echo():
    # "a" is the dense winner and second in BM25; "k" repeats the query's words but is far
    # from its meaning. RRF ties them; the default score fusion keeps the dense winner on top.
    dense = [("a", 0.82), ("b", 0.80), ("k", 0.31)]
    lexical = [("k", 9.0), ("a", 8.5), ("b", 1.0)]
    fused = fuse_scores(dense, lexical)
    assert list(fused)[0] == "a"
    assert fused["a"] == pytest.approx(0.7 * 1 + 0.3 * 8.5 / 9)
    # a chunk only one retriever found counts the other list's lowest score, not zero
    only_dense = fuse_scores([("x", 1.0)], [("y", 4.0), ("z", 2.0)])
    assert only_dense["x"] == pytest.approx(0.7 + 0.3 * 0.5)


def test_hits_carry_the_vectors_the_store_holds(ingested):
    """Callers (citations, a follow-up's note) compare hits by these instead of encoding them."""
    r = Retriever(ingested)
    hits = r.search("why does AdamW decouple weight decay", k=3) + [
        r.get(r.search("LoRA")[0].chunk_id)
    ]
    stored = r.store.embeddings(list(dict.fromkeys(h.chunk_id for h in hits)))
    for h in hits:
        assert h.vector is not None
        np.testing.assert_allclose(h.vector, stored[h.chunk_id], atol=1e-6)
        assert "vector" not in h.model_dump()  # for computing, never shown or stored


def test_citations_use_the_hit_vectors_instead_of_encoding_the_notes(ingested, monkeypatch):
    from mockloop import embeddings
    from mockloop.grading.citations import cite_missing

    r = Retriever(ingested)
    point = "AdamW decouples weight decay from the gradient step"
    hits = r.search(point, k=4)
    encoded: list[str] = []
    real = embeddings.encode

    def spy(texts, *args, **kwargs):
        encoded.extend(texts)
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embeddings, "encode", spy)
    citations, _ = cite_missing([(point, 1.0)], r, settings=ingested)
    assert any(c.source == "ml/optimizers.md" for c in citations)
    assert not {h.text for h in hits} & set(encoded)


def test_one_cache_serves_every_user_of_the_encoder(ingested, monkeypatch):
    """Follow-ups, the notes index and search share embeddings.encode_cached: texts encoded for
    one are not encoded again for another."""
    from mockloop import embeddings
    from mockloop.models import Criterion, Question, Rubric
    from mockloop.rounds.followups import nearest_point
    from mockloop.rounds.notes import NotesIndex

    said = "Adam divides each step by a running average of squared gradients"
    point = "Adam adapts a learning rate per parameter"
    rubric = Rubric(version="1", criteria=[Criterion(id="c", description="c", key_points=[point])])
    q = Question(id="q", round="breadth", topic="adam", prompt="Adam?", rubric=rubric)
    assert nearest_point(said, q, ingested)[0] == point  # follow-ups encode both

    def no_encoder(*args, **kwargs):
        raise AssertionError("encoded again although the text is cached")

    monkeypatch.setattr(embeddings, "encode", no_encoder)
    r = Retriever(ingested)
    assert NotesIndex(r, ingested).encode([said, point]).shape[0] == 2
    assert r.search(point, k=1, mode="dense")[0].source == "ml/optimizers.md"
