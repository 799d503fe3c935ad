"""What a newcomer at the terminal needs: piped answers in the transcript, the multi-line syntax
in --help, flags shown as flags, and `mockloop report` writing where the user is."""

from __future__ import annotations

import io
import re
from pathlib import Path

from typer.testing import CliRunner

from mockloop.cli import app
from mockloop.cli.answers import read_answer

runner = CliRunner()


def test_read_answer_takes_a_line_or_a_fenced_block_and_echoes_when_asked(capsys):
    lines = io.StringIO('one line\n"""\nfirst\n  second\n"""\n').readline
    assert read_answer(lines) == "one line"
    assert read_answer(lines, echo=True) == "first\n  second"
    assert capsys.readouterr().out == "first\n  second\n"
    assert read_answer(lines) is None  # input closed


def test_piped_answers_show_after_their_question():
    result = runner.invoke(
        app,
        ["interview", "--round", "breadth", "--n", "2", "--seed", "3"],
        input="Dropout zeroes units at random.\n/quit\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "> Dropout zeroes units at random.\n" in out
    assert out.index("[Question 1/2") < out.index("> Dropout zeroes") < out.index("Score ")
    assert '"""' in out.split("[Question 1/2")[0]  # the start says how to answer in lines


def test_help_documents_multi_line_answers_and_shows_flags_without_a_type():
    interview = runner.invoke(app, ["interview", "--help"]).output
    assert 'a line holding only """' in " ".join(interview.split())
    grade = runner.invoke(app, ["grade", "--help"]).output
    assert "<bool>" not in grade and re.search(r"--quiet\s+no progress bar", grade)


def test_report_is_written_in_the_current_folder_or_at_out(tmp_path, monkeypatch):
    runner.invoke(app, ["interview", "--round", "breadth", "--n", "1"], input="An answer.\n")
    listed = runner.invoke(app, ["sessions"]).output.splitlines()
    session_id = listed[1].split()[0]
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["report", session_id]).output
    path = Path(out.split("Report written to ", 1)[1].strip())
    assert path == tmp_path / f"session-{path.stem.removeprefix('session-')}.md"
    assert path.is_file() and path.is_absolute()
    elsewhere = tmp_path / "out" / "r.html"
    out = runner.invoke(app, ["report", session_id, "--format", "html", "--out", str(elsewhere)])
    assert f"Report written to {elsewhere}" in out.output and elsewhere.is_file()
