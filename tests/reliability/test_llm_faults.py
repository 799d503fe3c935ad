"""Issue 15.6-7: a hanging or truncating model costs bounded time and never reaches the
question or the record; a key written into the model spec is never shown or stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mockloop.config import Settings
from mockloop.db import connect
from mockloop.llm import (
    TIMEOUT_ENV,
    LLMError,
    RetryPolicy,
    get_provider,
    safe_spec,
    truncated,
)
from mockloop.rounds import start_round
from tests.fakes import cut, slow, status, stream, text

pytestmark = [pytest.mark.reliability, pytest.mark.server]
QUESTION = "Walk me through what you would check first when validation loss rises?"


def notices(steps) -> list[str]:
    return [s.text for s in steps if s.kind == "notice"]


def asks(steps) -> list[str]:
    return [s.text for s in steps if s.kind == "ask"]


def test_timeout_and_retries_come_from_the_environment(openai_server, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_LLM_TIMEOUT", "0.3")
    monkeypatch.setenv("MOCKLOOP_LLM_RETRIES", "0")
    provider = get_provider(f"{openai_server.base_url}?model=m")
    assert (provider.retry.timeout, provider.retry.attempts) == (0.3, 1)
    openai_server.enqueue(slow("too late", 3.0), "never asked")
    with pytest.raises(LLMError, match="timed out after 1 attempt"):
        provider.complete([("user", "hi")])
    assert len(openai_server.requests) == 1  # no retry was made

    monkeypatch.setenv("MOCKLOOP_LLM_TIMEOUT", "soon")
    with pytest.raises(LLMError, match="MOCKLOOP_LLM_TIMEOUT"):
        get_provider(f"{openai_server.base_url}?model=m")


def test_two_timeouts_turn_the_rest_of_the_round_offline_and_say_so_once(openai_server, tmp_path):
    settings = Settings(home=tmp_path / "home")
    openai_server.enqueue(*[slow("late", 3.0)] * 10)
    provider = get_provider(
        f"{openai_server.base_url}?model=m", retry=RetryPolicy(timeout=0.3, base_delay=0)
    )
    session = start_round("breadth", settings, n=2, llm="x", provider=provider, retriever=False)
    steps = session.begin()
    steps += session.answer("Regularisation lowers variance by shrinking the weights.")
    steps += session.answer("I would lower the learning rate.")
    said = [n for n in notices(steps) if "runs offline" in n]
    assert len(said) == 1 and "timed out 2 times" in said[0], notices(steps)
    assert len(openai_server.requests) == 2  # the model was not called again in this round
    assert len(asks(steps)) == 2 and steps[-1].kind == "summary"


def test_the_cli_takes_llm_timeout(openai_server, tmp_path, monkeypatch):
    from mockloop.cli import app

    monkeypatch.setenv("MOCKLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(TIMEOUT_ENV, "60")  # restored after the test; the option overrides it
    openai_server.enqueue(*[slow("late", 3.0)] * 10)
    result = CliRunner().invoke(
        app,
        ["interview", "--round", "breadth", "--n", "1", "--llm-timeout", "0.3",
         "--llm", f"{openai_server.base_url}?model=m"],
        input="Momentum averages gradients.\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("the rest of this round runs offline") == 1
    assert "after 0.3 s" in result.output and len(openai_server.requests) == 2


def test_a_truncated_stream_is_asked_again_whole(openai_server, tmp_path):
    settings = Settings(home=tmp_path / "home")
    openai_server.enqueue(cut("Walk me through what you would"), text(QUESTION))
    provider = get_provider(f"{openai_server.base_url}?model=m", retry=RetryPolicy(base_delay=0))
    session = start_round("breadth", settings, n=1, llm="x", provider=provider, retriever=False)
    steps = list(session.begin_iter())
    assert asks(steps) == [QUESTION], [(s.kind, getattr(s, "text", "")) for s in steps]
    assert any("cut off; it was asked again" in n for n in notices(steps))
    stored = connect(settings).execute("SELECT text FROM turns WHERE kind = 'question'").fetchall()
    assert [r[0] for r in stored] == [QUESTION]


def test_a_stream_cut_at_the_token_limit_then_failing_again_falls_back_with_a_notice(
    openai_server, tmp_path
):
    settings = Settings(home=tmp_path / "home")
    openai_server.enqueue(cut("Walk me through what", finish="length"), *[status(500)] * 3)
    provider = get_provider(f"{openai_server.base_url}?model=m", retry=RetryPolicy(base_delay=0))
    session = start_round("breadth", settings, n=1, llm="x", provider=provider, retriever=False)
    steps = list(session.begin_iter())
    [question] = asks(steps)
    assert question != "Walk me through what" and not question.startswith("Walk me through what")
    assert any("token limit" in n and "standard wording" in n for n in notices(steps))


def test_a_whole_stream_is_not_taken_for_a_truncated_one(openai_server):
    openai_server.enqueue(stream(QUESTION))
    provider = get_provider(f"{openai_server.base_url}?model=m")
    assert "".join(provider.text([("user", "q")], stream=True)) == QUESTION


@pytest.mark.parametrize(
    ("reply", "finish", "required", "why"),
    [
        ("What would you check first?", "stop", True, None),
        ("What would you check first?", None, False, None),
        ("What would you check first?", None, True, "without a finish reason"),
        ("What would you check", None, False, "mid-sentence"),
        ("What would you check first?", "length", False, "token limit"),
    ],
)
def test_truncated(reply, finish, required, why):
    found = truncated(reply, finish, require_finish=required)
    assert (found is None) if why is None else (why in found)


# --- 7: a key in the spec ---------------------------------------------------------------


SECRET = "sk-spec-secret-0123456789abcdef"


@pytest.mark.parametrize(
    "spec",
    [
        f"http://127.0.0.1:9/v1?model=m&api_key={SECRET}",
        f"http://127.0.0.1:9/v1?apiKey={SECRET}&model=m",
        f"http://127.0.0.1:9/v1?model=m&token={SECRET}&key_env=MY_KEY",
        f"http://user:{SECRET}@127.0.0.1:9/v1?model=m",
        f"http://127.0.0.1:9/v1?model=m&x={SECRET}",
    ],
)
def test_safe_spec_strips_credentials(spec):
    shown = safe_spec(spec)
    assert SECRET not in shown and "model=m" in shown and shown.startswith("http://127.0.0.1:9/v1")


def test_a_key_in_the_spec_never_reaches_output_database_or_report(
    openai_server, tmp_path, monkeypatch
):
    from mockloop.cli import app

    home = tmp_path / "home"
    monkeypatch.setenv("MOCKLOOP_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # reports are written in the current folder, not the checkout
    openai_server.enqueue(stream(QUESTION))
    spec = f"{openai_server.base_url}?model=m&api_key={SECRET}"
    runner = CliRunner()
    result = runner.invoke(app, ["interview", "--round", "breadth", "--n", "1", "--llm", spec],
                           input="Momentum averages gradients.\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "model=m" in result.output
    for path in home.glob("mockloop.db*"):
        assert SECRET.encode() not in path.read_bytes()
    assert SECRET not in runner.invoke(app, ["sessions"]).output
    (session_id,) = connect(Settings(home=home)).execute("SELECT id FROM sessions").fetchone()
    for fmt in ("md", "html"):
        out = runner.invoke(app, ["report", session_id, "--format", fmt]).output
        report = out.split("Report written to ", 1)[1].strip()
        assert SECRET not in Path(report).read_text(encoding="utf-8")
    assert all(SECRET not in str(r["headers"]) for r in openai_server.requests)
