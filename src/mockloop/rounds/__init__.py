"""Mock interview rounds: the entry points the terminal and the Gradio app share.

    session = start_round("breadth", settings, n=5, llm="offline", feedback="each")
    for step in session.begin():          # Ask (and Notices)
        ...
    steps = session.answer("my answer")   # Feedback?, Notice*, then the next Ask or a Summary
    session.hint(); session.skip(); session.goto("serving"); session.end()
    session = resume_round(session_id, settings)   # after a crash: re-shows the open question

Each call returns typed steps (rounds.base: Ask, Feedback, Hint, Notice, Summary); the `*_iter`
variants also yield Delta pieces while an LLM streams the interviewer's words.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from mockloop.bank import Bank, load_bank
from mockloop.config import Settings
from mockloop.llm import Provider, get_provider, safe_spec
from mockloop.models import ROUNDS
from mockloop.rounds.base import (
    Ask,
    Context,
    Delta,
    Feedback,
    FeedbackTiming,
    Hint,
    ItemResult,
    Notice,
    RoundConfig,
    RoundOver,
    RoundSession,
    RoundState,
    Step,
    Summary,
    TopicScore,
    render_feedback,
    render_summary,
)
from mockloop.rounds.behavioral import BehavioralRound
from mockloop.rounds.breadth import BreadthRound
from mockloop.rounds.coding import CodingRound
from mockloop.rounds.deep_dive import DeepDiveRound
from mockloop.rounds.mlsd import MlsdRound
from mockloop.rounds.nlp import NlpRound
from mockloop.rounds.ranking import RankingRound
from mockloop.sessions import SessionLog

ROUND_CLASSES: dict[str, type[RoundSession]] = {
    cls.name: cls
    for cls in (
        BreadthRound,
        MlsdRound,
        DeepDiveRound,
        BehavioralRound,
        NlpRound,
        RankingRound,
        CodingRound,
    )
}
assert set(ROUND_CLASSES) == set(ROUNDS), "every round in models.ROUNDS needs a module"

__all__ = [
    "ROUND_CLASSES",
    "Ask",
    "Delta",
    "Feedback",
    "Hint",
    "ItemResult",
    "Notice",
    "RoundOver",
    "RoundSession",
    "Step",
    "Summary",
    "TopicScore",
    "count_control",
    "list_projects",
    "open_retriever",
    "render_feedback",
    "render_summary",
    "resume_round",
    "start_round",
]


def open_retriever(settings: Settings) -> tuple[Any | None, str | None]:
    """(retriever, None) over the user's notes, or (None, why not) when there are none."""
    try:
        from mockloop.retrieval import Retriever

        retriever = Retriever(settings)
        if retriever.store.count() == 0:
            return (
                None,
                "No notes ingested yet: questions come from the bank only (mockloop ingest PATH).",
            )
        return retriever, None
    except Exception as exc:  # noqa: BLE001 — a round works from the bank without notes
        return None, f"Notes unavailable ({exc}); questions come from the bank only."


def _context(settings, provider, retriever, bank, clock, log) -> Context:
    notices = []
    if retriever is None:
        retriever, why = open_retriever(settings)
        if why:
            notices.append(why)
    elif retriever is False:  # explicitly no notes
        retriever = None
    return Context(
        settings=settings,
        log=log or SessionLog(settings),
        provider=provider,
        retriever=retriever,
        bank=bank or load_bank(),
        clock=clock or time.time,
        notices=notices,
    )


def start_round(
    round_name: str,
    settings: Settings | None = None,
    n: int = 5,
    llm: str = "offline",
    feedback: FeedbackTiming = "each",
    *,
    project: str | None = None,
    question_id: str | None = None,
    seed: int | None = None,
    provider: Provider | None = None,
    retriever: Any | None = None,
    bank: Bank | None = None,
    clock: Callable[[], float] | None = None,
    log: SessionLog | None = None,
) -> RoundSession:
    """Plan a round and open its session; call `.begin()` for the first question.

    `llm` is a spec (see mockloop.llm); `provider` overrides it with a ready one (tests, UI).
    `retriever=False` runs without notes; None opens the user's store. Raises ValueError for an
    unknown round or an empty bank, LLMError when the model spec cannot be used.
    """
    if round_name not in ROUND_CLASSES:
        raise ValueError(f"unknown round {round_name!r}; choose one of {', '.join(ROUNDS)}")
    if feedback not in ("each", "end"):
        raise ValueError("feedback must be 'each' or 'end'")
    settings = settings or Settings.from_env()
    provider = provider or get_provider(llm)
    ctx = _context(settings, provider, retriever, bank, clock, log)
    cls = ROUND_CLASSES[round_name]
    config = RoundConfig(
        round=round_name,
        n=max(1, n),
        feedback=feedback,
        llm=safe_spec(llm) if provider.is_offline or llm != "offline" else provider.name,
        seed=seed if seed is not None else random.randrange(1 << 30),
        project=project,
        question_id=question_id,
    )
    state = cls.plan(ctx, config)
    session_id = ctx.log.create(
        round_name, config.llm, config.model_dump(mode="json"), state.model_dump(mode="json")
    )
    return cls(ctx, state, session_id)


def resume_round(
    session_id: str,
    settings: Settings | None = None,
    *,
    provider: Provider | None = None,
    retriever: Any | None = None,
    bank: Bank | None = None,
    clock: Callable[[], float] | None = None,
    log: SessionLog | None = None,
) -> RoundSession:
    """Reopen a session (an id or a unique prefix); `.begin()` re-shows the open question."""
    settings = settings or Settings.from_env()
    log = log or SessionLog(settings)
    full_id = log.resolve(session_id)
    info = log.info(full_id)
    state = RoundState.model_validate(log.state(full_id))
    provider = provider or get_provider(state.config.llm)
    ctx = _context(settings, provider, retriever, bank, clock, log)
    return ROUND_CLASSES[info.round](ctx, state, full_id)


FIXED_LENGTH = frozenset(["deep-dive"])  # walks one question per phase of the project, whatever n


def count_control(round_name: str) -> tuple[str, bool]:
    """(label, whether n applies) for the Questions slider / --n of a round: system design walks
    n stages of one prompt; a project deep dive is a fixed-length round that ignores n."""
    if round_name == "mlsd":
        return "Stages (system design: this many stages of one prompt, up to 10)", True
    if round_name in FIXED_LENGTH:
        return "Questions (not used: a deep dive is a fixed-length round, one per phase)", False
    return "Questions", True


def list_projects(settings: Settings | None = None, retriever: Any | None = None) -> dict[str, str]:
    """Project notes a deep dive can be about: source → title."""
    from mockloop.rounds.notes import NotesIndex

    settings = settings or Settings.from_env()
    if retriever is None:
        retriever, _ = open_retriever(settings)
    return NotesIndex(retriever, settings).projects() if retriever else {}
