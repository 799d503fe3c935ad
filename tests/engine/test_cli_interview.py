"""The terminal: every round driven through stdin, sessions, reports, kill -9 and resume, secrets."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mockloop.cli import app
from mockloop.config import Settings
from mockloop.db import connect

runner = CliRunner()
MOCKLOOP = [sys.executable, "-c", "from mockloop.cli import main; main()"]


@pytest.fixture
def corpus_home(corpus_settings, tmp_path, monkeypatch) -> Path:
    """A private copy of the ingested corpus home, so sessions never touch the shared one."""
    home = tmp_path / "home"
    shutil.copytree(corpus_settings.home, home)
    monkeypatch.setenv("MOCKLOOP_HOME", str(home))
    return home


def run(*args, input: str = ""):
    result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
    return result


def db_rows(sql: str, *args):
    conn = connect(Settings.from_env())
    return [dict(r) for r in conn.execute(sql, args)]


ANSWERS = {
    "breadth": [
        "I would look at the training and validation curves first.",
        "/hint",
        "Regularise it, then check the learning rate.",
    ],
    "nlp": [
        "Attention lets each token weigh every other token by a softmax of scaled dot products.",
        "I am not sure.",
        "It is about efficiency.",
        "No more to add.",
    ],
    "ranking": [
        "A two-tower model retrieves candidates with in-batch negatives, then a heavier ranker.",
        "I am not sure.",
        "It depends on the features.",
        "No more to add.",
    ],
    "behavioral": [
        "On the ranking team I owned a launch; I ran a holdout test and shared the data, and "
        "engagement rose 3 percent.",
        "I learned to bring data early.",
        "/skip",
        "/skip",
    ],
    "mlsd": [
        '"""',
        "The objective is long-term engagement, not clicks.",
        "Latency budget 200 ms.",
        '"""',
        "/stage monitoring",
        "Watch feature drift and calibration, retrain daily.",
        "/quit",
    ],
    "deep-dive": [
        "Support tickets took nine hours for a first reply; I led a team of three.",
        "We chose hybrid retrieval.",
        "Because BM25 alone missed synonyms.",
        "/quit",
    ],
}


@pytest.mark.parametrize("round_name", list(ANSWERS))
def test_every_round_runs_end_to_end_through_stdin(round_name):
    # Bank only (no notes ingested): the terminal flow is under test; grounding is tested elsewhere.
    lines = ANSWERS[round_name]
    if round_name == "deep-dive":  # no project notes: the candidate pastes a summary
        lines = ["A support-ticket RAG assistant I led."] + lines
    result = run(
        "interview", "--round", round_name, "--n", "2", "--seed", "3", input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Session " in out and "Question 1/" in out and "No notes ingested yet" in out
    assert f"Round summary — {round_name}" in out
    assert "Score " in out  # feedback was shown
    session = db_rows("SELECT id, status FROM sessions")[0]
    assert session["status"] == "finished"
    assert db_rows("SELECT COUNT(*) AS n FROM grades")[0]["n"] >= 1
    listing = run("sessions").output
    assert session["id"] in listing and "finished" in listing
    report = run("report", session["id"][:5], "--format", "md", "--out", "-").output
    assert "## Transcript" in report and "**You:**" in report


def test_hint_skip_and_feedback_at_end_in_the_terminal(corpus_home):
    result = run(
        "interview",
        "--round",
        "breadth",
        "--n",
        "2",
        "--feedback",
        "end",
        "--seed",
        "0",
        input="/hint\n/skip\nGradient clipping caps the norm.\n",
    )
    out = result.output
    assert "Hint: " in out and "Your notes cover this in ml-breadth/" in out
    summary_at = out.index("Round summary")
    assert out.index("Score ") > out.index("[Question 2/2")  # feedback held back to the end
    assert "(skipped)" in out[summary_at:]


def test_closing_input_leaves_the_session_resumable(corpus_home):
    result = run("interview", "--round", "breadth", "--n", "2", "--seed", "2", input="")
    assert "Resume with: mockloop resume" in result.output
    (session,) = db_rows("SELECT id, status FROM sessions")
    assert session["status"] == "active"
    again = run("resume", session["id"], input="An answer.\nAnother answer.\n")
    assert "Resuming session" in again.output and "Round summary" in again.output


def test_html_report_escapes_what_the_candidate_typed(corpus_home, tmp_path, monkeypatch):
    run(
        "interview",
        "--round",
        "breadth",
        "--n",
        "1",
        "--seed",
        "1",
        input="<script>alert('x')</script> regularisation\n",
    )
    (session,) = db_rows("SELECT id FROM sessions")
    monkeypatch.chdir(tmp_path)  # the report is written in the current folder
    out = run("report", session["id"], "--format", "html").output
    path = Path(out.split("Report written to ", 1)[1].strip())
    html = path.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<table>" in html and "Score " in html


def test_bad_round_and_unknown_session_are_explained(corpus_home):
    assert run("interview", "--round", "trivia").exit_code == 2
    result = run("resume", "nope")
    assert result.exit_code == 2 and "mockloop sessions" in result.output


@pytest.mark.reliability
def test_key_never_reaches_output_or_database(corpus_home, openai_server, monkeypatch):
    from tests.fakes import status

    secret = "sk-cli-secret-value-7777"
    monkeypatch.setenv("CLI_TEST_KEY", secret)
    openai_server.enqueue(*[status(401, body=f"invalid api key {secret}")] * 20)
    spec = f"{openai_server.base_url}?model=m&key_env=CLI_TEST_KEY"
    result = run(
        "interview",
        "--round",
        "breadth",
        "--n",
        "1",
        "--llm",
        spec,
        input="Momentum averages gradients.\n",
    )
    assert result.exit_code == 0, result.output
    assert secret not in result.output and "refused the key (401)" in result.output
    assert "graded offline" in result.output
    for path in corpus_home.glob("mockloop.db*"):
        assert secret.encode() not in path.read_bytes()
    assert secret not in run("sessions").output


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)


def _wait_for(lines: queue.Queue, needle: str, seen: list[str], timeout: float = 240) -> str:
    while True:
        line = lines.get(timeout=timeout)
        seen.append(line)
        if needle in line:
            return line


@pytest.mark.slow
@pytest.mark.reliability
def test_kill_minus_9_then_resume_continues_where_it_stopped(tmp_path):
    env = {**os.environ, "MOCKLOOP_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    cmd = [*MOCKLOOP, "interview", "--round", "breadth", "--n", "3", "--seed", "5"]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    session_id = _wait_for(lines, "Session ", seen).split()[1]
    _wait_for(lines, "[Question 1/3", seen)
    proc.stdin.write(
        "Bias is error from wrong assumptions; variance is sensitivity to the sample.\n"
    )
    proc.stdin.flush()
    _wait_for(lines, "[Question 2/3", seen)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    resumed = subprocess.run(
        [*MOCKLOOP, "resume", session_id],
        input="Second answer about regularisation.\nThird answer about learning rates.\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming session" in resumed.stdout and "1 answered so far" in resumed.stdout
    assert "[Question 2/3" in resumed.stdout and "[Question 1/3" not in resumed.stdout
    assert "Round summary" in resumed.stdout
    conn = connect(Settings(home=tmp_path / "home"))
    assert conn.execute("SELECT status FROM sessions").fetchone()[0] == "finished"
    answers = [
        r[0] for r in conn.execute("SELECT text FROM turns WHERE kind = 'answer' ORDER BY idx")
    ]
    assert answers[0].startswith("Bias is error") and len(answers) == 3
    assert conn.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == 3


def test_eval_interviewer_command_prints_the_table(corpus_home):
    result = run("eval", "interviewer", "--use-home", "--rounds", "breadth,nlp", "--n", "1")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| round | items | strong | partial | off-topic")
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["breadth", "nlp"]
    assert all(line.rstrip().endswith("| yes |") for line in lines[2:])


def test_a_bad_question_mix_is_refused_with_one_line(corpus_home):
    result = run("interview", "--round", "breadth", "--n", "1", "--mix", "2:x:1")
    assert result.exit_code == 2
    assert "--mix" in result.output and "Traceback" not in result.output


def test_the_mix_reaches_the_round(corpus_home, monkeypatch):
    import mockloop.progress as progress

    seen = []
    real = progress.order_questions

    def spy(*args, **kwargs):
        seen.append(kwargs["settings"].question_mix)
        return real(*args, **kwargs)

    monkeypatch.setattr(progress, "order_questions", spy)
    run("interview", "--round", "breadth", "--n", "1", "--mix", "0:0:1", input="/quit\n")
    assert seen and tuple(seen[0]) == (0, 0, 1)
