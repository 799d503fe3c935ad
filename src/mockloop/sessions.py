"""The session log: every question, answer, grade and citation of a round, written as it happens.

Tables come from db.m002 (sessions, turns, grades) and db.m004 (session_parts). One `write()`
call is one transaction: the turns it adds, the grade (if any) and the round's resume state land
together or not at all, so a process killed at any instant leaves a session that resumes where
the last write left it; the only thing lost is an answer still being typed. The resume state's
growing lists (graded results, the plan) are `Part`s, one row per element, so a write stores
what changed rather than every earlier grade again. Grades of top-level questions go to `grades`
(which progress and FSRS read); the full Grade JSON, with its citations, also rides in the turn.
Nothing secret is stored: the LLM spec is saved through `llm.safe_spec`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mockloop.config import Settings
from mockloop.db import connect
from mockloop.llm import safe_spec
from mockloop.models import Grade, Question


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Turn:
    role: str  # interviewer · candidate
    kind: str  # question · follow_up · hint · answer · skip · feedback · summary
    text: str
    question_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    idx: int | None = None
    created_at: str | None = None


@dataclass
class GradeRecord:
    question: Question
    grade: Grade
    turn: int = -1  # index into the turns of the same write() (-1: the last one)


@dataclass
class Part:
    """The change to one list of a round's resume state: its elements that changed, by index,
    as JSON, and its length now (stored elements at or past it are dropped). `single`: the part
    is one value (or None), stored as element 0, not a list."""

    rows: dict[int, str]
    length: int
    single: bool = False


PARTS_KEY = "_parts"  # in sessions.state: part name → whether it is a single value


@dataclass
class SessionInfo:
    id: str
    round: str
    llm: str
    status: str
    started_at: str
    ended_at: str | None
    config: dict
    answered: int = 0
    mean: float | None = None


class SessionLog:
    """Reads and writes sessions in the user's database."""

    def __init__(self, settings: Settings | None = None, conn: sqlite3.Connection | None = None):
        self.settings = settings or Settings.from_env()
        self.conn = conn or connect(self.settings)

    def create(self, round_name: str, llm: str, config: dict, state: dict) -> str:
        session_id = uuid.uuid4().hex[:10]
        with self.conn:
            self.conn.execute(
                "INSERT INTO sessions (id, round, llm, config, state, status, started_at) "
                "VALUES (?, ?, ?, ?, ?, 'active', ?)",
                (
                    session_id,
                    round_name,
                    safe_spec(llm),
                    json.dumps(config),
                    json.dumps(state),
                    now_iso(),
                ),
            )
        return session_id

    def write(
        self,
        session_id: str,
        *,
        turns: list[Turn] = (),
        grade: GradeRecord | None = None,
        state: dict | None = None,
        parts: dict[str, Part] | None = None,
        status: str | None = None,
        round_name: str = "",
    ) -> list[int]:
        """Add turns, a grade and the new state in one transaction; returns the turn ids.

        `state` is rewritten whole; `parts` (name → Part) are the lists kept apart from it,
        each written as the elements that changed. Pass every part on each write that has
        parts: `state` records their names."""
        ids: list[int] = []
        with self.conn:
            (next_idx,) = self.conn.execute(
                "SELECT COALESCE(MAX(idx), -1) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()
            for i, t in enumerate(turns):
                cur = self.conn.execute(
                    "INSERT INTO turns (session_id, idx, role, kind, question_id, text, meta, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        next_idx + i,
                        t.role,
                        t.kind,
                        t.question_id,
                        t.text,
                        json.dumps(t.meta),
                        now_iso(),
                    ),
                )
                ids.append(cur.lastrowid)
            if grade is not None:
                g, q = grade.grade, grade.question
                self.conn.execute(
                    "INSERT INTO grades (session_id, turn_id, question_id, round, topic, rubric_version, "
                    "grader, overall, hire_signal, grade, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        session_id,
                        ids[grade.turn] if ids else None,
                        q.id,
                        round_name or q.round,
                        q.topic,
                        g.rubric_version,
                        g.grader,
                        g.overall,
                        g.hire_signal,
                        g.model_dump_json(),
                        now_iso(),
                    ),
                )
            if parts:
                self._write_parts(session_id, parts)
                state = {**(state or {}), PARTS_KEY: {n: p.single for n, p in parts.items()}}
            if state is not None:
                self.conn.execute(
                    "UPDATE sessions SET state = ? WHERE id = ?", (json.dumps(state), session_id)
                )
            if status is not None:
                ended = now_iso() if status != "active" else None
                self.conn.execute(
                    "UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?",
                    (status, ended, session_id),
                )
        return ids

    def _write_parts(self, session_id: str, parts: dict[str, Part]) -> None:
        for name, part in parts.items():
            self.conn.executemany(
                "INSERT OR REPLACE INTO session_parts (session_id, name, idx, value) "
                "VALUES (?, ?, ?, ?)",
                [(session_id, name, i, text) for i, text in part.rows.items()],
            )
            self.conn.execute(
                "DELETE FROM session_parts WHERE session_id = ? AND name = ? AND idx >= ?",
                (session_id, name, part.length),
            )

    def resolve(self, prefix: str) -> str:
        """The full id of the one session starting with `prefix`; KeyError otherwise."""
        rows = self.conn.execute(
            "SELECT id FROM sessions WHERE id LIKE ? ORDER BY started_at", (prefix.strip() + "%",)
        ).fetchall()
        if len(rows) != 1:
            what = "no session" if not rows else f"{len(rows)} sessions"
            raise KeyError(f"{what} with id {prefix!r}; `mockloop sessions` lists them")
        return rows[0]["id"]

    def info(self, session_id: str) -> SessionInfo:
        row = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id!r}; `mockloop sessions` lists them")
        return self._info(row)

    def state(self, session_id: str) -> dict:
        """The resume state as last written, its parts put back in."""
        row = self.conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return {}
        state = json.loads(row["state"])
        kinds = state.pop(PARTS_KEY, None)
        if kinds:
            lists: dict[str, list] = {name: [] for name in kinds}
            for r in self.conn.execute(
                "SELECT name, value FROM session_parts WHERE session_id = ? ORDER BY name, idx",
                (session_id,),
            ):
                lists.setdefault(r["name"], []).append(json.loads(r["value"]))
            for name, single in kinds.items():
                state[name] = (lists[name][0] if lists[name] else None) if single else lists[name]
        return state

    def list(self, limit: int = 50) -> list[SessionInfo]:
        rows = self.conn.execute(
            "SELECT * FROM sessions ORDER BY started_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._info(r) for r in rows]

    def turns(self, session_id: str) -> list[Turn]:
        return [
            Turn(
                r["role"],
                r["kind"],
                r["text"],
                r["question_id"],
                json.loads(r["meta"]),
                r["id"],
                r["idx"],
                r["created_at"],
            )
            for r in self.conn.execute(
                "SELECT * FROM turns WHERE session_id = ? ORDER BY idx", (session_id,)
            )
        ]

    def grades(self, session_id: str) -> list[tuple[str, Grade]]:
        """(topic, Grade) of the session's stored question grades, in order."""
        return [
            (r["topic"], Grade.model_validate_json(r["grade"]))
            for r in self.conn.execute(
                "SELECT topic, grade FROM grades WHERE session_id = ? ORDER BY id", (session_id,)
            )
        ]

    def _info(self, row: sqlite3.Row) -> SessionInfo:
        stats = self.conn.execute(
            "SELECT COUNT(*) AS n, AVG(overall) AS m FROM grades WHERE session_id = ?", (row["id"],)
        ).fetchone()
        return SessionInfo(
            id=row["id"],
            round=row["round"],
            llm=safe_spec(row["llm"]),  # rows written before credentials were stripped
            status=row["status"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            config=json.loads(row["config"]),
            answered=stats["n"],
            mean=round(stats["m"], 2) if stats["m"] is not None else None,
        )
