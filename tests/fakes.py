"""Fakes every test can use: a scripted LangChain chat model and a local OpenAI server.

- `ScriptedChatModel`: a GenericFakeChatModel whose replies are queued with `.enqueue(...)`
  (strings, or exceptions to raise) and whose `.history` keeps every message list it was sent.
- `FakeOpenAIServer`: a tiny OpenAI-compatible chat server on 127.0.0.1 serving scripted replies.
  Tests queue replies (`server.enqueue(...)`) and then drive the real client code against
  `server.base_url`; every request body and header set is kept in `server.requests`.
  Reply kinds: text, stream (SSE), cut (a stream that stops early), status (429 with
  Retry-After, 500, 401), slow, malformed.

The fixtures `scripted` and `openai_server` (tests/conftest.py) hand them out; tests import the
reply builders (`from tests.fakes import status, stream`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel


class _Queue:
    """An iterator that can be appended to; an exception in it is raised when reached."""

    def __init__(self) -> None:
        self.items: deque = deque()

    def __iter__(self):
        return self

    def __next__(self):
        if not self.items:
            raise AssertionError("the scripted chat model was called with no reply queued")
        item = self.items.popleft()
        if isinstance(item, BaseException):
            raise item
        return item


class ScriptedChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that records what it was sent and takes replies as they are queued."""

    history: list = []
    queue: _Queue | None = None

    @classmethod
    def create(cls) -> ScriptedChatModel:
        queue = _Queue()
        return cls(messages=queue, queue=queue, history=[])

    def enqueue(self, *replies) -> ScriptedChatModel:
        self.queue.items.extend(replies)
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.history.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def sent_text(self, call: int = -1) -> str:
        """Everything sent in one call, joined: what a test asserts on."""
        return "\n".join(str(m.content) for m in self.history[call])


@dataclass
class Reply:
    kind: str = "text"  # text · stream · cut · status · slow · malformed
    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def text(content: str) -> Reply:
    return Reply("text", content)


def stream(content: str) -> Reply:
    return Reply("stream", content)


def status(code: int, retry_after: str | None = None, body: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply("status", body or "", status=code, headers=headers)


def slow(content: str, delay: float) -> Reply:
    return Reply("slow", content, delay=delay)


def cut(content: str, finish: str | None = None) -> Reply:
    """A stream that ends early: no finish reason and no [DONE] (or finish="length")."""
    return Reply("cut", content, headers={"finish": finish} if finish else {})


def malformed() -> Reply:
    """A 200 whose body is not JSON at all."""
    return Reply("malformed")


def _completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class FakeOpenAIServer:
    """Chat completions over real HTTP from a queue of scripted replies; keeps every request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._lock:
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(raw)}
                    )
                    reply = (
                        server.replies.popleft() if server.replies else text("(no reply queued)")
                    )
                server._serve(self, reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, *replies: Reply | str) -> None:
        with self._lock:
            self.replies.extend(text(r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.requests.clear()

    def start(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _send(handler, code: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        handler.send_response(code)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        # The client may have given up (timeout): that is the point of a slow reply.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(body)

    def _serve(self, handler, reply: Reply) -> None:
        if reply.kind == "slow":
            time.sleep(reply.delay)
        if reply.kind in ("text", "slow"):
            body = json.dumps(_completion(reply.content)).encode()
            self._send(handler, 200, body, "application/json")
        elif reply.kind == "status":
            err = {"error": {"message": reply.content or f"scripted {reply.status}", "type": "x"}}
            self._send(
                handler, reply.status, json.dumps(err).encode(), "application/json", reply.headers
            )
        elif reply.kind == "malformed":
            self._send(handler, 200, b'{"id": "chatcmpl-test", "choices": [', "application/json")
        elif reply.kind in ("stream", "cut"):
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Connection", "close")
            handler.end_headers()
            words = reply.content.split(" ")
            parts = [_chunk({"role": "assistant", "content": ""})]
            parts += [
                _chunk({"content": w + (" " if i < len(words) - 1 else "")})
                for i, w in enumerate(words)
            ]
            if reply.kind == "stream":
                parts += [_chunk({}, "stop"), b"data: [DONE]\n\n"]
            elif reply.headers.get("finish"):
                parts += [_chunk({}, reply.headers["finish"]), b"data: [DONE]\n\n"]
            for part in parts:
                handler.wfile.write(part)
                handler.wfile.flush()
            handler.close_connection = True
