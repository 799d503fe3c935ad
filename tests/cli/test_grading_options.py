"""`eval grading`'s key=value options share one shape (cli/grading.pairs_option)."""

from __future__ import annotations

from typer.testing import CliRunner

from mockloop.cli import app
from mockloop.cli.grading import parse_pairs

runner = CliRunner()


def test_pairs_parse_and_a_missing_equals_sign_is_a_usage_error(tmp_path):
    assert parse_pairs(["a=1", " b = x=y "], "--map") == {"a": "1", "b": "x=y"}
    bad = runner.invoke(app, ["eval", "grading", "--map", "question"])
    assert bad.exit_code == 2 and "--map takes key=value, not 'question'" in bad.output
    missing = tmp_path / "none.jsonl"
    ok = runner.invoke(
        app, ["eval", "grading", "--dataset", str(missing), "--map", "q=question",
              "--label", "correct=5", "--where", "split=test"],
    )  # fmt: skip
    assert ok.exit_code == 2 and f"no dataset at {missing}" in ok.output
