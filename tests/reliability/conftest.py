"""Fixtures for the reliability suite: the app served on 127.0.0.1 behind a login.

`served_with_login`: the real app (build_app + launch with auth) on a free loopback port, over
an empty data dir of its own; yields (url, settings, auth). Each test module gets its own.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

LOGIN = ("ana", "correct horse battery")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0) -> None:
    """Until the URL answers at all (with a login, the page itself answers 401 before sign-in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def logged_in_client(url: str, downloads):
    from gradio_client import Client

    return Client(url, auth=LOGIN, verbose=False, analytics_enabled=False,
                  download_files=str(downloads))  # fmt: skip


@pytest.fixture(scope="module")
def served_with_login(tmp_path_factory):
    from mockloop import ui
    from mockloop.config import Settings

    settings = Settings(home=tmp_path_factory.mktemp("served-home"), max_file_mb=1.0)
    demo = ui.build_app(settings)
    port = free_port()
    ui.launch(demo, port=port, auth=LOGIN, block=False, max_file_mb=settings.max_file_mb)
    url = f"http://127.0.0.1:{port}/"
    wait_for(url)
    yield url, settings
    demo.close()


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from fake_openai import FakeOpenAIServer  # noqa: E402


@pytest.fixture(scope="module")
def fake_llm():
    """The OpenAI-compatible stub on 127.0.0.1 (tests/engine/fake_openai.py), emptied per test."""
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(fake_llm):
    fake_llm.reset()
    yield fake_llm
    fake_llm.reset()
