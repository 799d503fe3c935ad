"""The study plan: weighted by weakness at topic level, sane at the edges, friendly at the CLI."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from mockloop import plan as planning
from mockloop.bank import load_bank
from mockloop.cli import app
from mockloop.config import Settings
from mockloop.db import connect

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
START = date(2026, 3, 6)  # three days after the last session
WEAK = ["calibration", "dropout", "optimization", "regularization"]


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture
def conn():
    return connect(Settings.from_env())


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    """`mockloop plan` writes plan.md / plan.ics to the current folder by default: keep it tmp."""
    monkeypatch.chdir(tmp_path)


def run_sessions(conn, questions, score_of, *, sessions=4, per=5, at=T0):
    """Store graded sessions the way a round does: one session row, then a grade per answer."""
    for s in range(sessions):
        sid = uuid.uuid4().hex[:10]
        started = at + timedelta(days=s // 2, hours=s % 2)  # two sessions a day
        conn.execute(
            "INSERT INTO sessions (id, round, llm, started_at) VALUES (?, 'breadth', 'offline', ?)",
            (sid, started.isoformat()),
        )
        for k in range(per):
            question = questions[(s * per + k) % len(questions)]
            conn.execute(
                "INSERT INTO grades (session_id, question_id, round, topic, rubric_version, grader,"
                " overall, hire_signal, grade, created_at)"
                " VALUES (?, ?, ?, ?, '1', 'offline', ?, 'hire', '{}', ?)",
                (
                    sid,
                    question.id,
                    question.round,
                    question.topic,
                    score_of(question.topic),
                    (started + timedelta(minutes=3 * k)).isoformat(),
                ),
            )
    conn.commit()


def one_per_topic(questions, topics):
    seen, out = set(), []
    for q in questions:
        if q.topic in topics and q.topic not in seen:
            seen.add(q.topic)
            out.append(q)
    return out


def slots(the_plan, round_name="breadth") -> Counter:
    return Counter(
        t for d in the_plan.days for b in d.blocks if b.round == round_name for t in b.topics
    )


def first_day(the_plan, topic) -> int:
    return next(i for i, d in enumerate(the_plan.days) for b in d.blocks if topic in b.topics)


def make(conn, bank, **kw):
    args = dict(
        until=START + timedelta(days=14),
        hours_per_day=2,
        rounds=["breadth", "mlsd"],
        start=START,
        now=datetime.combine(START, datetime.min.time(), UTC),
    )
    return planning.make_plan(conn, bank.questions, **{**args, **kw})


def test_reviewers_scenario_weak_topics_open_the_plan_and_get_more_slots(conn, bank):
    """Sessions leave four breadth topics at "no clue" and every other breadth topic "solid"."""
    breadth = bank.for_round("breadth")
    topics = sorted({q.topic for q in breadth})
    assert set(WEAK) <= set(topics)
    answered = one_per_topic(breadth, topics)
    # enough sessions that every breadth topic is answered, however many topics the bank holds
    sessions = max(4, -(-len(answered) // 5))
    run_sessions(conn, answered, lambda t: 0.5 if t in WEAK else 4.8, sessions=sessions, per=5)
    the_plan = make(conn, bank)

    days_1_2 = {t for d in the_plan.days[:2] for b in d.blocks for t in b.topics}
    assert set(WEAK) <= days_1_2, days_1_2
    count = slots(the_plan)
    solid = [t for t in topics if t not in WEAK]
    assert min(count[t] for t in WEAK) > max(count[t] for t in solid), count
    assert sum(count[t] for t in WEAK) > sum(count[t] for t in solid)
    # the day's first breadth block names a weak topic, and reviews always come first
    first_breadth = next(b for b in the_plan.days[0].blocks if b.round == "breadth")
    assert first_breadth.topics[0] in WEAK
    for d in the_plan.days:
        if any(b.round == "review" for b in d.blocks):
            assert d.blocks[0].round == "review"
    md = planning.to_markdown(the_plan)
    assert "## Topic focus over the plan" in md and f"{WEAK[0]} ×{count[WEAK[0]]} (no clue)" in md


def test_never_practised_topics_sit_between_weak_and_solid(conn, bank):
    breadth = bank.for_round("breadth")
    topics = sorted({q.topic for q in breadth})
    solid = [t for t in topics if t not in WEAK][:5]
    never = [t for t in topics if t not in WEAK and t not in solid]
    run_sessions(conn, one_per_topic(breadth, WEAK + solid), lambda t: 0.8 if t in WEAK else 4.6)
    the_plan = make(conn, bank, rounds=["breadth"])
    count = slots(the_plan)
    assert min(count[t] for t in WEAK) > max(count[t] for t in never)
    assert min(count[t] for t in never) >= max(count[t] for t in solid)
    assert sum(count[t] for t in never) > sum(count[t] for t in solid)
    # weak topics are named before any never-practised one, and those before any solid one
    assert max(first_day(the_plan, t) for t in WEAK) <= min(first_day(the_plan, t) for t in never)
    named_solid = [first_day(the_plan, t) for t in solid if count[t]]
    assert all(d >= min(first_day(the_plan, t) for t in never) for d in named_solid)


def test_the_question_mix_moves_never_practised_topics(conn, bank):
    breadth = bank.for_round("breadth")
    topics = sorted({q.topic for q in breadth})
    gaps = topics[:4]  # measured at "has gaps"
    run_sessions(conn, one_per_topic(breadth, gaps), lambda t: 3.0)
    never = [t for t in topics if t not in gaps]
    default = slots(make(conn, bank, rounds=["breadth"]))
    new_heavy = slots(make(conn, bank, rounds=["breadth"], question_mix={"weak": 1, "new": 3}))
    assert sum(default[t] for t in gaps) / 4 > sum(default[t] for t in never) / len(never)
    assert sum(new_heavy[t] for t in gaps) / 4 < sum(new_heavy[t] for t in never) / len(never)


def test_reviews_beyond_the_days_time_never_overrun_it(conn, bank):
    """--hours-per-day 0.2 with 20 reviews due: every day fits in 12 minutes, none left empty."""
    breadth = bank.for_round("breadth")
    run_sessions(conn, breadth[:20], lambda t: 0.5, sessions=4, per=5)  # all due the next day
    the_plan = make(conn, bank, hours_per_day=0.2, until=START + timedelta(days=6))
    for d in the_plan.days:
        assert d.blocks, d
        assert all(b.minutes > 0 for b in d.blocks)
        assert sum(b.minutes for b in d.blocks) <= 12
    assert the_plan.days[0].blocks[0].round == "review" and the_plan.days[0].blocks[0].reviews
    # short days take turns between the rounds rather than always the same one
    assert len({d.blocks[0].round for d in the_plan.days if d.blocks[0].round != "review"}) == 2


def test_reviews_get_at_most_the_due_share_of_a_day(conn, bank):
    run_sessions(conn, bank.for_round("breadth")[:20], lambda t: 0.5)
    day = make(conn, bank, hours_per_day=2).days[0]
    assert day.blocks[0].round == "review" and day.blocks[0].reviews == 20
    assert day.blocks[0].minutes <= 120 * 2 / 5  # 2:2:1 → at most 2/5 of the day
    assert sum(b.minutes for b in day.blocks) <= 120
    no_due = make(conn, bank, hours_per_day=2, question_mix={"due": 0, "weak": 1, "new": 1})
    assert all(b.round != "review" for b in no_due.days[0].blocks)


@pytest.mark.parametrize("hours", [16.5, 30])
def test_absurd_hours_are_refused(conn, bank, hours):
    with pytest.raises(ValueError, match="at most 16"):
        make(conn, bank, hours_per_day=hours)


def _plan_args(*extra):
    until = (date.today() + timedelta(days=3)).isoformat()
    return ["plan", "--until", until, "--hours-per-day", "1", *extra]


def test_cli_creates_missing_output_folders(tmp_path):
    runner = CliRunner()
    md, ics = tmp_path / "new" / "deeper" / "plan.md", tmp_path / "cal" / "plan.ics"
    result = runner.invoke(app, _plan_args("--out", str(md), "--ics", str(ics)))
    assert result.exit_code == 0, result.output
    assert md.read_text().startswith("# Preparation plan") and b"BEGIN:VEVENT" in ics.read_bytes()
    report = tmp_path / "reports" / "today" / "progress.html"
    result = runner.invoke(app, ["progress", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert report.read_text().count("data:image/png;base64") == 3


def test_cli_unwritable_output_is_one_line_not_a_traceback(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    runner = CliRunner()
    result = runner.invoke(app, _plan_args("--out", str(blocker / "plan.md")))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot write" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["progress", "--report", str(blocker / "p.html")])
    assert result.exit_code == 1 and "cannot write" in result.output
    assert isinstance(result.exception, SystemExit)


def test_cli_refuses_absurd_hours_and_bad_mix(tmp_path):
    runner = CliRunner()
    until = (date.today() + timedelta(days=3)).isoformat()
    result = runner.invoke(app, ["plan", "--until", until, "--hours-per-day", "30"])
    assert result.exit_code == 2 and "at most 16" in result.output
    result = runner.invoke(app, _plan_args("--mix", "2:two:1"))
    assert result.exit_code == 2 and "e.g. 2:2:1" in result.output


def test_cli_mix_option_and_env_reach_the_plan(tmp_path, monkeypatch):
    runner = CliRunner()
    md = tmp_path / "plan.md"
    result = runner.invoke(app, _plan_args("--mix", "1:3:0.5", "--out", str(md)))
    assert result.exit_code == 0, result.output
    assert "mix due 1 : weak 3 : new 0.5" in md.read_text()
    monkeypatch.setenv("MOCKLOOP_QUESTION_MIX", "0:1:1")
    result = runner.invoke(app, _plan_args("--out", str(md)))
    assert result.exit_code == 0, result.output
    assert "mix due 0 : weak 1 : new 1" in md.read_text()


def test_the_plan_names_the_level_to_practise_each_topic_at(conn, bank):
    """A topic answered at level 3 with 2.5 stays at level 3; one answered weakly at level 2
    drops to 1; a topic never practised is practised at level 2."""
    from mockloop.models import Grade
    from mockloop.sessions import GradeRecord, SessionLog, Turn

    log = SessionLog(Settings.from_env(), conn=conn)
    breadth = {q.topic: q for q in bank.for_round("breadth")}
    sid = log.create("breadth", "offline", {}, {})
    for topic, level, overall in (("dropout", 3, 2.5), ("calibration", 2, 1.0)):
        q = breadth[topic]
        grade = Grade(
            question_id=q.id,
            rubric_version="1",
            grader="offline",
            overall=overall,
            hire_signal="no hire",
        )
        turn = Turn("interviewer", "feedback", "…", q.id, {"level": level})
        log.write(sid, turns=[turn], grade=GradeRecord(q, grade), round_name="breadth")
    p = planning.make_plan(
        conn,
        bank.questions,
        until=START + timedelta(days=6),
        hours_per_day=2,
        rounds=["breadth"],
        start=START,
        now=T0,
    )
    assert p.levels["dropout"] == 3 and p.levels["calibration"] == 1
    untouched = next(t for t in p.levels if t not in ("dropout", "calibration"))
    assert p.levels[untouched] == 2
    md = planning.to_markdown(p)
    assert "dropout ×" in md and "(has gaps) at level 3" in md
    titles = [b.title for d in p.days for b in d.blocks]
    assert any("calibration (level 1)" in t for t in titles)


def test_deep_dive_does_not_fill_every_day(conn, bank):
    """Deep-dive has one topic (project): with every round planned it takes turns, not 15 days."""
    the_plan = make(conn, bank, rounds=None)
    rounds_by_day = [{b.round for b in d.blocks} for d in the_plan.days]
    deep_dive_days = sum("deep-dive" in r for r in rounds_by_day)
    assert 0 < deep_dive_days < len(the_plan.days) - 1, rounds_by_day
    # every round still gets its turns, and no day is cut into 15-minute scraps of every round
    assert set().union(*rounds_by_day) >= set(the_plan.rounds)
    assert all(b.minutes >= planning.MIN_BLOCK for d in the_plan.days[:-1] for b in d.blocks)


def test_a_topic_just_studied_from_the_users_notes_is_planned(conn, bank):
    """A question derived from a note has a topic no bank question has; answered with gaps, the
    plan names it, and early."""
    from types import SimpleNamespace

    derived = SimpleNamespace(id="note.pangolin", round="breadth", topic="pangolin-attention")
    assert all(q.topic != derived.topic for q in bank.questions)
    run_sessions(conn, [derived], lambda t: 3.1, sessions=1, per=1)
    the_plan = make(conn, bank, rounds=None)
    assert first_day(the_plan, "pangolin-attention") <= 2
    assert ("pangolin-attention", "has gaps") in [
        (t, level) for t, level, *_ in the_plan.focus["breadth"]
    ]


ZONE = "America/New_York"


def _events(ics: bytes | str):
    import icalendar

    cal = icalendar.Calendar.from_ical(ics)
    return cal, list(cal.walk("VEVENT"))


def test_ics_events_carry_the_users_time_zone(conn, bank):
    from zoneinfo import ZoneInfo

    the_plan = make(conn, bank, until=START + timedelta(days=2))
    cal, events = _events(planning.to_ics(the_plan, tz=ZoneInfo(ZONE)))
    assert len(events) == sum(len(d.blocks) for d in the_plan.days)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [ZONE]
    first = events[0]["DTSTART"].dt
    assert first.tzinfo.key == ZONE and (first.date(), first.hour) == (START, 18)
    # 18:00 in New York in March 2026 (EST, before the 8 March switch) is 23:00 UTC
    assert first.astimezone(UTC).hour == 23
    assert all(e["DTEND"].dt.tzinfo.key == ZONE for e in events)


def test_the_calendar_zone_is_the_systems_unless_named(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert planning.local_zone().key == "Asia/Tokyo"
    result = runner.invoke(app, _plan_args("--ics", str(tmp_path / "sys.ics")))
    assert result.exit_code == 0, result.output
    _, events = _events((tmp_path / "sys.ics").read_bytes())
    assert events[0]["DTSTART"].dt.tzinfo.key == "Asia/Tokyo"
    result = runner.invoke(app, _plan_args("--tz", ZONE, "--ics", str(tmp_path / "ny.ics")))
    assert result.exit_code == 0, result.output
    _, events = _events((tmp_path / "ny.ics").read_bytes())
    assert events[0]["DTSTART"].dt.tzinfo.key == ZONE
    result = runner.invoke(app, _plan_args("--tz", "Mars/Olympus"))
    assert result.exit_code == 2 and "unknown time zone" in result.output
