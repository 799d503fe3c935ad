"""Issue 15.4-5: one bad row of a batch file is one skipped row, in the CLI and the web app."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mockloop.batch import grade_batch
from mockloop.config import Settings

pytestmark = pytest.mark.reliability

QUESTION = "Why do we scale features before L2 regularization?"
REFERENCE = "The L2 penalty treats all weights alike, so unscaled features are penalised unevenly."


def answer_row(i: int, **extra) -> dict:
    return {"id": f"r{i}", "question": QUESTION, "reference": REFERENCE,
            "answer": f"Answer {i}: scaling puts every weight on the same footing.", **extra}  # fmt: skip


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def wide_csv(tmp_path) -> Path:
    """Row 2 has a 200 KB cell (over csv's default 128 KB); row 3 a 1.2 M-character one."""
    path = tmp_path / "answers.csv"
    rows = [answer_row(1, notes=""), answer_row(2, notes="x" * 200_000),
            answer_row(3, notes="y" * 1_200_000), answer_row(4, notes="")]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_oversized_csv_cell_is_one_bad_row_in_the_cli(wide_csv, settings, monkeypatch):
    from mockloop.cli import app

    monkeypatch.setenv("MOCKLOOP_HOME", str(settings.home))
    result = CliRunner().invoke(app, ["grade", str(wide_csv), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "skipped answers.csv row 3: a cell holds 1,200,000 characters" in result.output
    assert "4 rows: 3 graded" in result.output and "1 skipped" in result.output


def test_an_oversized_csv_cell_is_one_bad_row_in_the_web_app(wide_csv, settings):
    from mockloop.ui import UiApp

    ui = UiApp(settings)
    ui.received = lambda path: True  # as if the page had uploaded it
    summary, rows, *_ = ui.batch_grade(str(wide_csv), "", False)
    assert "4 rows — 3 graded, 1 skipped" in summary
    assert "| 3 | a cell holds 1,200,000 characters" in summary
    assert rows.iloc[:, 0].tolist() == [1, 2, 4]  # the results table's first column: the row


def test_jsonl_strings_may_hold_line_separators(tmp_path, settings):
    path = tmp_path / "answers.jsonl"
    lines = [
        json.dumps(answer_row(1, answer="Scaling\u2028matters for L2."), ensure_ascii=False),
        json.dumps(answer_row(2, answer="Scaling\u0085matters\rtoo."), ensure_ascii=False),
        "{not json",
        json.dumps(answer_row(4), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = grade_batch(path, settings, progress=False, on_problem=lambda line: None)
    assert [r["row"] for r in summary.results] == [1, 2, 4]
    assert [(p.row, p.reason.split(" (")[0]) for p in summary.problems] == [(3, "not valid JSON")]


def test_utf16_with_a_byte_order_mark_is_read(tmp_path, settings):
    path = tmp_path / "answers.jsonl"
    body = "\n".join(json.dumps(answer_row(i), ensure_ascii=False) for i in (1, 2))
    path.write_bytes(body.encode("utf-16"))  # with a BOM, as Windows editors save it
    summary = grade_batch(path, settings, progress=False, on_problem=lambda line: None)
    assert len(summary.results) == 2 and summary.problems == []


def test_utf16_without_a_mark_gets_an_encoding_reason(tmp_path, settings):
    path = tmp_path / "answers.csv"
    path.write_bytes("id,question,reference,answer\nr1,q,ref,a\n".encode("utf-16-le"))
    said: list[str] = []
    summary = grade_batch(path, settings, progress=False, on_problem=said.append)
    assert summary.results == []
    [problem] = summary.problems
    assert (
        problem.row == 0
        and "UTF-16" in problem.reason
        and "save the file as UTF-8" in problem.reason
    )
    assert said == [f"skipped answers.csv: {problem.reason}"]


def test_a_repeated_row_is_reported_as_a_duplicate_not_an_earlier_run(tmp_path, settings):
    path = tmp_path / "answers.jsonl"
    same = {k: v for k, v in answer_row(1).items() if k != "id"}
    path.write_text("\n".join(json.dumps(r) for r in (same, answer_row(2), same)) + "\n",
                    encoding="utf-8")  # fmt: skip
    said: list[str] = []
    summary = grade_batch(path, settings, progress=False, on_problem=said.append)
    assert (summary.graded, summary.reused, summary.duplicates) == (2, 0, [(3, 1)])
    assert said == ["answers.jsonl row 3 repeats row 1: the same grade is given"]
    counts = summary.lines("answers.jsonl")[-1]
    assert "0 from an earlier run, 1 repeating an earlier row" in counts

    again = grade_batch(path, settings, progress=False, on_problem=lambda line: None)
    assert (again.graded, again.reused, again.duplicates) == (0, 2, [(3, 1)])
