"""Issue 15.8: behind a login, cancel/reset need it too, and wrong passwords meet a back-off."""

from __future__ import annotations

import httpx
import pytest

from .conftest import LOGIN

pytestmark = [pytest.mark.reliability, pytest.mark.server]

BODIES = {
    "gradio_api/cancel": {"session_hash": "x", "fn_index": 0, "event_id": "y"},
    "gradio_api/reset": {"event_id": "y"},
}


def test_cancel_and_reset_need_the_login(served_with_login):
    url, _settings = served_with_login
    for path, body in BODIES.items():
        assert httpx.post(url + path, json=body, timeout=30).status_code == 401, path
    with httpx.Client(timeout=30) as signed_in:
        r = signed_in.post(url + "login", data={"username": LOGIN[0], "password": LOGIN[1]})
        assert r.status_code == 200
        for path, body in BODIES.items():
            assert signed_in.post(url + path, json=body).status_code == 200, path


def test_wrong_passwords_meet_a_growing_wait_per_client(served_with_login):
    """Runs last in this module: it leaves 127.0.0.1 waiting."""
    url, _settings = served_with_login
    codes, waits = [], []
    for _ in range(30):
        r = httpx.post(url + "login", data={"username": LOGIN[0], "password": "guess"}, timeout=30)
        codes.append(r.status_code)
        waits.append(r.headers.get("retry-after"))
    assert codes[:5] == [400] * 5  # the first few are just wrong
    assert codes[5:].count(429) >= 20, codes  # then they wait (a slow machine may let one by)
    assert all(w is not None and int(w) >= 1 for w, c in zip(waits, codes, strict=True) if c == 429)
    right = httpx.post(url + "login", data={"username": LOGIN[0], "password": LOGIN[1]}, timeout=30)
    assert right.status_code == 429  # even the right password waits its turn
    assert "try again in" in right.json()["detail"]
