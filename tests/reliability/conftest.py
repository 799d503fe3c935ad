"""Fixtures for the reliability suite: the app served on 127.0.0.1 behind a login.

`served_with_login`: the real app (tests/serving.py) on a free loopback port, behind LOGIN, over
an empty data dir of its own; yields (url, settings). Each test module gets its own.
The OpenAI-compatible stub is the shared `openai_server` fixture (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.serving import serve_app

LOGIN = ("ana", "correct horse battery")


def logged_in_client(url: str, downloads):
    from gradio_client import Client

    return Client(url, auth=LOGIN, verbose=False, analytics_enabled=False,
                  download_files=str(downloads))  # fmt: skip


@pytest.fixture(scope="module")
def served_with_login(tmp_path_factory):
    from mockloop.config import Settings

    settings = Settings(home=tmp_path_factory.mktemp("served-home"), max_file_mb=1.0)
    with serve_app(settings, auth=LOGIN) as url:
        yield url, settings
