"""Issue 14: difficulty that follows the answers, follow-ups that listen, counts that are honest."""

from __future__ import annotations

from collections import deque

import pytest

from mockloop.bank import Bank
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.models import Grade, Question
from mockloop.progress import practice_levels, topic_scores
from mockloop.rounds import Summary, count_control, start_round
from mockloop.rounds.base import RoundSession
from mockloop.rounds.followups import TEMPLATES, said_already

TOPICS = ["optimization", "regularization", "trees", "metrics", "clustering", "nlp-basics"]


def _ladder_bank() -> Bank:
    """Breadth questions on six topics, two at each level 1–3."""
    qs = []
    for i, topic in enumerate(TOPICS):
        level = i % 3 + 1
        qs.append(
            Question(
                id=f"lv{level}.{topic}",
                round="breadth",
                topic=topic,
                difficulty=level,
                prompt=f"A level {level} question about {topic}?",
                reference_answer=f"The answer about {topic}.",
            )
        )
    return Bank(qs)


@pytest.fixture
def scripted_grades(monkeypatch):
    """Every answer gets the next overall from the queue, whatever it says (no grader numbers)."""
    queue: deque[float] = deque()

    def fake_grade(self, question, answer):
        overall = queue.popleft()
        return Grade(
            question_id=question.id,
            rubric_version="1",
            grader="scripted",
            overall=overall,
            hire_signal="hire" if overall >= 3.5 else "no hire",
        )

    monkeypatch.setattr(RoundSession, "_grade", fake_grade)
    return queue


def _breadth(n: int):
    return start_round(
        "breadth", Settings.from_env(), n=n, bank=_ladder_bank(), retriever=False, seed=3
    )


def test_next_question_rises_after_a_strong_answer_and_falls_after_a_weak_one(scripted_grades):
    scripted_grades.extend([4.6, 1.2, 1.0, 3.0])
    s = _breadth(4)
    (first,) = s.begin()
    assert first.level == 2  # a round opens in the middle
    second = s.answer("strong")[-1]
    assert second.level == 3
    third = s.answer("weak")[-1]
    assert third.level == 2
    fourth = s.answer("weak again")[-1]
    assert fourth.level == 1
    summary = s.answer("fine")[-1]
    assert isinstance(summary, Summary)
    assert [r.level for r in summary.items] == [2, 3, 2, 1]
    assert len({r.topic for r in summary.items}) == 4  # the level moved, the topics still vary
    assert summary.level == 2  # level 2 averaged (4.6 + 1.2) / 2 ≥ 2; level 3 did not hold
    assert "Difficulty: held at level 2 of 3 (levels asked 2 → 3 → 2 → 1)" in summary.text


def test_the_round_keeps_its_length_and_every_ask_says_it(scripted_grades):
    scripted_grades.extend([5.0, 5.0, 5.0])
    s = _breadth(3)
    asks = [s.begin()[0]]
    for _ in range(2):
        asks.append(s.answer("strong")[-1])
    assert [a.index for a in asks] == [1, 2, 3] and {a.total for a in asks} == {3}
    assert [a.level for a in asks] == [2, 3, 3]
    assert isinstance(s.answer("strong")[-1], Summary)


def test_each_answer_stores_its_level_and_mastery_weighs_it(scripted_grades):
    scripted_grades.extend([4.0, 1.0])
    s = _breadth(2)
    s.begin()
    s.answer("strong")
    s.answer("weak")
    conn = connect(Settings.from_env())
    levels = [t.meta.get("level") for t in s.ctx.log.turns(s.session_id) if t.kind == "feedback"]
    assert levels == [2, 3]
    by_id = {r["question_id"]: r["overall"] for r in conn.execute("SELECT * FROM grades")}
    assert sorted(by_id.values()) == [1.0, 4.0]
    # one answer per topic here: each topic's score is its answer; the plan's level follows it
    levels_next = practice_levels(conn)
    topics = {r.topic: r for r in s.summary().items}
    strong_topic = next(t for t, r in topics.items() if r.grade.overall == 4.0)
    weak_topic = next(t for t, r in topics.items() if r.grade.overall == 1.0)
    assert levels_next[strong_topic] == 3 and levels_next[weak_topic] == 2
    assert topic_scores(conn)[strong_topic] == pytest.approx(4.0)


def test_a_topic_answered_at_a_higher_level_counts_more(scripted_grades):
    bank = Bank(
        [
            Question(
                id=f"q{lv}",
                round="breadth",
                topic="trees",
                difficulty=lv,
                prompt=f"Tree question {lv}?",
                reference_answer="Trees split.",
            )
            for lv in (1, 2)
        ]
    )
    scripted_grades.extend([1.0, 4.0])
    s = start_round("breadth", Settings.from_env(), n=2, bank=bank, retriever=False, seed=0)
    (ask,) = s.begin()
    assert ask.level == 2
    assert s.answer("weak")[-1].level == 1
    s.answer("strong")
    conn = connect(Settings.from_env())
    # 1.0 at level 2 (recency 1) and 4.0 at level 1 (recency 2): (2·1.0 + 2·4.0) / 4 = 2.5;
    # weighed by recency alone it would be (1·1.0 + 2·4.0) / 3 = 3.0
    assert topic_scores(conn)["trees"] == pytest.approx(2.5)


# -- honest controls ----------------------------------------------------------------------------
def test_system_design_walks_as_many_stages_as_asked_for(tiny_bank, notes_retriever, clock):
    s = start_round(
        "mlsd",
        Settings.from_env(),
        n=2,
        bank=tiny_bank,
        retriever=notes_retriever,
        clock=clock,
        seed=0,
    )
    (ask,) = s.begin()
    assert (ask.index, ask.total) == (1, 2)
    assert [i.stage for i in s.state.items] == [
        "Requirements and business objective",
        "Data and labels",  # the heaviest of the rest (weight 2)
    ]
    steps = s.answer("The business goal is long-term engagement rather than raw clicks.")
    while not s.finished:
        steps = s.answer("Training examples are logged impressions joined with labels.")
    summary = steps[-1]
    assert [r.stage for r in summary.items] == [i.stage for i in s.state.items]
    (whole,) = summary.finals  # graded against the two stages asked, not all three
    assert [c.criterion_id for c in whole.grade.criteria] == ["requirements", "data"]


def test_the_questions_control_says_what_it_counts():
    assert count_control("breadth") == ("Questions", True)
    label, applies = count_control("mlsd")
    assert applies and label.startswith("Stages")
    label, applies = count_control("deep-dive")
    assert not applies and "fixed-length" in label


# -- follow-ups that listen ---------------------------------------------------------------------
def test_said_already_hears_a_point_in_other_words():
    point = "Class imbalance is handled with class weights or downsampling, then recalibrated"
    assert said_already(point, "I'd train with class weights and downsampling of negatives.")
    assert not said_already(point, "Gradient-boosted trees on the tabular features.")


def test_a_follow_up_never_asks_what_an_earlier_stage_already_said(
    tiny_bank, notes_retriever, clock
):
    s = start_round(
        "mlsd",
        Settings.from_env(),
        n=3,
        bank=tiny_bank,
        retriever=notes_retriever,
        clock=clock,
        seed=0,
    )
    s.begin()
    steps = s.answer(
        "The business goal is long-term engagement rather than raw clicks. Clicks are biased by "
        "position, so I would log the position each post was shown at."
    )
    while s.current is not None and s.current.follow_up:
        steps = s.answer("I'm not sure.")
    while s.current is not None and s.current.stage != "Data and labels":
        steps = s.answer("Offline AUC and log loss per head; online, time spent.")
    steps = s.answer("Training examples are logged impressions joined with engagement labels.")
    asked = [x for x in steps if getattr(x, "follow_up", False)]
    # without listening, this answer gets the bank's question on position bias (the old ranker)
    assert not any("old ranker" in a.text or "position" in a.text for a in asked)


def test_rapid_fire_asks_one_short_follow_up_on_a_missed_point(start_breadth_adam):
    s, first = start_breadth_adam
    steps = s.answer("Adam keeps a running average of past gradients, like momentum.")
    fu = steps[-1]
    assert fu.kind == "ask" and fu.follow_up and fu.question_id == first.question_id
    assert len(fu.text.split()) <= 14
    steps = s.answer("Not sure.")
    assert steps[-1].kind in ("ask", "summary") and not getattr(steps[-1], "follow_up", False)


@pytest.fixture
def start_breadth_adam(tiny_bank, notes_retriever, clock):
    adam = tiny_bank.get("br.adam")
    bank = Bank([adam])
    s = start_round(
        "breadth", Settings.from_env(), n=1, bank=bank, retriever=notes_retriever, clock=clock
    )
    (first,) = s.begin()
    return s, first


def test_no_follow_up_template_is_a_vague_where_does_it_come_in():
    vague = ("come into", "fit into", "play here")
    for voice, shapes in TEMPLATES.items():
        for shape, texts in shapes.items():
            for t in texts:
                assert not any(v in t for v in vague), (voice, shape, t)
    assert all(len(t.split()) <= 10 for ts in TEMPLATES["rapid"].values() for t in ts)
