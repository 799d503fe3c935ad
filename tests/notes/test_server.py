"""The same ingest and search against a real `chroma run` server over HTTP."""

from __future__ import annotations

import pytest

from mockloop.config import Settings
from mockloop.notes.ingest import forget, ingest
from mockloop.retrieval import Retriever
from mockloop.store import open_store

from .conftest import store_state, write_tree

pytestmark = pytest.mark.server


@pytest.fixture
def server_settings(chroma_server, mockloop_home, request):
    # One collection per test: the server outlives tests, its data must not leak between them.
    name = "t-" + request.node.name.replace("[", "-").replace("]", "")[:40]
    return Settings(home=mockloop_home, chroma_url=chroma_server, collection=name)


def test_ingest_and_search_through_the_server(vault, server_settings, chroma_server):
    summary = ingest([vault], server_settings)
    assert (summary.added, summary.chunks_written) == (3, 6)
    assert summary.store_location == chroma_server
    assert not server_settings.chroma_path.exists()  # nothing embedded on disk
    for mode in ("dense", "bm25", "hybrid"):
        [hit] = Retriever(server_settings).search(
            "examination probability of a position", k=1, mode=mode
        )
        assert hit.citation.startswith("ranking/position-bias.md § Position bias")


def test_incremental_reingest_and_forget_through_the_server(vault, server_settings, tmp_path):
    ingest([vault], server_settings)
    before = store_state(server_settings)
    again = ingest([vault], server_settings)
    assert (again.unchanged, again.chunks_written) == (3, 0)
    assert store_state(server_settings) == before

    write_tree(vault, {"nlp/rag.md": "# RAG\nRetrieve, then generate."})
    (vault / "ml/optimizers.md").unlink()
    changed = ingest([vault], server_settings)
    assert (changed.added, changed.removed) == (1, 1)
    fresh = server_settings.with_(
        collection=server_settings.collection[:30] + "-fresh", home=tmp_path / "h2"
    )
    ingest([vault], fresh)
    assert store_state(server_settings) == store_state(fresh)

    assert forget(["nlp/rag.md"], server_settings) == ["nlp/rag.md"]
    assert "nlp/rag.md" not in open_store(server_settings).sources()


def test_a_store_built_with_another_model_is_refused(vault, server_settings):
    from mockloop.store import StoreError

    ingest([vault], server_settings)
    with pytest.raises(StoreError, match="holds vectors from 'bundled:all-MiniLM-L6-v2'"):
        open_store(server_settings.with_(embed_model="/models/other"))
