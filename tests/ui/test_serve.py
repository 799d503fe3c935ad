"""`mockloop serve` / `python app.py`: safe binding, first-run sample notes, the real start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from mockloop.cli.serve import (
    BindError,
    check_bind,
    ingest_sample_if_empty,
    is_loopback,
    parse_auth,
    progress_printer,
    serve_main,
)
from mockloop.config import Settings

from .conftest import REPO, free_port, new_client


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
        ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False),
        ("example.com", False),
    ],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_parse_auth():
    assert parse_auth("ana:s3cret:with:colons") == ("ana", "s3cret:with:colons")
    assert parse_auth(None) is None and parse_auth("") is None
    for bad in ("justuser", ":pw", "user:"):
        with pytest.raises(BindError, match="user:password"):
            parse_auth(bad)


def test_network_address_needs_a_login():
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", ("ana", "pw"))
    with pytest.raises(BindError, match="refusing to serve on 0.0.0.0 without a login") as e:
        check_bind("0.0.0.0", None)
    assert "--auth user:password" in str(e.value) and "MOCKLOOP_AUTH" in str(e.value)


def test_cli_refuses_to_bind_the_network_without_auth():
    from mockloop.cli import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without a login" in result.output
    assert "could read your notes" in result.output


def test_app_py_refuses_too_and_never_echoes_the_password(capsys, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_AUTH", "ana")  # malformed: no password
    with pytest.raises(SystemExit) as e:
        serve_main(["--host", "0.0.0.0"])
    assert e.value.code == 2
    assert "must look like user:password" in capsys.readouterr().err

    monkeypatch.setenv("MOCKLOOP_AUTH", "ana:hunter2-secret")
    with pytest.raises(SystemExit) as e:
        serve_main(["--help"])
    out = capsys.readouterr().out
    assert "MOCKLOOP_AUTH" in out and "hunter2-secret" not in out


def test_first_run_ingests_the_sample_notes_once(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha notes about gradient clipping.\n")
    settings = Settings(home=tmp_path / "home")
    said: list[str] = []
    ingest_sample_if_empty(settings, corpus, echo=said.append)
    assert said[0].startswith("first run: ingesting the sample notes")
    assert any("1 added" in line for line in said)
    assert any(line.startswith("  reading files 1/1 · ") for line in said)  # it shows progress
    said.clear()
    ingest_sample_if_empty(settings, corpus, echo=said.append)
    assert said == []  # a store with notes is left alone


def test_progress_printer_says_each_tenth_of_each_phase_once():
    said: list[str] = []
    ticks = iter(range(100))
    on_progress = progress_printer(said.append, clock=lambda: next(ticks))
    for done in range(0, 41):
        on_progress("chunks", done, 40)
    on_progress("files", 3, 3)
    assert len(said) == 11 and said[0] == "  embedding chunks 4/40 · 1 s"
    assert said[9].startswith("  embedding chunks 40/40") and said[10].startswith(
        "  reading files 3/3"
    )


@pytest.mark.slow
@pytest.mark.server
def test_python_app_py_serves_the_sample_notes(tmp_path):
    """The README's first command: a new user lands in an app that already has notes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kv-cache.md").write_text("# KV cache\n\nCaches keys and values per layer.\n")
    port = free_port()
    env = {**os.environ, "MOCKLOOP_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if "mockloop is serving at" in line:
                break
        output = "".join(lines)
        assert f"mockloop is serving at {url}" in output, output
        assert "first run: ingesting the sample notes" in output
        assert httpx.get(url + "/", timeout=30).status_code == 200
        client = new_client(url, tmp_path / "downloads")
        table, _choices, status = client.predict(api_name="/sources")  # what the page loads
        assert table["data"] == [["kv-cache.md", 1]]
        assert status.startswith("1 note · 1 chunk")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.server
def test_with_a_login_nothing_answers_without_it(ui_settings, tmp_path):
    from mockloop import ui

    demo = ui.build_app(ui_settings)
    port = free_port()
    ui.launch(demo, port=port, auth=("ana", "correct horse"), block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert httpx.get(url + "config", timeout=10).status_code in (401, 403)
        with pytest.raises(Exception):  # noqa: B017 — the wrong password is refused
            from gradio_client import Client

            Client(url, auth=("ana", "wrong"), verbose=False, analytics_enabled=False)
        from gradio_client import Client

        client = Client(url, auth=("ana", "correct horse"), verbose=False, analytics_enabled=False,
                        download_files=str(tmp_path))  # fmt: skip
        _table, _choices, status = client.predict(api_name="/sources")
        assert "note" in status
    finally:
        demo.close()
