"""Shared fixtures: every test gets its own MOCKLOOP_HOME; nothing writes outside tmp dirs.

- `scripted`: a ScriptedChatModel (tests/fakes.py) with nothing queued.
- `openai_server`: the FakeOpenAIServer on 127.0.0.1, one per session, emptied around each test.
- `--run-slow`: the slow evals and end-to-end runs are skipped unless it is given
  (scripts/test.sh and CI give it).

Area-specific fixtures live beside their tests (tests/<area>/conftest.py); shared fakes and the
app server helpers are modules tests import (tests/fakes.py, tests/serving.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes import FakeOpenAIServer, ScriptedChatModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


@pytest.fixture(autouse=True)
def mockloop_home(tmp_path, monkeypatch) -> Path:
    """Point MOCKLOOP_HOME at a fresh temp dir and drop any configured endpoints or keys."""
    home = tmp_path / "mockloop-home"
    monkeypatch.setenv("MOCKLOOP_HOME", str(home))
    for var in ("MOCKLOOP_CHROMA_URL", "MOCKLOOP_LLM", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory):
    """Settings whose home has the repo's corpus/ ingested (embedded Chroma); read-only, shared.

    Built once per test session; tests must not ingest into or forget from it.
    """
    from mockloop.config import Settings
    from mockloop.notes.ingest import ingest

    if not CORPUS.is_dir() or not any(CORPUS.iterdir()):
        pytest.skip("corpus/ is empty")
    # Built from defaults, not the environment: a user's MOCKLOOP_CHROMA_URL must not leak in.
    settings = Settings(home=tmp_path_factory.mktemp("corpus-home"))
    summary = ingest([CORPUS], settings)
    assert summary.chunks_written > 0, summary.lines()
    return settings


@pytest.fixture
def scripted() -> ScriptedChatModel:
    return ScriptedChatModel.create()


@pytest.fixture(scope="session")
def _openai_server():
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(_openai_server) -> FakeOpenAIServer:
    _openai_server.reset()
    yield _openai_server
    _openai_server.reset()


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run tests marked slow (the evals, kill -9 resume, browser rounds); "
        "scripts/test.sh and CI pass it",
    )


def pytest_runtest_setup(item):
    # A skip here, before the fixtures are set up, spares the slow tests' fixtures too.
    if item.get_closest_marker("slow") and not item.config.getoption("--run-slow"):
        pytest.skip("slow: run with --run-slow (bash scripts/test.sh does)")
