"""Progress: FSRS cards derived from grades, mastery, question order, reports and plans."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Rating
from typer.testing import CliRunner

from mockloop import plan as planning
from mockloop import progress
from mockloop.cli import app
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.models import Question
from mockloop.reports.progress import progress_html

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def q(qid: str, topic: str, rnd: str = "breadth") -> Question:
    return Question(id=qid, round=rnd, topic=topic, prompt=f"prompt {qid}")


def record(conn, question: Question, overall: float, at: datetime, session: str | None = None):
    """Store a grade the way a round does (a session row, then the grade row)."""
    session = session or uuid.uuid4().hex
    conn.execute(
        "INSERT OR IGNORE INTO sessions (id, round, llm, started_at) VALUES (?, ?, 'offline', ?)",
        (session, question.round, at.isoformat()),
    )
    conn.execute(
        "INSERT INTO grades (session_id, question_id, round, topic, rubric_version, grader, overall,"
        " hire_signal, grade, created_at) VALUES (?, ?, ?, ?, '1', 'offline', ?, 'hire', '{}', ?)",
        (session, question.id, question.round, question.topic, overall, at.isoformat()),
    )
    conn.commit()


@pytest.fixture
def conn():
    return connect(Settings.from_env())


@pytest.mark.parametrize(
    "overall, rating",
    [
        (0, Rating.Again),
        (1.99, Rating.Again),
        (2, Rating.Hard),
        (2.9, Rating.Hard),
        (3, Rating.Good),
        (3.99, Rating.Good),
        (4, Rating.Easy),
        (5, Rating.Easy),
    ],
)
def test_grade_to_rating_mapping(overall, rating):
    assert progress.rating_for(overall) == rating


@pytest.mark.parametrize(
    "score, level",
    [
        (None, "not practised"),
        (0.0, "no clue"),
        (1.49, "no clue"),
        (1.5, "shaky"),
        (2.6, "has gaps"),
        (3.49, "has gaps"),
        (3.5, "solid"),
        (5, "solid"),
    ],
)
def test_mastery_levels(score, level):
    assert progress.mastery_level(score) == level


def test_mastery_weights_recent_grades_most(conn):
    topic_q = q("breadth.a", "dropout")
    for i, score in enumerate([1, 1, 1, 5, 5]):
        record(conn, topic_q, score, T0 + timedelta(days=i))
    # weights 1..5 → (1+2+3+20+25)/15 = 3.4
    assert progress.topic_scores(conn)["dropout"] == pytest.approx(3.4)


def _snapshot(conn):
    return conn.execute(
        "SELECT question_id, card, due, reviews FROM cards ORDER BY question_id"
    ).fetchall()


def test_rebuilding_cards_from_history_gives_the_same_schedule(conn):
    questions = [q(f"breadth.q{i}", f"topic{i % 3}") for i in range(6)]
    for day in range(12):
        for j, question in enumerate(questions[day % 3 :: 2]):
            record(conn, question, (day + j) % 6 * 0.9, T0 + timedelta(days=day, minutes=j))
        if day % 4 == 0:
            progress.sync_cards(conn)  # incremental syncs along the way
    progress.sync_cards(conn)
    incremental = [tuple(r) for r in _snapshot(conn)]
    assert len(incremental) == 6
    progress.rebuild_cards(conn)
    assert [tuple(r) for r in _snapshot(conn)] == incremental


def test_weak_answers_come_back_sooner_than_strong_ones(conn):
    weak, strong = q("breadth.weak", "dropout"), q("breadth.strong", "optimization")
    record(conn, weak, 1.0, T0)
    record(conn, strong, 4.6, T0)
    progress.sync_cards(conn)
    due = {
        r[0]: progress.parse_time(r[1]) for r in conn.execute("SELECT question_id, due FROM cards")
    }
    assert due["breadth.weak"] - T0 == timedelta(days=1)
    assert due["breadth.strong"] - T0 > timedelta(days=5)


def test_order_puts_due_reviews_then_weak_topics_then_new(conn):
    seen_weak = q("breadth.seen-weak", "dropout")
    unseen_weak_topic = q("breadth.other-dropout", "dropout")
    seen_strong = q("breadth.seen-strong", "optimization")
    new = q("breadth.new", "calibration")
    record(conn, seen_weak, 0.5, T0)
    record(conn, seen_strong, 5.0, T0)
    order = progress.order_questions(
        conn, [new, seen_strong, unseen_weak_topic, seen_weak], now=T0 + timedelta(days=2)
    )
    assert [x.id for x in order] == [
        "breadth.seen-weak",
        "breadth.other-dropout",
        "breadth.new",
        "breadth.seen-strong",
    ]


def test_mix_weights_interleave_the_buckets(conn):
    dropout = [q(f"breadth.d{i}", "dropout") for i in range(4)]
    fresh = [q(f"breadth.n{i}", "calibration") for i in range(4)]
    record(conn, q("breadth.seed", "dropout"), 1.0, T0)
    order = progress.order_questions(conn, dropout + fresh, now=T0, mix={"weak": 1, "new": 1})
    assert [x.topic for x in order[:4]] == ["dropout", "calibration", "dropout", "calibration"]
    only_new = progress.order_questions(conn, dropout + fresh, now=T0, mix={"weak": 0, "new": 1})
    assert [x.topic for x in only_new[:4]] == ["calibration"] * 4


def test_covered_topics_go_first_among_new_questions(conn):
    a, b = q("breadth.a", "dropout"), q("breadth.b", "calibration")
    order = progress.order_questions(conn, [a, b], now=T0, covered_topics={"calibration"})
    assert [x.id for x in order] == ["breadth.b", "breadth.a"]


def test_thirty_days_of_practice_bring_weak_topics_back_more_often(conn):
    """A candidate weak on dropout and strong on optimization, three questions a day for 30 days."""
    pool = [q(f"breadth.drop{i}", "dropout") for i in range(6)] + [
        q(f"breadth.opt{i}", "optimization") for i in range(6)
    ]
    asked = {"dropout": 0, "optimization": 0}
    for day in range(30):
        now = T0 + timedelta(days=day)
        for n, question in enumerate(progress.order_questions(conn, pool, now=now)[:3]):
            asked[question.topic] += 1
            score = 1.5 + day / 30 if question.topic == "dropout" else 4.5
            record(conn, question, score, now + timedelta(minutes=n), session=f"s{day}")
    assert asked["dropout"] > asked["optimization"] * 1.5
    progress.sync_cards(conn)
    cards = conn.execute("SELECT topic, due FROM cards").fetchall()
    end = T0 + timedelta(days=30)
    weak_due = [progress.parse_time(c["due"]) for c in cards if c["topic"] == "dropout"]
    strong_due = [progress.parse_time(c["due"]) for c in cards if c["topic"] == "optimization"]
    assert max(weak_due) - end < min(strong_due) - end
    next_round = progress.order_questions(conn, pool, now=end)[:3]
    assert [x.topic for x in next_round].count("dropout") >= 2


def test_summary_counts_sessions_trend_and_due(conn):
    a = q("breadth.a", "dropout")
    b = q("nlp.b", "rag", "nlp")
    for day, score in enumerate([1, 2, 3, 4]):
        record(conn, a, score, T0 + timedelta(days=day), session=f"s{day}")
    record(conn, b, 4.5, T0, session="s0")
    summary = progress.summarize(conn, now=T0 + timedelta(days=4))
    rounds = {r.round: r for r in summary.rounds}
    assert rounds["breadth"].sessions == 4 and rounds["breadth"].answers == 4
    assert rounds["breadth"].mean == pytest.approx(2.5)
    assert rounds["breadth"].trend == pytest.approx(2.0)  # (3+4)/2 − (1+2)/2
    topics = {t.topic: t for t in summary.topics}
    assert topics["rag"].mastery == "solid"
    assert topics["dropout"].due_week == 1
    assert summary.total_sessions == 4
    assert json.loads(progress.to_json(summary))["total_answers"] == 5


def test_reports_render_for_empty_single_and_many_sessions(conn):
    empty = progress_html(conn, now=T0)
    assert empty.count("<img") == 3
    record(conn, q("breadth.a", "dropout"), 2.0, T0)
    assert "dropout" in progress_html(conn, now=T0)
    questions = [q(f"breadth.q{i}", f"t{i % 12}") for i in range(40)]
    for i in range(2000):
        record(
            conn,
            questions[i % 40],
            (i * 7) % 51 / 10,
            T0 + timedelta(hours=i),
            session=f"s{i // 5}",
        )
    page = progress_html(conn, now=T0 + timedelta(hours=2000))
    assert "2001 graded answers" in page and page.count("<img") == 3


def test_plan_weights_weak_rounds_and_schedules_reviews(conn):
    weak = q("nlp.a", "rag", "nlp")
    strong = q("breadth.b", "dropout")
    record(conn, weak, 0.5, T0)
    record(conn, strong, 4.8, T0)
    plan = planning.make_plan(
        conn,
        [weak, strong],
        until=date(2026, 3, 9),
        hours_per_day=2,
        rounds=["breadth", "nlp"],
        start=date(2026, 3, 3),
        now=T0,
    )
    assert len(plan.days) == 7
    day1 = plan.days[0]
    assert (
        day1.blocks[0].round == "review" and day1.blocks[0].reviews == 1
    )  # the weak card, due next day
    minutes = {b.round: b.minutes for b in plan.days[1].blocks}
    assert minutes["nlp"] > minutes["breadth"]
    assert all(sum(b.minutes for b in d.blocks) <= 120 for d in plan.days)
    assert plan.days[-1].note.startswith("Full mock loop")
    assert "nlp practice: rag" in planning.to_markdown(plan)


def test_plan_ics_is_valid_icalendar(conn):
    plan = planning.make_plan(
        conn,
        [q("breadth.a", "dropout")],
        until=date(2026, 3, 4),
        hours_per_day=1.5,
        start=date(2026, 3, 3),
        now=T0,
    )
    text = planning.to_ics(plan, stamp=T0)
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(line.encode()) <= 75 for line in lines)
    events = text.count("BEGIN:VEVENT")
    assert events == sum(len(d.blocks) for d in plan.days) > 0
    assert "DTSTART:20260303T180000" in text
    icalendar = pytest.importorskip("icalendar")
    cal = icalendar.Calendar.from_ical(text)
    assert len(cal.walk("VEVENT")) == events


def test_plan_rejects_a_date_in_the_past(conn):
    with pytest.raises(ValueError, match="before"):
        planning.make_plan(
            conn, [], until=date(2026, 3, 1), hours_per_day=1, start=date(2026, 3, 3)
        )


def test_cli_progress_and_plan(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 0 and "No graded answers yet" in result.output
    conn = connect(Settings.from_env())
    record(conn, q("breadth.a", "dropout"), 1.0, datetime.now(UTC) - timedelta(days=2), "s1")
    report = tmp_path / "p.html"
    result = runner.invoke(app, ["progress", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "dropout" in result.output and "no clue" in result.output
    assert report.read_text().count("data:image/png;base64") == 3
    until = (date.today() + timedelta(days=5)).isoformat()
    md, ics = tmp_path / "plan.md", tmp_path / "plan.ics"
    result = runner.invoke(
        app,
        [
            "plan",
            "--until",
            until,
            "--hours-per-day",
            "2",
            "--rounds",
            "breadth,nlp",
            "--out",
            str(md),
            "--ics",
            str(ics),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "6 days planned" in result.output
    assert md.read_text().startswith("# Preparation plan")
    assert ics.read_bytes().count(b"\r\nBEGIN:VEVENT\r\n") >= 6
    bad = runner.invoke(
        app, ["plan", "--until", until, "--hours-per-day", "2", "--rounds", "cooking"]
    )
    assert bad.exit_code != 0 and "unknown round" in bad.output
