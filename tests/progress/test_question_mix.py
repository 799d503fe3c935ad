"""The question mix (due reviews : weakest topics : new) is the user's setting, not a constant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mockloop import progress
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.models import Question
from mockloop.rounds.selection import select_questions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def q(qid: str, topic: str) -> Question:
    return Question(id=qid, round="breadth", topic=topic, prompt=f"prompt {qid}")


def grade(conn, question: Question, overall: float, at: datetime) -> None:
    conn.execute(
        "INSERT INTO grades (session_id, question_id, round, topic, rubric_version, grader, overall,"
        " hire_signal, grade, created_at) VALUES (NULL, ?, ?, ?, '1', 'offline', ?, 'hire', '{}', ?)",
        (question.id, question.round, question.topic, overall, at.isoformat()),
    )
    conn.commit()


@pytest.fixture
def conn():
    return connect(Settings.from_env())


# A candidate weak on dropout (one question answered badly, not yet due again), three unseen
# dropout questions (the "weak" bucket) and three questions on never-practised topics ("new").
WEAK = [q(f"breadth.drop{i}", "dropout") for i in range(3)]
NEW = [q("breadth.cal", "calibration"), q("breadth.opt", "optimization"), q("breadth.ini", "init")]


def test_mix_parses_from_the_environment(monkeypatch):
    assert Settings.from_env().question_mix == (2.0, 2.0, 1.0)
    monkeypatch.setenv("MOCKLOOP_QUESTION_MIX", " 3 : 1 : 0.5 ")
    assert Settings.from_env().question_mix == (3.0, 1.0, 0.5)
    assert Settings(question_mix="0:0:1").question_mix == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("bad", ["2:2", "2:x:1", "-1:1:1", "0:0:0", "2,2,1", "nan:1:1"])
def test_a_bad_mix_is_refused_with_a_message_naming_the_variable(monkeypatch, bad):
    monkeypatch.setenv("MOCKLOOP_QUESTION_MIX", bad)
    with pytest.raises(ValueError, match=r"MOCKLOOP_QUESTION_MIX: question mix .*(e\.g\. 2:2:1|0)"):
        Settings.from_env()


def test_order_uses_the_settings_mix_when_no_mix_is_passed(conn):
    grade(conn, q("breadth.seed", "dropout"), 0.5, T0)
    pool = WEAK + NEW
    default = progress.order_questions(conn, pool, now=T0 + timedelta(hours=1))
    assert [x.topic for x in default[:3]] == ["dropout", "dropout", "calibration"]
    new_first = progress.order_questions(
        conn, pool, now=T0 + timedelta(hours=1), settings=Settings(question_mix="0:1:2")
    )
    assert [x.topic for x in new_first[:3]] == ["dropout", "calibration", "optimization"]
    # an explicit mix still wins over the settings
    explicit = progress.order_questions(
        conn, pool, now=T0 + timedelta(hours=1), mix={"weak": 1, "new": 0},
        settings=Settings(question_mix="0:0:1"),
    )  # fmt: skip
    assert [x.topic for x in explicit[:3]] == ["dropout"] * 3


def _ctx(conn):
    """What select_questions reads from a round's Context: settings, the log's db, the notes."""
    return SimpleNamespace(
        settings=Settings.from_env(),
        log=SimpleNamespace(conn=conn),
        notes=SimpleNamespace(covered_topics=lambda questions=None: set()),
    )


def test_rounds_pick_questions_by_the_users_mix(conn, monkeypatch):
    """select_questions (what every round calls) honours MOCKLOOP_QUESTION_MIX."""
    grade(conn, q("breadth.seed", "dropout"), 0.5, datetime.now(UTC) - timedelta(hours=1))
    default = select_questions(_ctx(conn), WEAK + NEW, 3, seed=1)
    assert default[0].topic == "dropout"  # weak topic first under the default 2:2:1

    monkeypatch.setenv("MOCKLOOP_QUESTION_MIX", "0:0:1")  # new questions only, please
    new_only = select_questions(_ctx(conn), WEAK + NEW, 3, seed=1)
    assert {x.topic for x in new_only} == {"calibration", "optimization", "init"}

    monkeypatch.setenv("MOCKLOOP_QUESTION_MIX", "0:1:0")
    weak_first = select_questions(_ctx(conn), WEAK + NEW, 3, seed=1)
    assert weak_first[0].topic == "dropout"
