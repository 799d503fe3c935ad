"""UiApp handlers called directly (no server): streaming, and failures that must lose nothing."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from mockloop.llm import from_chat_model, get_provider
from mockloop.sessions import SessionLog
from mockloop.ui import UiApp
from mockloop.ui.handlers import InterviewState

CHAT, TIMER, CARD, ANSWER = range(4)
STATE = -1


def content(message: dict) -> str:
    return message["content"]


def test_interviewer_words_stream_into_the_chat(ui_settings):
    reply = (
        "Let us begin. Walk me through, step by step and in your own words, what you would "
        "look at first when a training run stops improving."
    )

    def factory(spec: str):
        if spec == "offline":
            return get_provider("offline")
        return from_chat_model(GenericFakeChatModel(messages=iter([reply])), name="fake:streamer")

    ui = UiApp(ui_settings, provider_factory=factory)
    outputs = list(ui.start_round("breadth", 1, "after each answer", "fake:streamer", "", None))
    try:
        partial = [content(o[CHAT][-1]) for o in outputs if content(o[CHAT][-1]).endswith(" ▍")]
        assert len(partial) >= 3, "the question should appear piece by piece"
        growing = [p.removesuffix(" ▍") for p in partial]
        assert all(b.startswith(a) for a, b in zip(growing, growing[1:], strict=False))
        final = outputs[-1][CHAT]
        assert content(final[-1]).startswith("**Question 1 of 1**")
        assert content(final[-1]).endswith(reply)
        assert not any(content(m).endswith(" ▍") for m in final)  # the preview was replaced
    finally:
        outputs[-1][STATE].close()


def test_a_grading_failure_keeps_the_answer_and_send_retries(ui_settings, monkeypatch):
    import mockloop.grading as grading

    ui = UiApp(ui_settings)
    *_, first = ui.start_round("breadth", 1, "after each answer", "offline", "", None)
    st: InterviewState = first[STATE]
    real = grading.grade_answer
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("grader exploded")
        return real(*args, **kwargs)

    monkeypatch.setattr(grading, "grade_answer", flaky)
    answer = "Weight decay adds an L2 penalty that shrinks weights toward zero."
    *_, failed = ui.answer(answer, st)
    try:
        assert "Something went wrong: RuntimeError: grader exploded" in content(failed[CHAT][-1])
        assert failed[ANSWER] == answer  # still in the box: nothing the user typed is lost
        st = failed[STATE]
        assert st.running

        *_, retried = ui.answer(answer, st)  # Send again
        titles = [(m.get("metadata") or {}).get("title", "") for m in retried[CHAT]]
        assert any(t.startswith("Feedback ·") for t in titles)
        assert content(retried[CHAT][-1]).startswith("**Round over**")
        log = SessionLog(ui_settings)
        try:
            turns = log.turns(retried[STATE].session.session_id)
            assert [t.text for t in turns if t.kind == "answer"] == [answer]  # once, not twice
        finally:
            log.conn.close()
    finally:
        (st if isinstance(st, InterviewState) else first[STATE]).close()


def test_an_unknown_round_is_reported_not_raised(ui_settings):
    ui = UiApp(ui_settings)
    *_, out = ui.start_round("poker", 3, "after each answer", "offline", "", None)
    assert "Could not start the round" in content(out[CHAT][-1]) and "poker" in content(
        out[CHAT][-1]
    )
    assert not out[STATE].running


@pytest.mark.parametrize("action", ["hint", "skip", "end"])
def test_buttons_without_a_round_say_so(ui_settings, action):
    ui = UiApp(ui_settings)
    result = getattr(ui, action)(None)
    out = result if isinstance(result, tuple) else list(result)[-1]
    assert content(out[CHAT][-1]).startswith("⚠")


def test_secrets_in_errors_are_redacted(ui_settings, monkeypatch):
    from mockloop.ui.handlers import friendly_error

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret")
    text = friendly_error(RuntimeError("401 for key sk-test-very-secret"))
    assert "sk-test-very-secret" not in text and "***" in text


def test_an_empty_answer_is_not_sent(ui_settings):
    ui = UiApp(ui_settings)
    *_, started = ui.start_round("breadth", 2, "after each answer", "offline", "", None)
    st = started[STATE]
    try:
        *_, out = ui.answer("   ", st)
        assert "Type an answer first" in content(out[CHAT][-1])
        assert st.active and st.session.current.index == 1  # still on the first question
    finally:
        st.close()


def test_configured_model_is_the_default_choice_without_its_credentials(tmp_path):
    from mockloop.config import Settings

    settings = Settings(home=tmp_path / "h", llm="http://ana:pw-secret@127.0.0.1:9/v1?model=x")
    choices = UiApp(settings).model_choices()
    assert choices == ["offline", "http://127.0.0.1:9/v1?model=x"]
    assert "pw-secret" not in UiApp(settings).status_md()
