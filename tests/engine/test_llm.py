"""LLM providers: spec parsing, keys, and every fault through the real OpenAI client over HTTP."""

from __future__ import annotations

import email.utils
import importlib.util
import time

import pytest
from pydantic import BaseModel

from mockloop.llm import (
    LLMError,
    MissingKeyError,
    RetryPolicy,
    check_key_env,
    check_untrusted_spec,
    from_chat_model,
    get_provider,
    retry_after_seconds,
    safe_spec,
)
from tests.fakes import malformed, slow, status, stream

FAST = RetryPolicy(attempts=3, base_delay=0.25, max_delay=5.0, timeout=0.5)

pytestmark = pytest.mark.reliability  # the LLM fault kinds (issue 15)


class Pick(BaseModel):
    choice: str
    confidence: float


def _provider(server, waits: list[float], spec_extra: str = "", policy: RetryPolicy = FAST):
    provider = get_provider(f"{server.base_url}?model=scripted-7b{spec_extra}", retry=policy)
    provider.sleep = waits.append  # record backoff instead of sleeping
    return provider


def test_offline_is_the_default_and_has_no_model():
    provider = get_provider(None)
    assert provider.is_offline and provider.name == "offline"
    with pytest.raises(LLMError):
        provider.complete([("user", "hi")])


def test_unknown_spec_says_what_is_accepted():
    with pytest.raises(LLMError, match="provider:model"):
        get_provider("gpt4")


def test_missing_key_error_says_how_to_fix_it():
    with pytest.raises(MissingKeyError) as err:
        get_provider("openai:gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(err.value) and "--llm offline" in str(err.value)


def test_base_url_key_variable_must_be_set(openai_server, monkeypatch):
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="MY_LLM_KEY"):
        get_provider(f"{openai_server.base_url}?model=m&key_env=MY_LLM_KEY")


@pytest.mark.parametrize(
    "name",
    ["MOCKLOOP_AUTH", "HOME", "PATH", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "SSH_PRIVATE_KEY",
     "DB_PASSWORD_KEY", "KEY", "MY-KEY", "OPENAI_API_KEY_OLD"],
)  # fmt: skip
def test_key_env_may_only_name_an_api_key_variable(openai_server, monkeypatch, name):
    monkeypatch.setenv(name, "must-never-be-sent")
    with pytest.raises(LLMError, match="_KEY") as err:
        get_provider(f"{openai_server.base_url}?model=m&key_env={name}")
    assert not isinstance(err.value, MissingKeyError)
    assert "must-never-be-sent" not in str(err.value)
    assert openai_server.requests == []  # refused before anything was sent


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "VLLM_API_KEY", "MY_LLM_KEY", "lmstudio_KEY"])
def test_key_env_accepts_names_ending_in_key(name):
    assert check_key_env(name) == name


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        ("offline", True),
        ("openai:gpt-4o-mini", True),  # the provider's own endpoint
        ("http://127.0.0.1:8000/v1?model=m&key_env=OPENAI_API_KEY", True),
        ("http://127.9.9.9:8000/v1?model=m", True),
        ("http://localhost:11434/v1?model=m", True),
        ("http://[::1]:8000/v1?model=m", True),
        ("https://203.0.113.9/v1?model=m&key_env=OPENAI_API_KEY", False),
        ("http://evil.example:8000/v1?model=m", False),
        ("http://localhost.evil.example/v1?model=m", False),
        ("http://127.0.0.1.nip.io/v1?model=m", False),  # resolves to loopback, but only by DNS
        ("http://0.0.0.0:8000/v1?model=m", False),
        ("http://10.0.0.5:8000/v1?model=m", False),
        ("http://user:pw@203.0.113.9/v1?model=m", False),
    ],
)
def test_a_page_served_to_the_network_only_reaches_loopback_urls(spec, allowed):
    if allowed:
        check_untrusted_spec(spec)
    else:
        with pytest.raises(LLMError, match="MOCKLOOP_ALLOW_REMOTE_LLM=1") as err:
            check_untrusted_spec(spec)
        assert "pw" not in str(err.value)
        check_untrusted_spec(spec, allow_remote=True)  # the operator's explicit opt-in


def test_the_operators_configured_url_is_always_allowed():
    configured = "https://llm.example.com/v1?model=m&key_env=TEAM_API_KEY"
    check_untrusted_spec(configured, configured=configured)
    with pytest.raises(LLMError):
        check_untrusted_spec(
            configured.replace("llm.example.com", "other.example.com"), configured=configured
        )


@pytest.mark.skipif(importlib.util.find_spec("langchain_ollama") is not None, reason="installed")
def test_missing_integration_package_names_it():
    with pytest.raises(LLMError, match="pip install langchain-ollama"):
        get_provider("ollama:llama3.1")


def test_unsupported_provider_is_named():
    with pytest.raises(LLMError, match="fireworksish"):
        get_provider("fireworksish:some-model")


def test_init_chat_model_path_builds_a_provider(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-init-chat-model")
    provider = get_provider("openai:gpt-4o-mini")
    assert not provider.is_offline and provider.supports_schema
    assert provider.name == "openai:gpt-4o-mini" and provider.key_env_var == "OPENAI_API_KEY"


def test_plain_reply_reaches_the_real_client(openai_server):
    openai_server.enqueue("Tell me about dropout.")
    provider = _provider(openai_server, [])
    assert provider.complete([("system", "be brief"), ("user", "ask")]) == "Tell me about dropout."
    req = openai_server.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "scripted-7b"
    assert [m["role"] for m in req["body"]["messages"]] == ["system", "user"]


def test_key_comes_from_the_named_variable_and_no_other(openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-to-other-hosts")
    openai_server.enqueue("a", "b")
    _provider(openai_server, []).complete([("user", "x")])
    headers = {k.lower(): v for k, v in openai_server.requests[-1]["headers"].items()}
    assert "sk-must-not-leak" not in headers.get("authorization", "")
    monkeypatch.setenv("MY_LLM_KEY", "sk-local-123")
    _provider(openai_server, [], "&key_env=MY_LLM_KEY").complete([("user", "x")])
    headers = {k.lower(): v for k, v in openai_server.requests[-1]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-local-123"


def test_streaming_yields_pieces_over_sse(openai_server):
    openai_server.enqueue(stream("What is the bias-variance trade-off?"))
    pieces = list(_provider(openai_server, []).text([("user", "x")], stream=True))
    assert len(pieces) > 3
    assert "".join(pieces) == "What is the bias-variance trade-off?"
    assert openai_server.requests[-1]["body"]["stream"] is True


def test_rate_limit_honours_retry_after(openai_server):
    openai_server.enqueue(status(429, retry_after="2"), "ok now")
    waits: list[float] = []
    assert _provider(openai_server, waits).complete([("user", "x")]) == "ok now"
    assert waits == [2.0]
    assert len(openai_server.requests) == 2


def test_retry_after_is_capped(openai_server):
    openai_server.enqueue(status(429, retry_after="3600"), "ok")
    waits: list[float] = []
    _provider(openai_server, waits).complete([("user", "x")])
    assert waits == [FAST.max_delay]


def test_retry_after_as_an_http_date_is_honoured(openai_server):
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    ahead = email.utils.formatdate(time.time() + 25, usegmt=True)
    openai_server.enqueue(status(429, retry_after=past), status(429, retry_after=ahead), "ok")
    waits: list[float] = []
    slow_cap = RetryPolicy(attempts=3, base_delay=0.25, max_delay=60.0, timeout=0.5)
    assert _provider(openai_server, waits, policy=slow_cap).complete([("user", "x")]) == "ok"
    assert waits[0] == 0.0  # a date already gone: retry at once, not after the 0.25 s backoff
    assert 5.0 < waits[1] <= 25.0  # the seconds until that date, not the 0.5 s backoff


@pytest.mark.parametrize("header", ["soon", "", "-5", "nan", "Tue, 99 Foo 2025 25:61:00 GMT"])
def test_malformed_retry_after_falls_back_to_the_normal_backoff(openai_server, header):
    openai_server.enqueue(status(429, retry_after=header), "ok after all")
    waits: list[float] = []
    assert _provider(openai_server, waits).complete([("user", "x")]) == "ok after all"
    assert waits == [FAST.base_delay]


class _Response:
    def __init__(self, value):
        self.headers = {"retry-after": value}


class _RateLimited(Exception):
    def __init__(self, value):
        self.response = _Response(value)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 1.5 ", 1.5),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: no wait
        ("Wed, 21 Oct 2015 07:28:30", None),  # no zone: not an HTTP date
        ("soon", None),
        ("-1", None),
        ("inf", None),
        (None, None),
    ],
)
def test_retry_after_seconds_parses_seconds_and_dates_and_never_raises(header, seconds):
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert retry_after_seconds(_RateLimited(header), now=now) == seconds


def test_persistent_rate_limit_gives_up_after_bounded_attempts(openai_server):
    openai_server.enqueue(*[status(429, retry_after="1")] * 5)
    waits: list[float] = []
    with pytest.raises(LLMError, match=r"rate limited \(429\) after 3 attempts"):
        _provider(openai_server, waits).complete([("user", "x")])
    assert len(openai_server.requests) == 3 and waits == [1.0, 1.0]


def test_server_error_backs_off_exponentially(openai_server):
    openai_server.enqueue(status(500), status(503), "recovered")
    waits: list[float] = []
    assert _provider(openai_server, waits).complete([("user", "x")]) == "recovered"
    assert waits == [0.25, 0.5]


def test_slow_server_times_out_then_retries(openai_server):
    openai_server.enqueue(slow("too late", delay=1.5), "in time")
    waits: list[float] = []
    assert _provider(openai_server, waits).complete([("user", "x")]) == "in time"
    assert len(waits) == 1


def test_always_slow_server_ends_in_a_timeout_error(openai_server):
    policy = RetryPolicy(attempts=2, base_delay=0.1, timeout=0.3)
    openai_server.enqueue(slow("late", 1.0), slow("late", 1.0))
    with pytest.raises(LLMError, match="timed out after 2 attempts"):
        _provider(openai_server, [], policy=policy).complete([("user", "x")])


def test_malformed_response_body_is_retried(openai_server):
    openai_server.enqueue(malformed(), "fine")
    waits: list[float] = []
    assert _provider(openai_server, waits).complete([("user", "x")]) == "fine"
    assert len(waits) == 1


def test_stream_that_fails_before_any_text_is_retried(openai_server):
    openai_server.enqueue(status(500), stream("second try works"))
    pieces = list(_provider(openai_server, []).text([("user", "x")], stream=True))
    assert "".join(pieces) == "second try works"


def test_structured_output_through_json_schema(openai_server):
    openai_server.enqueue('{"choice": "adam", "confidence": 0.8}')
    out = _provider(openai_server, []).structured([("user", "pick")], Pick)
    assert out == Pick(choice="adam", confidence=0.8)
    fmt = openai_server.requests[-1]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Pick"


def test_malformed_structured_output_is_retried(openai_server):
    openai_server.enqueue('{"choice": "adam", "confid', '{"choice": "sgd", "confidence": 0.5}')
    waits: list[float] = []
    assert _provider(openai_server, waits).structured([("user", "p")], Pick).choice == "sgd"
    assert len(waits) == 1


def test_rejected_output_is_sent_back_with_the_reason(openai_server):
    openai_server.enqueue(
        '{"choice": "adam", "confidence": 7}', '{"choice": "adam", "confidence": 0.7}'
    )

    def validate(p: Pick) -> None:
        if not 0 <= p.confidence <= 1:
            raise ValueError("confidence must be within 0 and 1")

    out = _provider(openai_server, []).structured([("user", "p")], Pick, validate=validate)
    assert out.confidence == 0.7
    retry_messages = openai_server.requests[-1]["body"]["messages"]
    assert "confidence must be within 0 and 1" in retry_messages[-1]["content"]


def test_structured_gives_up_after_bounded_malformed_replies(openai_server):
    openai_server.enqueue("not json", "still not", "nope", "never used")
    with pytest.raises(LLMError, match="malformed output after 3 attempts"):
        _provider(openai_server, []).structured([("user", "p")], Pick)
    assert len(openai_server.requests) == 3


def test_key_never_appears_in_errors(openai_server, monkeypatch):
    secret = "sk-super-secret-value-42"
    monkeypatch.setenv("MY_LLM_KEY", secret)
    openai_server.enqueue(status(401, body=f"invalid key {secret}"))
    with pytest.raises(LLMError) as err:
        _provider(openai_server, [], "&key_env=MY_LLM_KEY").complete([("user", "x")])
    assert secret not in str(err.value) and "refused the key (401)" in str(err.value)
    assert len(openai_server.requests) == 1  # an auth failure is not retried


def test_credentials_in_a_url_are_dropped_from_the_stored_spec():
    assert (
        safe_spec("http://bob:hunter2@127.0.0.1:8080/v1?model=m")
        == "http://127.0.0.1:8080/v1?model=m"
    )


def test_fake_chat_model_without_native_schema_parses_json_text(scripted):
    scripted.enqueue('Sure! ```json\n{"choice": "rmsprop", "confidence": 0.3}\n```')
    provider = from_chat_model(scripted, "fake")
    assert not provider.supports_schema
    assert provider.structured([("user", "pick one")], Pick).choice == "rmsprop"
    assert "pick one" in scripted.sent_text()
