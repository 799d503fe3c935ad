"""Fixtures for the web app tests: a data dir with sample notes, and the app served on 127.0.0.1.

- `ui_settings`: Settings whose home has corpus/ml-breadth ingested (a subset of the sample
  notes: quick to embed, and enough for breadth rounds, citations and search). Session-scoped.
- `app_server`: the real app (tests/serving.py) on a free loopback port in a thread of this
  process, sharing the encoder already loaded; `.url`, `.handlers`, `.settings`. Tests that
  use it must not rely on exact counts of notes or sessions: it is shared by the whole session.
- `client`: a fresh gradio_client.Client (its own browser session) on that server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serving import free_port, serve_app, wait_for

__all__ = ["free_port", "wait_for"]  # test_coding_api and test_serve take them from here

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
UI_CORPUS = REPO / "corpus" / "ml-breadth"
UPLOAD_CAP_MB = 1.0  # small, so a test can send a file over it


@dataclass
class Server:
    url: str
    handlers: object  # mockloop.ui.UiApp
    settings: object  # mockloop.config.Settings


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory):
    return notes_home(tmp_path_factory.mktemp("ui-home"))


def notes_home(home: Path):
    """Settings over `home` with corpus/ml-breadth ingested and nothing else (no progress)."""
    from mockloop.config import Settings
    from mockloop.notes.ingest import ingest

    if not UI_CORPUS.is_dir():
        pytest.skip("corpus/ml-breadth is missing")
    settings = Settings(home=home, max_file_mb=UPLOAD_CAP_MB)
    summary = ingest([UI_CORPUS], settings)
    assert summary.chunks_written > 0, summary.lines()
    return settings


@pytest.fixture(scope="session")
def app_server(ui_settings):
    from mockloop import ui

    handlers = ui.UiApp(ui_settings)
    with serve_app(ui_settings, handlers) as url:
        yield Server(url, handlers, ui_settings)


def new_client(url: str, downloads: Path):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)


@pytest.fixture
def client(app_server, tmp_path):
    return new_client(app_server.url, tmp_path / "downloads")
