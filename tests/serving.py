"""The real app served on a free loopback port, for the UI and reliability tests.

`serve_app` builds the Gradio app (build_app + launch, non-blocking) in a thread of this process,
so it shares the encoder already loaded, and waits until the server answers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0) -> None:
    """Until the URL answers at all (behind a login the page answers 401 before sign-in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def serve_app(settings, handlers=None, auth=None) -> Iterator[str]:
    """Serve the app over `settings` (optionally behind `auth`); yields its URL, closes it after."""
    from mockloop import ui

    demo = ui.build_app(settings, handlers)
    port = free_port()
    ui.launch(demo, port=port, auth=auth, block=False, max_file_mb=settings.max_file_mb)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url)
        yield url
    finally:
        demo.close()
