"""The runner: correct and buggy solutions to the three named problems, and every way candidate
code can fail ends as a clear result (never an exception in mockloop)."""

from __future__ import annotations

import textwrap

import pytest

from mockloop.coding import Limits, Problem, load_problem_bank, run_tests

BANK = load_problem_bank()


def _tiny(**over) -> Problem:
    """A one-function problem with fast tests, for exercising the runner itself."""
    raw = {
        "id": "coding.tiny",
        "title": "Add",
        "kind": "algorithm",
        "topic": "arrays",
        "prompt": "Add two numbers.",
        "signature": "add(a: int, b: int) -> int",
        "examples": [{"call": "add(1, 2)", "expect": 3}],
        "tests": [
            {"name": "zeros", "call": "add(0, 0)", "expect": 0},
            {"name": "negative", "call": "add(-1, -2)", "expect": -3},
        ],
        "reference": "def add(a, b):\n    return a + b\n",
        "complexity": "O(1)",
        "spoken": {"approach": ["Add them"]},
    }
    raw.update(over)
    return Problem.model_validate(raw)


def run(code: str, problem: Problem | None = None, **limits):
    return run_tests(problem or _tiny(), textwrap.dedent(code), limits=Limits(**limits))


# -- the three named problems: right answers pass, plausible bugs fail -------------------------
SOFTMAX_NAIVE = """
import numpy as np
def softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)
"""
AUC_NO_TIES = """
def roc_auc(y_true, scores):
    pos = [s for s, y in zip(scores, y_true) if y == 1]
    neg = [s for s, y in zip(scores, y_true) if y == 0]
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = sum(r + 1 for r, i in enumerate(order) if y_true[i] == 1)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))
"""
MERGE_UNSORTED = """
def merge(intervals):
    out = []
    for s, e in intervals:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "problem_id", ["coding.stable-softmax", "coding.roc-auc", "coding.merge-intervals"]
)
def test_named_problems_accept_the_reference(problem_id):
    p = BANK.get(problem_id)
    report = run_tests(p, p.reference)
    assert report.all_passed, report.text()
    assert report.share(large=True) == 1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "problem_id, buggy, failing",
    [
        ("coding.stable-softmax", SOFTMAX_NAIVE, "large logits do not overflow"),
        ("coding.roc-auc", AUC_NO_TIES, "all scores tied"),
        ("coding.merge-intervals", MERGE_UNSORTED, "unsorted input"),
    ],
)
def test_named_problems_reject_a_plausible_bug(problem_id, buggy, failing):
    report = run_tests(BANK.get(problem_id), buggy)
    assert not report.all_passed
    failed = {r.name: r for r in report.failures()}
    assert failing in failed, report.text()
    assert failed[failing].status == "failed" and failed[failing].got


@pytest.mark.slow
def test_quadratic_auc_fails_only_the_large_test():
    pairwise = """
    def roc_auc(y_true, scores):
        pos = [s for s, y in zip(scores, y_true) if y == 1]
        neg = [s for s, y in zip(scores, y_true) if y == 0]
        won = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        return won / (len(pos) * len(neg))
    """
    report = run(pairwise, BANK.get("coding.roc-auc"))
    assert report.share(large=False) == 1.0 and report.share(large=True) == 0.0
    large = next(r for r in report.results if r.large)
    assert large.status == "timeout" and "time limit exceeded" in large.message


# -- each failure kind is a clear result ---------------------------------------------------------
def test_correct_code_passes_and_reports_each_test():
    report = run("def add(a, b):\n    return a + b\n")
    assert report.all_passed and report.passed == report.total == 3
    assert report.text().startswith("3/3 tests passed")


def test_wrong_answer_shows_input_expected_and_got():
    report = run("def add(a, b):\n    return a - b\n")
    bad = {r.name: r for r in report.failures()}["negative"]
    assert (bad.status, bad.input, bad.expected, bad.got) == ("failed", "add(-1, -2)", "-3", "1")


def test_visible_run_skips_hidden_tests():
    report = run_tests(_tiny(), "def add(a, b):\n    return a + b\n", which="visible")
    assert report.total == 1 and "visible" in report.text()


def test_syntax_error():
    report = run("def add(a, b)\n    return a + b\n")
    assert report.error.startswith("syntax error") and "line 1" in report.error
    assert report.passed == 0 and all(r.status == "not run" for r in report.results)


def test_missing_function():
    report = run("def plus(a, b):\n    return a + b\n")
    assert report.error == "missing function: no function add()"


def test_wrong_signature():
    report = run("def add(a):\n    return a\n")
    assert report.error.startswith("wrong signature: expected add(a: int, b: int)")
    assert "found add(a)" in report.error


def test_exception_reports_the_last_traceback_line_and_line_number():
    report = run("def add(a, b):\n    return {}[a]\n")
    r = report.results[0]
    assert r.status == "error" and r.message == "KeyError: 1 (line 2)"


def test_infinite_loop_is_stopped_within_the_limit_with_a_message():
    report = run("def add(a, b):\n    while True:\n        pass\n", test_s=0.5)
    assert [r.status for r in report.results] == ["timeout"] * 3
    # each test is stopped by its own 0.5 s timer, not by the run's wall clock
    assert all(
        r.message == "time limit exceeded: stopped after 0.5s of CPU time" for r in report.results
    )


def test_loop_that_swallows_the_timer_is_killed_by_the_wall_clock():
    code = """
    def add(a, b):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
    """
    report = run(code, test_s=0.3, load_s=1, overhead_s=1, wall_factor=1)
    assert report.results[0].status == "timeout"
    assert "time limit exceeded" in report.results[0].message
    assert [r.status for r in report.results[1:]] == ["not run", "not run"]


def test_code_that_sleeps_is_stopped_by_the_per_test_wall_timer():
    report = run("import time\ndef add(a, b):\n    time.sleep(3600)\n", test_s=0.2)
    assert report.results[0].status == "timeout"
    assert report.results[0].message == "time limit exceeded: stopped after 11s of waiting"


def test_infinite_loop_on_load():
    report = run("while True:\n    pass\n", load_s=0.5)
    assert report.error == "time limit exceeded: loading the code took too long"


def test_print_flood_is_capped():
    code = "def add(a, b):\n    for _ in range(10**5):\n        print('x' * 50)\n    return a + b\n"
    report = run(code, output_chars=1000, test_s=20)
    r = report.results[0]
    assert r.passed and len(r.output) < 1200 and "output truncated" in r.output


def test_flood_through_the_file_descriptor_hits_the_file_limit():
    code = "import os\ndef add(a, b):\n    while True:\n        os.write(1, b'y' * 65536)\n"
    report = run(code, file_bytes=1 << 20)
    assert report.results[0].status == "error"
    assert "output limit exceeded" in report.results[0].message


def test_memory_bomb_is_a_result():
    report = run(
        "def add(a, b):\n    x = bytearray(8 * 1024**3)\n    return a + b\n", memory_mb=512
    )
    assert report.results[0].status == "error"
    assert "memory limit exceeded" in report.results[0].message


def test_sys_exit_in_the_function_and_on_load():
    report = run("import sys\ndef add(a, b):\n    sys.exit(3)\n")
    assert report.results[0].status == "error" and "sys.exit(3)" in report.results[0].message
    report = run("import sys\nsys.exit(0)\n")
    assert report.error.startswith("exit: the code called sys.exit(0)")


def test_os_exit_mid_run():
    report = run("import os\ndef add(a, b):\n    os._exit(7)\n")
    assert report.results[0].status == "error"
    assert "exited (code 7)" in report.results[0].message


def test_environment_is_scrubbed_and_cwd_is_a_fresh_temp_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("MOCKLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("MY_SECRET", "s")
    problem = _tiny(
        tests=[
            {
                "name": "env",
                "call": "add(0, 0)",
                "check": "not [k for k in got if 'KEY' in k or 'TOKEN' in k or 'SECRET' in k or k.startswith('MOCKLOOP_')]",
            },
            {
                "name": "cwd",
                "call": "add(1, 0)",
                "check": "got.startswith('mockloop-run-') or 'mockloop-run-' in got",
            },
        ],
        examples=[],
    )
    code = """
    import os
    def add(a, b):
        return list(os.environ) if a == 0 else os.getcwd()
    """
    report = run(code, problem)
    assert report.all_passed, report.text()


def test_network_is_isolated_or_the_report_says_so():
    problem = _tiny(examples=[], tests=[{"name": "net", "call": "add(0, 0)", "expect": "blocked"}])
    code = """
    import socket
    def add(a, b):
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1).close()
            return "connected"
        except ConnectionRefusedError:
            return "refused"
        except OSError:
            return "blocked"
    """
    report = run(code, problem)
    if report.network == "isolated":
        assert report.all_passed, report.text()  # no interface at all, not even loopback
    else:
        assert report.network.startswith("network isolation unavailable")
        assert "network isolation unavailable" in report.text()
