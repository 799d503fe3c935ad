"""The Coding tab's endpoints through gradio_client, and the guard that turns code execution off
when the app is served to others. Each endpoint returns
(problem markdown, code, results HTML, chat, text box, feedback card)."""

from __future__ import annotations

import pytest

from mockloop.coding import load_problem_bank, run_tests
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.ui.coding import ALLOW_EXEC_ENV, BLOCKED, exec_blocked, report_html

from .conftest import free_port, new_client, wait_for

STATEMENT, CODE, RESULTS, CHAT, SAY, CARD = range(6)
BUGGY = """def merge(intervals):
    out = []
    for s, e in intervals:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out
"""


def chat_text(chat) -> str:
    return "\n".join(str(m["content"]) for m in chat)


def test_exec_is_blocked_only_when_served_to_others_and_not_allowed():
    assert exec_blocked(False, {}) is None
    assert exec_blocked(True, {}) == BLOCKED
    assert exec_blocked(True, {ALLOW_EXEC_ENV: "1"}) is None
    assert ALLOW_EXEC_ENV in BLOCKED


def test_report_html_lists_each_test_and_escapes_inputs():
    p = load_problem_bank().get("coding.merge-intervals")
    report = run_tests(p, "def merge(intervals):\n    return '<b>'\n", which="visible")
    page = report_html(report)
    assert "0/2 visible tests passed" in page and "&lt;b&gt;" in page and "<b>" not in page


@pytest.mark.server
@pytest.mark.slow
def test_coding_round_through_gradio_client(app_server, tmp_path):
    client = new_client(app_server.url, tmp_path / "dl")
    out = client.predict("coding.merge-intervals", api_name="/coding_start")
    assert "Merge overlapping intervals" in out[STATEMENT]
    assert "def merge(intervals: list[list[int]])" in out[CODE]

    out = client.predict("Is the input sorted?", api_name="/coding_say")
    assert "No, intervals come in any order." in chat_text(out[CHAT])

    out = client.predict(BUGGY, api_name="/coding_run")
    assert "2/2 visible tests passed" in out[RESULTS]

    out = client.predict(BUGGY, api_name="/coding_submit")
    assert "tests passed" in out[RESULTS] and "unsorted input" in out[RESULTS]
    assert "What is the time and space complexity" in chat_text(out[CHAT])

    for answer in (
        "Sort by start, then extend the last interval: O(n log n) time, linear space.",
        "Touching intervals merge; a contained interval keeps the larger end via max.",
        "Test unsorted and nested inputs against a brute force.",
    ):
        out = client.predict(answer, api_name="/coding_say")
    assert "Feedback" in str(out[CHAT]) and "Hidden tests pass" in out[CARD]
    conn = connect(Settings(home=app_server.settings.home))
    grades = conn.execute(
        "SELECT overall FROM grades WHERE question_id = 'coding.merge-intervals'"
    ).fetchall()
    assert grades and grades[-1]["overall"] < 3.5  # the unsorted merge failed hidden tests


@pytest.mark.server
def test_served_with_a_login_the_page_says_why_and_nothing_runs(ui_settings, tmp_path, monkeypatch):
    from mockloop import ui

    monkeypatch.delenv(ALLOW_EXEC_ENV, raising=False)
    demo = ui.build_app(ui_settings, ui.UiApp(ui_settings))
    port = free_port()
    ui.launch(demo, port=port, block=False, auth=("u", "p"))
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url)
        from gradio_client import Client

        client = Client(url, auth=("u", "p"), verbose=False, download_files=str(tmp_path))
        assert client.predict(api_name="/coding_notice").startswith("⚠ Running code is off")
        out = client.predict("coding.merge-intervals", api_name="/coding_start")
        assert "Running code is off" in out[RESULTS]
        out = client.predict(BUGGY, api_name="/coding_submit")
        assert "Running code is off" in out[RESULTS]
        # the gate holds for every caller in this process while the exposed app runs
        p = load_problem_bank().get("coding.merge-intervals")
        report = run_tests(p, p.reference)
        assert report.error == BLOCKED and report.passed == 0
    finally:
        demo.close()
    assert run_tests(p, p.reference, which="visible").all_passed  # closed: runs again
