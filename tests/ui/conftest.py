"""Fixtures for the web app tests: a data dir with sample notes, and the app served on 127.0.0.1.

- `ui_settings`: Settings whose home has corpus/ml-breadth ingested (a subset of the sample
  notes: quick to embed, and enough for breadth rounds, citations and search). Session-scoped.
- `app_server`: the real app (build_app + launch) on a free loopback port in a thread of this
  process, sharing the encoder already loaded; `.url`, `.handlers`, `.settings`. Tests that
  use it must not rely on exact counts of notes or sessions: it is shared by the whole session.
- `client`: a fresh gradio_client.Client (its own browser session) on that server.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
UI_CORPUS = REPO / "corpus" / "ml-breadth"
UPLOAD_CAP_MB = 1.0  # small, so a test can send a file over it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class Server:
    url: str
    handlers: object  # mockloop.ui.UiApp
    settings: object  # mockloop.config.Settings


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory):
    from mockloop.config import Settings
    from mockloop.notes.ingest import ingest

    if not UI_CORPUS.is_dir():
        pytest.skip("corpus/ml-breadth is missing")
    settings = Settings(home=tmp_path_factory.mktemp("ui-home"), max_file_mb=UPLOAD_CAP_MB)
    summary = ingest([UI_CORPUS], settings)
    assert summary.chunks_written > 0, summary.lines()
    return settings


@pytest.fixture(scope="session")
def app_server(ui_settings):
    from mockloop import ui

    handlers = ui.UiApp(ui_settings)
    demo = ui.build_app(ui_settings, handlers)
    port = free_port()
    ui.launch(demo, port=port, block=False, max_file_mb=ui_settings.max_file_mb)
    url = f"http://127.0.0.1:{port}/"
    wait_for(url)
    yield Server(url, handlers, ui_settings)
    demo.close()


def new_client(url: str, downloads: Path):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)


@pytest.fixture
def client(app_server, tmp_path):
    return new_client(app_server.url, tmp_path / "downloads")
