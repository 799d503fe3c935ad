"""Chat-model providers from a spec string, behind one small interface with declared capabilities.

Specs:
- ``offline`` (default): no model at all; rounds use their templates and the offline grader.
- ``provider:model`` (``openai:gpt-4o-mini``, ``ollama:llama3.1``, ``anthropic:...``): any
  LangChain chat model through ``init_chat_model``; the provider's integration package must be
  installed.
- an OpenAI-compatible base URL (vLLM, llama.cpp server, LM Studio, Ollama's /v1):
  ``http://127.0.0.1:8000/v1?model=qwen2.5&key_env=MY_KEY_VAR``. ``key_env`` names the
  environment variable holding the key; without it no key is sent (local servers need none, and
  a key for one service is never sent to another by accident). Only a variable whose name ends
  in ``_KEY`` (``_API_KEY`` included) can be named, never ``MOCKLOOP_AUTH`` nor one that says
  SECRET, PASSWORD or PRIVATE: a spec typed into a page must not turn another secret of the
  server's environment into a bearer token.

`check_untrusted_spec` is the second half of that guard, for a page served to the network
(--auth or a non-loopback address): there a spec typed by the page user may name a base URL only
on loopback, unless the operator allowed remote ones (``MOCKLOOP_ALLOW_REMOTE_LLM=1``); the
operator's own configured spec is always allowed.

Every call gets bounded retries with exponential backoff (Retry-After honoured) for timeouts,
rate limits, server errors and malformed output; after the last attempt it raises ``LLMError``
and the caller falls back to the offline path. Keys are resolved in ``resolve_key`` only and are
redacted from every error message. Not covered: tool calling, embeddings, async.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)
Message = tuple[str, str]  # (role, content); role is system · user · assistant

# Providers whose LangChain integration reads a key, and the variable it lives in.
KEY_ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azure_openai": "AZURE_OPENAI_API_KEY",
    "google_genai": "GOOGLE_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistralai": "MISTRAL_API_KEY",
    "together": "TOGETHER_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "cohere": "COHERE_API_KEY",
}
PACKAGES: dict[str, str] = {
    "google_genai": "langchain-google-genai",
    "azure_openai": "langchain-openai",
}


KEY_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_KEY")  # OPENAI_API_KEY, MY_LLM_KEY, ...
KEY_ENV_NEVER = re.compile(r"SECRET|PASSWORD|PASSWD|PRIVATE|^MOCKLOOP_AUTH$", re.IGNORECASE)
ALLOW_REMOTE_ENV = "MOCKLOOP_ALLOW_REMOTE_LLM"  # "1": a page served to the network may use any URL
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class LLMError(RuntimeError):
    """The model could not give a usable reply after bounded retries (or cannot be reached)."""


class MissingKeyError(LLMError):
    """No key where one is needed; the message says how to provide it."""


class MalformedOutput(ValueError):
    """The reply was not the JSON object asked for, or failed its validation."""


class TruncatedReply(LLMError):
    """The reply stopped early: no finish reason on a stream, the token limit, or mid-sentence."""


TIMEOUT_ENV = "MOCKLOOP_LLM_TIMEOUT"  # seconds per request
RETRIES_ENV = "MOCKLOOP_LLM_RETRIES"  # tries after the first one


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # total tries per call
    base_delay: float = 0.5  # seconds; doubled each retry
    max_delay: float = 30.0  # cap on one wait, Retry-After included
    timeout: float = 60.0  # per request, seconds
    timeouts_before_offline: int = 2  # timed-out requests before a provider stops calling

    @classmethod
    def from_env(cls, timeout: float | None = None) -> RetryPolicy:
        """Timeout (MOCKLOOP_LLM_TIMEOUT, or `timeout`) and retries (MOCKLOOP_LLM_RETRIES);
        a malformed value is an LLMError that names the variable."""
        try:
            if timeout is None:
                timeout = float(os.environ.get(TIMEOUT_ENV, "") or cls.timeout)
            retries = int(os.environ.get(RETRIES_ENV, "") or cls.attempts - 1)
        except ValueError:
            raise LLMError(
                f"{TIMEOUT_ENV} must be a number of seconds and {RETRIES_ENV} a whole number"
            ) from None
        if not (math.isfinite(timeout) and timeout > 0) or retries < 0:
            raise LLMError(f"{TIMEOUT_ENV} must be above 0 and {RETRIES_ENV} 0 or more")
        return cls(attempts=retries + 1, timeout=timeout)


def resolve_key(env_var: str, *, provider: str = "") -> str:
    """The key in `env_var`, or a MissingKeyError that says how to set it."""
    key = os.environ.get(env_var, "").strip()
    if key:
        return key
    who = f" for {provider}" if provider else ""
    raise MissingKeyError(
        f"No API key found{who}: set the {env_var} environment variable "
        f"(export {env_var}=...), or run with --llm offline."
    )


def check_key_env(name: str) -> str:
    """`name` if it may name the variable that holds an endpoint's key; else an LLMError.

    Allowed: names ending in ``_KEY`` (so ``_API_KEY`` too), e.g. OPENAI_API_KEY or MY_LLM_KEY.
    Refused: anything else (HOME, MOCKLOOP_AUTH, DATABASE_URL, ...) and names that say SECRET,
    PASSWORD or PRIVATE (AWS_SECRET_ACCESS_KEY, SSH_PRIVATE_KEY).
    """
    name = (name or "").strip()
    if not KEY_ENV_NAME.fullmatch(name) or KEY_ENV_NEVER.search(name):
        raise LLMError(
            f"key_env={name!r} is not allowed: name a variable that holds an API key and ends in "
            "_KEY or _API_KEY (e.g. key_env=VLLM_API_KEY); other variables are never sent."
        )
    return name


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost (by name, never by a DNS look-up) are loopback."""
    import ipaddress

    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_untrusted_spec(spec: str | None, *, configured: str = "", allow_remote: bool = False):
    """For a spec typed into a page served to the network: LLMError unless it is safe to use.

    Safe: ``offline``, ``provider:model`` (the provider's own endpoint), the operator's own
    `configured` spec, and an OpenAI-compatible URL on loopback. A URL on any other host is
    refused unless `allow_remote` (the operator started the server with MOCKLOOP_ALLOW_REMOTE_LLM=1).
    """
    spec = (spec or "offline").strip()
    if not spec.startswith(("http://", "https://")) or spec == (configured or "").strip():
        return
    host = urlsplit(spec).hostname
    if allow_remote or is_loopback_host(host):
        return
    raise LLMError(
        f"this app is served to the network, so a model URL typed here must be on this machine "
        f"(127.0.0.1 or localhost), not {host or 'that host'}; the operator can allow other hosts "
        f"by starting the server with {ALLOW_REMOTE_ENV}=1, or set MOCKLOOP_LLM."
    )


class Provider:
    """One way to ask a chat model for text or for a typed object. Subclasses set the flags."""

    name: str = "offline"
    is_offline: bool = True
    can_stream: bool = False
    supports_schema: bool = False
    needs_key: bool = False
    key_env_var: str | None = None

    def text(self, messages: list[Message], *, stream: bool = False) -> Iterator[str]:
        """The reply as text pieces (one piece unless streaming)."""
        raise LLMError("the offline engine has no chat model; use the templates")

    def complete(self, messages: list[Message]) -> str:
        return "".join(self.text(messages))

    def structured(
        self,
        messages: list[Message],
        schema: type[T],
        *,
        validate: Callable[[T], None] | None = None,
    ) -> T:
        """A `schema` instance; `validate` raises ValueError to reject it (and retry)."""
        raise LLMError("the offline engine has no chat model; use the offline grader")


class OfflineProvider(Provider):
    """The deterministic engine: no model, no network. Rounds and grading check `is_offline`."""


class ChatProvider(Provider):
    """A LangChain chat model with bounded retries, backoff and key redaction."""

    is_offline = False
    can_stream = True

    def __init__(
        self,
        model: Any,
        name: str,
        *,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
        key_env_var: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.model = model
        self.name = name
        self.retry = retry or RetryPolicy()
        self.key_env_var = key_env_var
        self.needs_key = key_env_var is not None
        self._secrets = tuple(s for s in secrets if s)
        self.sleep = sleep  # tests record waits instead of sleeping
        self.supports_schema = _has_native_schema(model)
        self.timeouts = 0  # timed-out requests so far; a provider lives for one round
        # OpenAI-compatible streams always end with a finish reason; a stream without one was cut.
        self.require_finish = False

    # -- public -------------------------------------------------------------------------------
    def text(self, messages: list[Message], *, stream: bool = False) -> Iterator[str]:
        """The reply as text pieces. A reply that stops early (see `truncated`) is retried when
        nothing was yielded yet; otherwise it raises TruncatedReply after its pieces."""
        lc = _to_langchain(messages)
        if not stream:
            yield self._with_retries(lambda: self._whole(lc))
            return
        yield from self._stream(lc)

    def structured(
        self,
        messages: list[Message],
        schema: type[T],
        *,
        validate: Callable[[T], None] | None = None,
    ) -> T:
        lc = _to_langchain(messages)
        feedback: list[str] = []

        def once() -> T:
            msgs = lc + _to_langchain([("user", f) for f in feedback[-1:]])
            obj = self._structured_once(msgs, schema)
            try:
                if validate:
                    validate(obj)
            except ValueError as exc:
                feedback.append(
                    f"Your previous reply was rejected: {exc}. Reply again with the JSON object only."
                )
                raise MalformedOutput(str(exc)) from exc
            return obj

        return self._with_retries(once)

    # -- internals ------------------------------------------------------------------------------
    def _structured_once(self, lc: list, schema: type[T]) -> T:
        if self.supports_schema:
            out = self.model.with_structured_output(schema, include_raw=True).invoke(lc)
            if out.get("parsing_error") is not None or out.get("parsed") is None:
                raise MalformedOutput(
                    f"structured output did not parse: {out.get('parsing_error')}"
                )
            parsed = out["parsed"]
            return parsed if isinstance(parsed, schema) else schema.model_validate(parsed)
        return parse_json_reply(_content(self.model.invoke(lc)), schema)

    def _whole(self, lc: list) -> str:
        reply = self.model.invoke(lc)
        text = _content(reply)
        finish = _finish_reason(reply)  # only the token limit: fakes and some servers omit it
        why = truncated(text, finish, require_finish=False) if finish else None
        if why:
            raise TruncatedReply(f"{self.name}: the reply was cut off ({why})")
        return text

    def _stream(self, lc: list) -> Iterator[str]:
        for attempt in range(1, self.retry.attempts + 1):
            self._check_timeouts()
            started, text, finish = False, "", None
            try:
                for chunk in self.model.stream(lc):
                    finish = _finish_reason(chunk) or finish
                    piece = _content(chunk)
                    if piece:
                        started = True
                        text += piece
                        yield piece
                why = truncated(text, finish, require_finish=self.require_finish)
                if why:
                    raise TruncatedReply(f"{self.name}: the reply was cut off ({why})")
                return
            except Exception as exc:  # noqa: BLE001 — classified below
                self._count_timeout(exc)
                if started or not _retryable(exc) or attempt == self.retry.attempts:
                    raise self._error(exc, attempt) from None
                self._check_timeouts()
                self.sleep(self._delay(exc, attempt))

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            self._check_timeouts()
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 — classified below
                self._count_timeout(exc)
                if not _retryable(exc) or attempt == self.retry.attempts:
                    raise self._error(exc, attempt) from None
                self._check_timeouts()
                self.sleep(self._delay(exc, attempt))
        raise AssertionError("unreachable")

    def _count_timeout(self, exc: BaseException) -> None:
        if "timeout" in type(exc).__name__.lower():
            self.timeouts += 1

    def _check_timeouts(self) -> None:
        """After `timeouts_before_offline` timed-out requests the model is not called again:
        the provider turns offline (rounds then use their templates and the offline grader)
        and this one error says so."""
        limit = self.retry.timeouts_before_offline
        if limit and self.timeouts >= limit and not self.is_offline:
            self.is_offline = True
            raise LLMError(
                f"{self.name} timed out {self.timeouts} times (each after "
                f"{self.retry.timeout:g} s); the rest of this round runs offline"
            )
        if self.is_offline:
            raise LLMError(f"{self.name} is not called again in this round (it kept timing out)")

    def _delay(self, exc: BaseException, attempt: int) -> float:
        wait = retry_after_seconds(exc)
        if wait is None:
            wait = self.retry.base_delay * 2 ** (attempt - 1)
        return min(max(wait, 0.0), self.retry.max_delay)

    def _error(self, exc: BaseException, attempt: int) -> LLMError:
        if isinstance(exc, LLMError):
            return exc
        kind = describe_failure(exc)
        tries = f" after {attempt} attempt{'s' if attempt > 1 else ''}"
        return LLMError(self.redact(f"{self.name}: {kind}{tries}"))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


# -- classification ---------------------------------------------------------------------------
def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        response = getattr(exc, "response", None)
        code = getattr(response, "status_code", None)
    # Some parse failures carry the (successful) response; only error statuses classify.
    return code if isinstance(code, int) and code >= 400 else None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, MissingKeyError):
        return False
    flag = getattr(exc, "is_retryable", None)
    if isinstance(flag, bool):
        return flag
    code = _status(exc)
    if code is not None:
        return code == 429 or code == 408 or code >= 500
    # Malformed replies, timeouts and dropped connections without a status are worth a retry.
    return True


def retry_after_seconds(exc: BaseException, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header on the error's response: delta seconds
    (``"2"``) or an HTTP date (``"Wed, 21 Oct 2025 07:28:00 GMT"``, counted from `now`).

    Anything else (``"soon"``, a negative or non-finite number, a date without a zone) gives
    None, so the caller falls back to its normal backoff: a server's odd header must never be
    what ends a round.
    """
    try:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        if not headers:
            return None
        value = headers.get("retry-after") or headers.get("Retry-After")
    except Exception:  # noqa: BLE001 — an exotic response object is no reason to fail
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:  # RFC 9110 dates are always GMT; no zone = not one
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def describe_failure(exc: BaseException) -> str:
    """A short, key-free reason: 'rate limited (429)', 'timed out', 'malformed output', ..."""
    code = _status(exc)
    name = type(exc).__name__.lower()
    if code == 429 or "ratelimit" in name:
        return "rate limited (429)"
    if code in (401, 403):
        return f"the endpoint refused the key ({code}); check the key variable"
    if code is not None and code >= 500:
        return f"server error ({code})"
    if code is not None:
        return f"request rejected ({code})"
    if "timeout" in name:
        return "timed out"
    if isinstance(exc, TruncatedReply):
        return str(exc).split(": ", 1)[-1]
    if "connection" in name:
        return "could not connect"
    if isinstance(exc, ValueError | ValidationError):
        return "malformed output"
    return f"failed ({type(exc).__name__})"


# -- messages and parsing -------------------------------------------------------------------
def _to_langchain(messages: list[Message]) -> list:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[role](content=content) for role, content in messages]


_SENTENCE_END = re.compile(r"""[.?!:;…)\]"'`*>|]\s*$|```\s*$""")


def truncated(text: str, finish: str | None, *, require_finish: bool = False) -> str | None:
    """Why a reply looks cut off, or None: the token limit, no finish reason where one is
    required, or no finish reason and the text stops mid-sentence.

        >>> truncated("What would you monitor first?", "stop")
        >>> truncated("What would you monitor", None)
        'it stops mid-sentence'
    """
    if finish in ("length", "max_tokens"):
        return "it hit the token limit"
    if finish is None and text.strip():
        if require_finish:
            return "the stream ended without a finish reason"
        if not _SENTENCE_END.search(text):
            return "it stops mid-sentence"
    return None


def _finish_reason(message: Any) -> str | None:
    meta = getattr(message, "response_metadata", None) or {}
    reason = meta.get("finish_reason") or meta.get("stop_reason")
    return str(reason) if reason else None


def _content(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "")


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json_reply(text: str, schema: type[T]) -> T:
    """The first JSON object in a text reply (code fences allowed), validated into `schema`."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise MalformedOutput("no JSON object in the reply")
    try:
        return schema.model_validate(json.loads(body[start : end + 1]))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise MalformedOutput(f"reply is not a valid {schema.__name__}: {exc}") from exc


def _has_native_schema(model: Any) -> bool:
    """Whether the model implements with_structured_output (fakes and some locals do not)."""
    from langchain_core.language_models import BaseChatModel

    method = getattr(type(model), "with_structured_output", None)
    if method is None:
        return False
    if method is not BaseChatModel.with_structured_output:
        return True
    # The base implementation works through bind_tools; only models that override it qualify.
    return getattr(type(model), "bind_tools", None) is not BaseChatModel.bind_tools


# -- construction -----------------------------------------------------------------------------
def get_provider(
    spec: str | None = "offline", *, retry: RetryPolicy | None = None, **model_kwargs: Any
) -> Provider:
    """The provider a spec string names; raises LLMError (with a fix) when it cannot be built."""
    spec = (spec or "offline").strip()
    if spec == "offline":
        return OfflineProvider()
    retry = retry or RetryPolicy.from_env()
    if spec.startswith(("http://", "https://")):
        return _openai_compatible(spec, retry, model_kwargs)
    if ":" not in spec:
        raise LLMError(
            f"Unknown LLM spec {spec!r}: use 'offline', 'provider:model' (e.g. openai:gpt-4o-mini,"
            " ollama:llama3.1) or an OpenAI-compatible base URL (http://host:port/v1?model=NAME)."
        )
    provider, model = spec.split(":", 1)
    return _langchain_model(provider, model, retry, model_kwargs)


def _langchain_model(provider: str, model: str, retry: RetryPolicy, kwargs: dict) -> ChatProvider:
    from langchain.chat_models import init_chat_model

    env_var = KEY_ENV_VARS.get(provider)
    key = resolve_key(env_var, provider=provider) if env_var else None
    extra = dict(kwargs)
    if key:
        extra["api_key"] = key
    try:
        chat = init_chat_model(
            model, model_provider=provider, timeout=retry.timeout, max_retries=0, **extra
        )
    except ImportError as exc:
        package = PACKAGES.get(provider, f"langchain-{provider.replace('_', '-')}")
        raise LLMError(
            f"The {provider} integration is not installed: pip install {package}, "
            "or run with --llm offline."
        ) from exc
    except ValueError as exc:
        raise LLMError(f"Cannot build {provider}:{model}: {exc}") from exc
    return ChatProvider(
        chat, f"{provider}:{model}", retry=retry, secrets=(key or "",), key_env_var=env_var
    )


def _openai_compatible(spec: str, retry: RetryPolicy, kwargs: dict) -> ChatProvider:
    from langchain_openai import ChatOpenAI

    parts = urlsplit(spec)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    model = query.get("model", "default")
    env_var = query.get("key_env") or query.get("key-env")
    if env_var:
        check_key_env(env_var)
    host = parts.hostname or ""
    key = resolve_key(env_var, provider=host) if env_var else None
    netloc = host + (f":{parts.port}" if parts.port else "")  # drop any user:password@
    base_url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    chat = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=key or "not-needed",
        timeout=retry.timeout,
        max_retries=0,
        **kwargs,
    )
    secrets = (key or "", parts.password or "")
    provider = ChatProvider(
        chat, f"{base_url} ({model})", retry=retry, secrets=secrets, key_env_var=env_var
    )
    provider.require_finish = True
    return provider


def from_chat_model(model: Any, name: str = "chat-model", **kwargs: Any) -> ChatProvider:
    """Wrap an already-built LangChain chat model (a fake in tests, or one the UI built)."""
    return ChatProvider(model, name, **kwargs)


# Query parameters that carry a credential rather than name one (`key_env` names a variable).
_CREDENTIAL_PARAM = re.compile(
    r"(^|[_-])(api[_-]?key|key|token|secret|password|passwd|pwd|auth|authorization|"
    r"credentials?|sig|signature|bearer)$|^(access|refresh|id)[_-]?token$",
    re.IGNORECASE,
)
_CREDENTIAL_TEXT = re.compile(r"\b(sk|pk|rk|xox[abp]|gh[pousr]|hf)[-_][A-Za-z0-9_\-]{8,}")


def safe_spec(spec: str | None) -> str:
    """The spec as it may be stored or shown: a URL loses any user:password@ and every
    credential-like query parameter (`api_key=`, `token=`, ...); `model=` and `key_env=` stay.

        >>> safe_spec("http://u:pw@127.0.0.1:8000/v1?model=x&api_key=sk-abc123456789")
        'http://127.0.0.1:8000/v1?model=x'
    """
    from urllib.parse import parse_qsl, urlencode

    spec = (spec or "offline").strip()
    if spec.startswith(("http://", "https://")):
        parts = urlsplit(spec)
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        kept = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() in ("key_env", "key-env") or not _CREDENTIAL_PARAM.search(k)
        ]
        query = urlencode([(k, _CREDENTIAL_TEXT.sub("***", v)) for k, v in kept], safe=":/*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return _CREDENTIAL_TEXT.sub("***", spec)
