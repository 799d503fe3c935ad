"""Issue 15.8: what a candidate or a file name holds is shown, never run or obeyed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mockloop.config import Settings

pytestmark = pytest.mark.reliability

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_the_markdown_session_report_escapes_raw_html_from_answers(tmp_path):
    from mockloop.reports.session import session_report
    from mockloop.rounds import start_round
    from mockloop.sessions import SessionLog

    settings = Settings(home=tmp_path / "home")
    session = start_round("breadth", settings, n=1, retriever=False)
    session.begin()
    session.answer(f"Momentum {XSS} averages gradients.")
    log = SessionLog(settings)
    md = session_report(log, session.session_id, fmt="md")
    html = session_report(log, session.session_id, fmt="html")
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md  # shown as text by any viewer
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;lt;" not in html


def test_stats_escapes_control_and_bidi_characters_in_source_names(tmp_path, monkeypatch):
    from mockloop.cli import app
    from mockloop.notes.ingest import ingest

    vault = tmp_path / "vault"
    vault.mkdir()
    names = ["fake\nfiles: 999.md", "invoice\u202egpj.md", "bell\x07\x1b[31m.md"]
    for i, name in enumerate(names):
        (vault / name).write_text(f"# Note {i}\n\nText {i} about sampling.\n", encoding="utf-8")
    settings = Settings(home=tmp_path / "home")
    assert ingest([vault], settings).added == 3
    monkeypatch.setenv("MOCKLOOP_HOME", str(settings.home))
    out = CliRunner().invoke(app, ["stats"]).output
    assert "\u202e" not in out and "\x1b" not in out and "\x07" not in out
    assert "fake\\nfiles: 999.md" in out and "invoice\\u202egpj.md" in out
    assert not any(line.startswith("files: 999") for line in out.splitlines())
