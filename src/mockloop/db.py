"""The user's SQLite database (`mockloop.db` under the data dir): WAL, append-only migrations.

Migrations are functions `mNNN_name(conn)` listed in MIGRATIONS; `connect()` applies the ones
not yet recorded in the `_migrations` table. Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from mockloop.config import Settings


def m001_manifest(conn: sqlite3.Connection) -> None:
    """Ingest manifest: one row per source file, recorded after its chunks are written."""
    conn.executescript(
        """
        CREATE TABLE manifest (
            source TEXT PRIMARY KEY,      -- path relative to the ingested root (POSIX)
            root TEXT NOT NULL,           -- absolute root it was ingested from
            content_hash TEXT NOT NULL,
            chunk_ids TEXT NOT NULL,      -- JSON list of chunk ids in the store
            ingested_at TEXT NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


def m002_sessions(conn: sqlite3.Connection) -> None:
    """Interview sessions: every question, answer and grade is logged as it happens."""
    conn.executescript(
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            round TEXT NOT NULL,
            llm TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',   -- JSON: n, feedback timing, ...
            state TEXT NOT NULL DEFAULT '{}',    -- JSON: what resume needs
            status TEXT NOT NULL DEFAULT 'active',  -- active · finished · abandoned
            started_at TEXT NOT NULL,
            ended_at TEXT
        );
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            idx INTEGER NOT NULL,
            role TEXT NOT NULL,          -- interviewer · candidate
            kind TEXT NOT NULL,          -- question · follow_up · hint · answer · skip · feedback · summary
            question_id TEXT,
            text TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE INDEX turns_session ON turns(session_id, idx);
        CREATE TABLE grades (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT REFERENCES sessions(id),
            turn_id INTEGER REFERENCES turns(id),
            question_id TEXT NOT NULL,
            round TEXT NOT NULL,
            topic TEXT NOT NULL,
            rubric_version TEXT NOT NULL,
            grader TEXT NOT NULL,
            overall REAL NOT NULL,
            hire_signal TEXT NOT NULL,
            grade TEXT NOT NULL,         -- the full Grade as JSON
            created_at TEXT NOT NULL
        );
        CREATE INDEX grades_question ON grades(question_id, created_at);
        CREATE INDEX grades_topic ON grades(round, topic, created_at);
        """
    )


def m003_manifest_location(conn: sqlite3.Connection) -> None:
    """Manifest rows keyed by where a file really is, not only by its name.

    `location` is the file's resolved path (or `zip path!/entry` inside a zip); `source` stays
    the unique name chunks carry. Rows from before this migration have no location: the next
    ingest of their root adopts them by (root, source), so nothing is embedded again.
    """
    conn.executescript(
        """
        ALTER TABLE manifest ADD COLUMN location TEXT;
        CREATE UNIQUE INDEX manifest_location ON manifest(location);
        """
    )


def m004_session_parts(conn: sqlite3.Connection) -> None:
    """A round's resume state in parts: the lists that grow (the plan, the graded results, the
    deferred feedback, the summary) one row per element, so each write adds what changed
    instead of rewriting every earlier grade. `sessions.state` keeps the small rest and names
    its parts under `_parts`; a state without `_parts` (written before) is whole, as ever."""
    conn.executescript(
        """
        CREATE TABLE session_parts (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            name TEXT NOT NULL,          -- items · reserve · parents · results · deferred · summary
            idx INTEGER NOT NULL,        -- position in the list (0 for a single value)
            value TEXT NOT NULL,         -- the element as JSON
            PRIMARY KEY (session_id, name, idx)
        );
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_manifest,
    m002_sessions,
    m003_manifest_location,
    m004_session_parts,
]


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations in order, each in its own transaction."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with conn:
            fn(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (fn.__name__,))


def connect(settings: Settings | None = None, path: Path | None = None) -> sqlite3.Connection:
    """Open (creating and migrating) the user's database in WAL mode."""
    settings = settings or Settings.from_env()
    path = Path(path or settings.db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn
