"""Rounds with a chat model: phrasing streamed and leak-checked, the LLM judge, and fallbacks."""

from __future__ import annotations

import json

import pytest

from mockloop.config import Settings
from mockloop.llm import RetryPolicy, from_chat_model, get_provider
from mockloop.rounds import Ask, Delta, Feedback, Notice, Summary, start_round
from tests.fakes import status, stream

NO_WAIT = RetryPolicy(attempts=2, base_delay=0.0, timeout=5)

pytestmark = pytest.mark.reliability  # the LLM fault kinds (issue 15)


def judge_json(mechanism: float, tradeoffs: float, missing=()) -> str:
    return json.dumps(
        {
            "criteria": [
                {
                    "criterion_id": "mechanism",
                    "score": mechanism,
                    "covered": [],
                    "missing": list(missing),
                },
                {"criterion_id": "tradeoffs", "score": tradeoffs, "covered": [], "missing": []},
            ],
            "red_flags": [],
            "feedback": "Solid on the update rule.",
        }
    )


@pytest.fixture
def llm_start(tiny_bank, notes_retriever, clock):
    """Start a round whose breadth set is only br.adam, so the scripted replies fit it."""
    from mockloop.bank import Bank

    bank = Bank([q for q in tiny_bank.questions if q.round != "breadth" or q.id == "br.adam"])

    def _start(round_name, provider, **kw):
        return start_round(
            round_name,
            Settings.from_env(),
            bank=bank,
            retriever=notes_retriever,
            clock=clock,
            provider=provider,
            seed=0,
            **kw,
        )

    return _start


def test_question_is_phrased_from_the_notes_and_streamed(scripted, llm_start):
    scripted.enqueue("In practice, how would you contrast Adam with SGD plus momentum?")
    s = llm_start("breadth", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    steps = list(s.begin_iter())
    deltas = [x.text for x in steps if isinstance(x, Delta)]
    ask = steps[-1]
    assert len(deltas) > 1 and "".join(deltas).strip() == ask.text
    assert ask.text == "In practice, how would you contrast Adam with SGD plus momentum?"
    sent = scripted.sent_text()
    assert "ml-breadth/optimizers.md § Optimizers › Adam" in sent  # the retrieved note went along
    assert "never reveal" in sent


def test_wording_that_leaks_the_rubric_is_replaced(scripted, llm_start, tiny_bank):
    scripted.enqueue("Explain how Adam keeps a running average of past gradients like momentum.")
    s = llm_start("breadth", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    steps = list(s.begin_iter())
    shown = "".join(x.text for x in steps if isinstance(x, Delta))
    assert "keeps a running average" not in shown
    assert any(isinstance(x, Notice) and "standard wording" in x.text for x in steps)
    assert steps[-1].text == tiny_bank.get(steps[-1].question_id).prompt


def test_model_outage_falls_back_to_the_offline_wording(scripted, llm_start, tiny_bank):
    scripted.enqueue(RuntimeError("boom"), RuntimeError("boom again"))
    s = llm_start("breadth", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    steps = s.begin()
    assert isinstance(steps[0], Notice) and "standard wording" in steps[0].text
    assert steps[-1].text == tiny_bank.get(steps[-1].question_id).prompt


def test_answers_are_graded_by_the_llm_judge(scripted, llm_start):
    scripted.enqueue("How does Adam differ from SGD with momentum?")
    s = llm_start("breadth", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    s.begin()
    # A faithful judge: one of the two mechanism points (the judge is cross-checked offline)
    scripted.enqueue(judge_json(0.5, 0.0))
    steps = s.answer("Adam rescales every step per parameter.")
    fb = steps[0]
    assert isinstance(fb, Feedback) and fb.grade.grader == "fake"
    assert fb.grade.overall == pytest.approx(5 * 1 / 3, abs=0.01)
    assert "<answer>\nAdam rescales every step per parameter.\n</answer>" in scripted.sent_text()
    assert isinstance(steps[-1], Summary)


def test_judge_failure_grades_offline_and_says_so(scripted, llm_start):
    scripted.enqueue("How does Adam differ from SGD with momentum?")
    s = llm_start("breadth", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    s.begin()
    scripted.enqueue("not json", "still not json")
    steps = s.answer("Adam rescales every step per parameter.")
    assert isinstance(steps[0], Notice) and "graded offline" in steps[0].text
    fb = next(x for x in steps if isinstance(x, Feedback))
    assert fb.grade.grader == "offline" and "graded offline" in fb.text


def test_a_429_with_a_malformed_retry_after_does_not_end_the_round(openai_server, llm_start):
    provider = get_provider(f"{openai_server.base_url}?model=m", retry=NO_WAIT)
    waits: list[float] = []
    provider.sleep = waits.append
    openai_server.enqueue(
        stream("How does Adam differ from SGD with momentum?"),
        status(429, retry_after="soon"),
        judge_json(0.5, 0.0),
    )
    s = llm_start("breadth", provider, n=1)
    s.begin()
    steps = s.answer("Adam rescales every step per parameter.")
    fb = next(x for x in steps if isinstance(x, Feedback))
    assert fb.grade.grader != "offline"  # the retry reached the judge after the normal backoff
    assert waits == [NO_WAIT.base_delay]
    assert isinstance(steps[-1], Summary)
    assert s.summary().items[0].answer == "Adam rescales every step per parameter."


def test_rate_limits_with_bad_headers_to_the_end_fall_back_to_offline_grading(
    openai_server, llm_start
):
    provider = get_provider(f"{openai_server.base_url}?model=m", retry=NO_WAIT)
    provider.sleep = lambda s: None
    openai_server.enqueue(
        stream("How does Adam differ from SGD with momentum?"),
        *[status(429, retry_after="soon")] * NO_WAIT.attempts,
    )
    s = llm_start("breadth", provider, n=1)
    s.begin()
    steps = s.answer("Adam rescales every step per parameter.")
    assert isinstance(steps[0], Notice) and "graded offline" in steps[0].text
    fb = next(x for x in steps if isinstance(x, Feedback))
    assert fb.grade.grader == "offline"
    assert s.summary().items[0].answer == "Adam rescales every step per parameter."


def test_follow_up_is_worded_by_the_llm_from_the_missed_points(scripted, llm_start):
    # Full enough that the offline cross-check (which takes over from this judge's grade) finds
    # a key point stated: a follow-up goes only to an answer that said something relevant.
    answer = "It freezes the pretrained weights W and trains a small low-rank update BA instead."
    scripted.enqueue("How does LoRA keep fine-tuning cheap?")
    s = llm_start("nlp", from_chat_model(scripted, "fake", retry=NO_WAIT), n=1)
    s.begin()
    missed = "The low-rank update is merged into the weights so inference has no extra latency"
    scripted.enqueue(
        json.dumps(
            {
                "criteria": [
                    {"criterion_id": "mechanism", "score": 1.0, "covered": [], "missing": []},
                    {"criterion_id": "serving", "score": 0.0, "covered": [], "missing": [missed]},
                ],
                "red_flags": [],
                "feedback": "ok",
            }
        )
    )
    scripted.enqueue("And once training is done, what happens when you serve the model?")
    steps = s.answer(answer)
    ask = steps[-1]
    assert isinstance(ask, Ask) and ask.follow_up
    assert ask.text == "And once training is done, what happens when you serve the model?"
    sent = scripted.sent_text()
    assert "<missed>" in sent and missed in sent
    assert f"<answer>\n{answer}\n</answer>" in sent


def test_key_never_reaches_the_database(openai_server, llm_start, monkeypatch):
    secret = "sk-never-store-me-9f8e7d"
    monkeypatch.setenv("INTERVIEW_KEY", secret)
    provider = get_provider(
        f"{openai_server.base_url}?model=m&key_env=INTERVIEW_KEY", retry=NO_WAIT
    )
    provider.sleep = lambda s: None
    openai_server.enqueue(
        stream("How does Adam differ from SGD with momentum?"),
        status(401, body=f"bad key {secret}"),
    )
    s = llm_start("breadth", provider, n=1)
    s.begin()
    steps = s.answer("Adam rescales steps.")
    assert any(isinstance(x, Notice) for x in steps)
    assert all(secret not in x.model_dump_json() for x in steps)
    db = Settings.from_env().db_path
    for path in db.parent.glob("mockloop.db*"):
        assert secret.encode() not in path.read_bytes()
    auth = {k.lower(): v for k, v in openai_server.requests[0]["headers"].items()}["authorization"]
    assert auth == f"Bearer {secret}"  # it was used, just never stored or shown
