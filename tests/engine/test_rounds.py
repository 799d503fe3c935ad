"""The round state machine with a small bank and fake notes, graded by the real offline grader."""

from __future__ import annotations

import json

import pytest

from mockloop.config import Settings
from mockloop.db import connect
from mockloop.rounds import (
    Ask,
    Feedback,
    Hint,
    Notice,
    RoundOver,
    Summary,
    resume_round,
    start_round,
)
from mockloop.rounds.base import RoundSession
from mockloop.rounds.followups import leaks, nearest_point

GOOD_ADAM = (
    "Adam keeps a running average of past gradients, like momentum, and divides each step by a "
    "running average of squared gradients, so each parameter gets its own learning rate. Plain SGD "
    "with momentum often generalises better than Adam on vision tasks."
)
GOOD_L2 = (
    "L2 adds the squared weights to the loss, which shrinks the weights toward zero; smaller weights "
    "give a smoother function with lower variance."
)


@pytest.fixture
def start(tiny_bank, notes_retriever, clock):
    def _start(round_name, **kw):
        kw.setdefault("seed", 0)
        return start_round(
            round_name,
            Settings.from_env(),
            bank=tiny_bank,
            retriever=notes_retriever,
            clock=clock,
            **kw,
        )

    return _start


def kinds(steps):
    return [s.kind for s in steps]


def rows(sql, *args):
    conn = connect(Settings.from_env())
    return [dict(r) for r in conn.execute(sql, args)]


def test_breadth_time_budget_is_shown_and_recorded(start, clock):
    s = start("breadth", n=2)
    (ask,) = s.begin()
    assert isinstance(ask, Ask) and ask.time_budget_s in (60, 90) and ask.total == 2
    clock.advance(ask.time_budget_s + 10)
    steps = s.answer(GOOD_ADAM if ask.question_id == "br.adam" else GOOD_L2)
    fb = steps[0]
    assert isinstance(fb, Feedback) and fb.elapsed_s == ask.time_budget_s + 10
    assert "over time" in fb.text
    answer_turn = rows("SELECT meta FROM turns WHERE kind = 'answer'")[0]
    assert json.loads(answer_turn["meta"])["over_budget"] is True


def test_feedback_each_then_summary(start):
    s = start("breadth", n=2)
    first = s.begin()[0]
    steps = s.answer(GOOD_ADAM if first.question_id == "br.adam" else GOOD_L2)
    assert kinds(steps) == ["feedback", "ask"]
    assert steps[0].grade.overall >= 3.5
    steps = s.answer("no idea")
    assert kinds(steps) == ["feedback", "summary"]
    summary = steps[-1]
    assert [r.question_id for r in summary.items] == [first.question_id, steps[0].question_id]
    assert summary.strongest[0].topic == first.topic
    assert summary.weakest[0].topic == steps[0].topic
    assert s.finished


def test_feedback_at_the_end_is_held_back(start):
    s = start("breadth", n=2, feedback="end")
    s.begin()
    assert kinds(s.answer(GOOD_ADAM)) == ["ask"]
    steps = s.answer(GOOD_L2)
    assert kinds(steps) == ["summary"]
    assert len(steps[0].deferred) == 2 and all(f.grade for f in steps[0].deferred)


def test_every_question_answer_and_grade_is_logged_as_it_happens(start):
    s = start("breadth", n=2)
    s.begin()
    assert [r["kind"] for r in rows("SELECT kind FROM turns ORDER BY idx")] == ["question"]
    s.answer(GOOD_ADAM)
    assert [r["kind"] for r in rows("SELECT kind FROM turns ORDER BY idx")] == [
        "question",
        "answer",
        "feedback",
        "question",
    ]
    grades = rows("SELECT question_id, round, topic, grade FROM grades")
    assert len(grades) == 1 and grades[0]["round"] == "breadth"
    stored = json.loads(grades[0]["grade"])
    assert stored["question_id"] == grades[0]["question_id"] and "criteria" in stored
    s.answer("")
    assert rows("SELECT status FROM sessions")[0]["status"] == "finished"
    assert rows("SELECT kind FROM turns ORDER BY idx DESC LIMIT 1")[0]["kind"] == "summary"


def test_follow_up_targets_a_missed_point_without_leaking(start):
    s = start("nlp", n=1)
    (ask,) = s.begin()
    partial = (
        "LoRA freezes the pretrained weights and learns a low-rank update BA with a small rank."
    )
    steps = s.answer(partial)
    assert kinds(steps) == ["ask"] and steps[0].follow_up
    fu = steps[0].text
    q = s.state.items[0].question
    assert leaks(fu, q) == []
    turn = rows("SELECT meta FROM turns WHERE kind = 'follow_up'")[0]
    meta = json.loads(turn["meta"])
    assert nearest_point(fu, q, Settings.from_env())[0] in meta["missed"]
    steps = s.answer(
        "At deployment the low-rank update is merged into the weights, so no extra latency."
    )
    assert kinds(steps) == ["feedback", "summary"]
    assert steps[0].grade.overall > json.loads(turn["meta"])["grade"]["overall"]


def test_no_follow_up_for_a_strong_or_irrelevant_answer(start):
    s = start("nlp", n=1)
    s.begin()
    assert kinds(s.answer("I like turtles and long walks on the beach.")) == ["feedback", "summary"]


def test_hint_points_at_the_notes_and_is_logged(start):
    s = start("breadth", n=1)
    (ask,) = s.begin()
    hint = s.hint()
    assert isinstance(hint, Hint) and "ml-breadth/" in hint.text
    assert rows("SELECT kind FROM turns WHERE kind = 'hint'")
    s.answer(GOOD_ADAM if ask.question_id == "br.adam" else GOOD_L2)
    assert s.summary().items[0].hints == 1


def test_skip_scores_zero_and_moves_on(start):
    s = start("breadth", n=2)
    s.begin()
    steps = s.skip()
    assert kinds(steps) == ["feedback", "ask"]
    assert steps[0].grade.overall == 0 and "Skipped." in steps[0].grade.notices
    assert rows("SELECT kind FROM turns WHERE kind = 'skip'")


def test_end_early_grades_only_what_was_answered(start):
    s = start("breadth", n=2)
    s.begin()
    s.answer(GOOD_ADAM)
    summary = s.end()
    assert isinstance(summary, Summary) and summary.ended_early and len(summary.items) == 1
    assert len(rows("SELECT id FROM grades")) == 1
    with pytest.raises(RoundOver):
        s.answer("too late")


def test_resume_reshows_the_open_question(start, tiny_bank, notes_retriever, clock):
    s = start("breadth", n=2)
    s.begin()
    s.answer(GOOD_ADAM)
    waiting = s.current
    again = resume_round(
        s.session_id[:6],
        Settings.from_env(),
        bank=tiny_bank,
        retriever=notes_retriever,
        clock=clock,
    )
    (ask,) = again.begin()
    assert ask == waiting
    steps = again.answer(GOOD_L2)
    assert isinstance(steps[-1], Summary) and len(steps[-1].items) == 2


def test_an_answer_saved_before_a_crash_is_graded_on_resume(
    start, tiny_bank, notes_retriever, clock, monkeypatch
):
    s = start("breadth", n=2)
    s.begin()

    def crash(self, question, answer):
        raise KeyboardInterrupt  # the process dies while grading

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(RoundSession, "_grade", crash)
        s.answer(GOOD_ADAM)
    again = resume_round(
        s.session_id, Settings.from_env(), bank=tiny_bank, retriever=notes_retriever, clock=clock
    )
    steps = again.begin()
    assert kinds(steps) == ["feedback", "ask"]
    assert steps[0].grade.overall >= 3.5  # the answer was not lost


def test_mlsd_walks_stages_lets_the_candidate_drive_and_grades_the_whole(start):
    s = start("mlsd")
    (ask,) = s.begin()
    assert "home feed" in ask.text and ask.stage == "Requirements and business objective"
    steps = s.goto("data")
    assert steps[-1].stage == "Data and labels"
    steps = s.answer(
        "Training examples are logged impressions joined with engagement labels. Labels from "
        "clicks are biased by position, so I log the position shown."
    )
    assert kinds(steps)[0] == "feedback"
    steps = s.answer(
        "The business goal is long-term engagement rather than raw clicks, with a latency budget of "
        "a few hundred milliseconds per request. Offline metrics are AUC and log loss for each "
        "engagement head; online the north star is time spent."
    )
    assert any(isinstance(x, Notice) and "already covered" in x.text for x in steps)
    assert isinstance(steps[-1], Summary)
    summary = steps[-1]
    assert [r.stage for r in summary.items] == [
        "Data and labels",
        "Requirements and business objective",
        "Success metrics",
    ]
    assert summary.items[-1].covered_earlier
    assert summary.finals and summary.finals[0].question_id == "mlsd.feed"
    assert [r["question_id"] for r in rows("SELECT question_id FROM grades")] == ["mlsd.feed"]


def test_mlsd_follow_up_points_at_the_notes(start):
    s = start("mlsd")
    s.begin()
    s.goto("data")
    steps = s.answer("Training examples are logged impressions joined with engagement labels.")
    fu = steps[-1]
    assert fu.follow_up and "old ranker" in fu.text  # the bank's follow-up on position bias
    assert fu.note == "Your notes touch on this: ranking/position-bias.md § Position bias"
    assert leaks(fu.text, s.state.parents[0]) == []


def test_deep_dive_presses_a_decision_without_justification(start):
    s = start("deep-dive", project="projects/feed-migration.md")
    (ask,) = s.begin()
    assert "feed multitask migration" in ask.text
    s.answer("The feed lost engagement and product asked us to fix it; I led a team of four.")
    steps = s.answer("We chose a multi-task network. We also switched to a feature store.")
    press = steps[-1]
    assert press.follow_up and "“We chose a multi-task network.”" in press.text


def test_deep_dive_asks_for_a_number_when_impact_has_none(start):
    s = start("deep-dive", project="projects/feed-migration.md")
    s.begin()
    for text in (
        "Engagement dropped and I owned the ranker rewrite for our team.",
        "We compared a bigger single-task model with a multi-task network and picked the multi-task "
        "one because it served every head at the same latency.",
    ):
        while True:
            steps = s.answer(text)
            if not (isinstance(steps[-1], Ask) and steps[-1].follow_up):
                break
            text = "I don't remember more."
    steps = s.answer("It made engagement a lot better and everyone was happy.")
    assert steps[-1].follow_up and "number" in steps[-1].text


def test_behavioral_suggests_the_best_story_and_asks_for_star_gaps(start):
    s = start("behavioral", n=1)
    (ask,) = s.begin()
    assert ask.suggestion and "behavioral/launch-disagreement.md" in ask.suggestion
    steps = s.answer(
        "I disagreed with a teammate about launching a model and I ran a holdout test."
    )
    fu = steps[-1]
    assert fu.follow_up and leaks(fu.text, s.state.items[0].question) == []


def test_unknown_round_and_bad_feedback_are_refused(start):
    with pytest.raises(ValueError, match="unknown round"):
        start("trivia")
    with pytest.raises(ValueError, match="each"):
        start("breadth", feedback="never")
