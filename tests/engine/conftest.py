"""Fakes for the interview engine: a scripted LangChain chat model and a local OpenAI server.

- `scripted`: a GenericFakeChatModel whose replies are queued with `.enqueue(...)` (strings, or
  exceptions to raise) and whose `.history` keeps every message list it was sent.
- `openai_server`: a real HTTP server on 127.0.0.1 (free port) speaking the chat-completions
  protocol with scripted replies; see fake_openai.py.
"""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeOpenAIServer  # noqa: E402


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


@pytest.fixture
def scripted() -> ScriptedChatModel:
    return ScriptedChatModel.create()


@pytest.fixture(scope="session")
def _server():
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(_server) -> FakeOpenAIServer:
    _server.reset()
    yield _server
    _server.reset()


class FakeRetriever:
    """Retriever stand-in over a few hand-written chunks: ranks by shared words, `.get` by id."""

    def __init__(self, hits) -> None:
        self.hits = {h.chunk_id: h for h in hits}
        self.queries: list[str] = []

    def search(self, query, k=5, *, mode="hybrid", tags=None, source=None, mmr=False):
        self.queries.append(query)
        words = set(query.lower().split())
        ranked = sorted(
            (h for h in self.hits.values() if source is None or h.source.startswith(source)),
            key=lambda h: -len(words & set(h.text.lower().split())),
        )
        return [h.model_copy(update={"score": 1.0 / (i + 1)}) for i, h in enumerate(ranked[:k])]

    def get(self, chunk_id):
        return self.hits.get(chunk_id)


@pytest.fixture
def fake_retriever() -> FakeRetriever:
    from mockloop.models import Hit

    return FakeRetriever(
        [
            Hit(
                chunk_id="c-adam",
                text="Adam keeps running means of the gradient and its square: momentum plus "
                "per-parameter adaptive learning rates, with bias correction early on.",
                source="ml-breadth/optimizers.md",
                heading_path=["Optimizers", "Adam"],
                tags=["optimization"],
            ),
            Hit(
                chunk_id="c-sgd",
                text="Plain SGD with momentum often generalises better than Adam on image "
                "classification, which is why many vision recipes still use it.",
                source="ml-breadth/optimizers.md",
                heading_path=["Optimizers", "SGD vs Adam"],
                tags=["optimization"],
            ),
            Hit(
                chunk_id="c-pos-bias",
                text="Position bias: clicks over-represent top slots, so labels from clicks need "
                "inverse propensity weighting or a position feature dropped at serving time.",
                source="ranking/position-bias.md",
                heading_path=["Position bias"],
                tags=["ranking"],
            ),
        ]
    )
