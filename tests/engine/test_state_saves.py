"""The resume state is saved as what changed: each graded result once, the plan when it moves,
the summary once and without the grades the state already holds; a resumed round, including
one saved whole before this (db.m004), sees exactly the state it left."""

from __future__ import annotations

import json

import pytest

from mockloop.config import Settings
from mockloop.db import connect
from mockloop.rounds import resume_round, start_round
from mockloop.sessions import SessionLog

DATA = (
    "Training examples are logged impressions joined with engagement labels. Labels from "
    "clicks are biased by position, so I log the position shown."
)
GOALS = "The business goal is long-term engagement rather than raw clicks."
METRICS = "Offline I'd track AUC and log loss per head; online, time spent."


@pytest.fixture
def start(tiny_bank, notes_retriever, clock):
    def _start(round_name, **kw):
        return start_round(
            round_name,
            Settings.from_env(),
            bank=tiny_bank,
            retriever=notes_retriever,
            clock=clock,
            seed=0,
            **kw,
        )

    return _start


@pytest.fixture
def resume(tiny_bank, notes_retriever, clock):
    def _resume(session_id):
        return resume_round(
            session_id, Settings.from_env(), bank=tiny_bank, retriever=notes_retriever, clock=clock
        )

    return _resume


@pytest.fixture
def writes(monkeypatch) -> list[dict]:
    """Every SessionLog.write's keyword arguments, in order."""
    seen: list[dict] = []
    real = SessionLog.write

    def spy(self, session_id, **kw):
        seen.append(kw)
        return real(self, session_id, **kw)

    monkeypatch.setattr(SessionLog, "write", spy)
    return seen


def finish(s, answers=(DATA, GOALS, METRICS)) -> None:
    """Answer every question (follow-ups included) until the round ends."""
    s.begin()
    for i in range(12):
        if s.finished:
            return
        s.answer(answers[i % len(answers)])
    raise AssertionError("the round did not end")


def dumped(s) -> dict:
    return s.state.model_dump(mode="json")


def test_each_result_and_the_summary_are_written_once(start, writes):
    s = start("mlsd", feedback="end")
    finish(s)
    results = [i for w in writes for i in w["parts"]["results"].rows]
    assert sorted(results) == list(range(len(s.state.results))) and len(results) >= 2
    deferred = [i for w in writes for i in w["parts"]["deferred"].rows]
    assert sorted(deferred) == list(range(len(s.state.deferred)))
    assert all(not {"results", "deferred", "summary", "items"} & set(w["state"]) for w in writes)
    summaries = [w["parts"]["summary"].rows[0] for w in writes if w["parts"]["summary"].rows]
    assert len(summaries) == 1
    assert '"items"' not in summaries[0] and '"deferred"' not in summaries[0]
    # The whole-question grade: in its feedback turn and the grades table, and the saved
    # summary; the summary turn lists no grades again.
    (summary_turn,) = [t for t in SessionLog().turns(s.session_id) if t.kind == "summary"]
    assert "finals" not in summary_turn.meta["summary"]
    assert "items" not in summary_turn.meta["summary"]


def test_the_plan_is_written_when_it_moves(start, writes):
    s = start("mlsd")
    s.begin()
    items = [w["parts"]["items"].rows for w in writes]
    assert len(items[0]) == len(s.state.items)  # the first write of a session: everything
    before = [i.question.id for i in s.state.items]
    s.goto("data")  # the data stage moves to the cursor
    after = [i.question.id for i in s.state.items]
    moved = writes[-1]["parts"]["items"].rows
    assert moved and set(moved) == {
        i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b
    }
    s.hint()  # nothing in the plan moves
    assert writes[-1]["parts"]["items"].rows == {}


@pytest.mark.parametrize("stop_after", [1, 2, None])
def test_a_resumed_round_sees_the_state_it_left(start, resume, stop_after):
    s = start("mlsd", feedback="end")
    if stop_after is None:
        finish(s)
    else:
        s.begin()
        s.goto("data")
        for answer in [DATA, GOALS][:stop_after]:
            s.answer(answer)
    again = resume(s.session_id)
    assert dumped(again) == dumped(s)
    if stop_after is not None:  # and goes on writing only what changes from there
        again.begin()
        again.answer(METRICS)
        assert dumped(resume(s.session_id)) == dumped(again)


def test_a_state_saved_whole_before_parts_existed_still_resumes(start, resume):
    s = start("breadth", n=2)
    s.begin()
    s.answer("Adam keeps running averages of the gradients and of their squares.")
    conn = connect(Settings.from_env())
    with conn:  # as a session written before db.m004 looks
        conn.execute(
            "UPDATE sessions SET state = ? WHERE id = ?",
            (json.dumps(dumped(s)), s.session_id),
        )
        conn.execute("DELETE FROM session_parts WHERE session_id = ?", (s.session_id,))
    again = resume(s.session_id)
    assert dumped(again) == dumped(s)
    again.begin()
    while not again.finished:
        again.answer("L2 shrinks the weights toward zero.")
    assert dumped(resume(s.session_id)) == dumped(again)
