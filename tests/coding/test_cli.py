"""`mockloop coding list|show|check` and `mockloop interview --round coding`, driven as a user
would through the CLI, with the database rows the round leaves behind."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mockloop.cli import app
from mockloop.config import Settings
from mockloop.db import connect

runner = CliRunner()

MERGE_OK = """def merge(intervals):
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out
"""


def run(*args, input: str = ""):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def rows(sql: str):
    return [dict(r) for r in connect(Settings.from_env()).execute(sql)]


def test_list_prints_one_problem_per_line_with_topic_and_difficulty():
    out = run("coding", "list").output.splitlines()
    assert len(out) >= 30
    line = next(x for x in out if x.startswith("coding.roc-auc "))
    assert "classification-metrics" in line and "difficulty 2" in line


def test_list_json():
    data = json.loads(run("coding", "list", "--json").output)
    by_id = {d["id"]: d for d in data}
    assert by_id["coding.merge-intervals"]["signature"] == (
        "merge(intervals: list[list[int]]) -> list[list[int]]"
    )


def test_show_prints_the_statement_and_starter():
    out = run("coding", "show", "coding.stable-softmax").output
    assert "Implement: softmax(x: np.ndarray, axis: int = -1)" in out
    assert "def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:" in out
    assert run("coding", "show", "coding.nope").exit_code == 2


@pytest.mark.slow
def test_check_exits_zero_only_when_all_pass(tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(MERGE_OK)
    bad.write_text(MERGE_OK.replace("sorted(intervals)", "intervals"))
    ok = run("coding", "check", "coding.merge-intervals", str(good))
    assert ok.exit_code == 0 and ok.output.startswith("9/9 tests passed")
    failed = run("coding", "check", "coding.merge-intervals", str(bad))
    assert failed.exit_code == 1
    assert "✗ unsorted input: merge([[8, 10], [1, 3], [2, 6]])" in failed.output
    assert "expected [[1, 6], [8, 10]], got [[8, 10]]" in failed.output


SCRIPT = f'''Is the input sorted?
/hint
"""
{MERGE_OK.replace("sorted(intervals)", "intervals")}"""
/run
/submit {{good}}
I sort by start and extend the last merged interval; sorting dominates, O(n log n) time and linear space.
Touching intervals merge since I compare start <= last end; a contained interval keeps the larger end with max.
I would test unsorted and nested inputs and compare with a brute force on random small inputs.
'''


@pytest.mark.slow
def test_coding_round_end_to_end_in_the_terminal(tmp_path):
    good = tmp_path / "solution.py"
    good.write_text(MERGE_OK)
    result = run(
        "interview",
        "--round",
        "coding",
        "--question",
        "coding.merge-intervals",
        input=SCRIPT.format(good=good),
    )
    out = result.output
    assert result.exit_code == 0, out
    assert "Implement: merge(intervals: list[list[int]])" in out
    assert "Interviewer: No, intervals come in any order." in out  # clarification from the notes
    assert "Hint 1/3: Would it help if the intervals were ordered somehow?" in out
    assert "Draft saved (8 lines)" in out
    assert "2/2 visible tests passed" in out  # the draft forgets to sort: the examples are sorted
    assert "Submitted. 9/9 tests passed" in out  # the file is the fixed version
    assert "What is the time and space complexity of your solution?" in out
    assert "How would you test this function?" in out
    assert "Hidden tests pass: 1.00" in out and "Round summary — coding" in out
    (session,) = rows("SELECT id, round, status FROM sessions")
    assert (session["round"], session["status"]) == ("coding", "finished")
    (grade,) = rows("SELECT question_id, round, topic, overall FROM grades")
    assert (grade["question_id"], grade["round"], grade["topic"]) == (
        "coding.merge-intervals",
        "coding",
        "intervals",
    )
    assert grade["overall"] >= 3.5  # all tests pass (3.5) plus the spoken part
    kinds = [r["kind"] for r in rows("SELECT kind FROM turns ORDER BY idx")]
    assert kinds.count("run") == 1 and kinds.count("submit") == 1 and "clarification" in kinds
    progress = json.loads(run("progress", "--json").output)
    assert "coding" in json.dumps(progress)
    report = run("report", session["id"], "--format", "md", "--out", "-").output
    assert "You (submitted)" in report and "9/9 tests passed" in report


@pytest.mark.slow
def test_quitting_after_a_failing_submission_still_stores_the_test_grade(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def merge(intervals):\n    return intervals\n")
    result = run(
        "interview",
        "--round",
        "coding",
        "--question",
        "coding.merge-intervals",
        input=f"/submit {bad}\n/quit\n",
    )
    assert "Submitted. " in result.output and "(ended early)" in result.output
    (grade,) = rows("SELECT overall FROM grades")
    assert grade["overall"] < 2.5


@pytest.mark.slow
def test_two_problems_each_get_their_starter_and_a_skipped_one_scores_zero():
    result = run(
        "interview", "--round", "coding", "--n", "5", "--seed", "0", input="/skip\n/quit\n"
    )
    out = result.output
    assert out.count("Starter code:") == 2  # a round holds at most two problems
    assert "[Question 2/2" in out
    grades = rows("SELECT overall FROM grades ORDER BY id")
    assert grades[0]["overall"] == 0.0
