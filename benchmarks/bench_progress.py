"""Progress at scale: `progress` report and `plan` on 10,000 stored answers.

Prints wall times (median of --repeat runs) and, as the machine-independent figure, each as a
ratio to its raw building blocks measured in the same run: reading every grade row from SQLite,
and replaying them all through fsrs.Scheduler.review_card. Writes benchmarks/out/progress.json.

    python benchmarks/bench_progress.py [--answers 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fsrs import Card

from mockloop import plan, progress
from mockloop.bank import load_bank
from mockloop.config import Settings
from mockloop.db import connect
from mockloop.reports.progress import progress_html

REPO = Path(__file__).resolve().parents[1]


def fill(conn, questions, n: int) -> datetime:
    rng = random.Random(7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows, sessions = [], []
    for i in range(n):
        q = questions[rng.randrange(len(questions))]
        at = t0 + timedelta(minutes=30 * i)
        sid = f"s{i // 5}"
        if i % 5 == 0:
            sessions.append((sid, q.round, "offline", at.isoformat()))
        rows.append(
            (
                sid,
                q.id,
                q.round,
                q.topic,
                "1",
                "offline",
                rng.uniform(0, 5),
                "hire",
                "{}",
                at.isoformat(),
            )
        )
    conn.executemany(
        "INSERT INTO sessions (id, round, llm, started_at) VALUES (?, ?, ?, ?)", sessions
    )
    conn.executemany(
        "INSERT INTO grades (session_id, question_id, round, topic, rubric_version, grader, overall,"
        " hire_signal, grade, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    return t0 + timedelta(minutes=30 * n)


def timed(fn, repeat: int = 1) -> float:
    """Median wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rep = max(1, args.repeat)
    with tempfile.TemporaryDirectory() as home:
        conn = connect(Settings.from_env(home=Path(home)))
        questions = load_bank().questions
        now = fill(conn, questions, args.answers)

        raw_read = timed(
            lambda: conn.execute("SELECT * FROM grades ORDER BY created_at").fetchall(), rep
        )
        rows = conn.execute("SELECT overall, created_at FROM grades ORDER BY created_at").fetchall()

        def replay():
            card = Card(card_id=1)
            for r in rows:
                card, _ = progress._SCHEDULER.review_card(
                    card, progress.rating_for(r[0]), progress.parse_time(r[1])
                )

        raw_fsrs = timed(replay, rep)
        cold_sync = timed(lambda: progress.rebuild_cards(conn), rep)
        report = timed(lambda: progress_html(conn, now=now), rep)
        table = timed(lambda: progress.summarize(conn, now=now), rep)
        the_plan = timed(
            lambda: plan.to_ics(
                plan.make_plan(
                    conn,
                    questions,
                    until=now.date() + timedelta(days=14),
                    hours_per_day=2,
                    start=now.date(),
                    now=now,
                )
            ),
            rep,
        )
        order = timed(lambda: progress.order_questions(conn, questions, now=now), rep)
    base = raw_read + raw_fsrs
    print(f"answers stored: {args.answers} · questions: {len(questions)} · {date.today()}")
    print(
        f"raw building blocks: SQLite read {raw_read * 1000:.1f} ms + FSRS replay "
        f"{raw_fsrs * 1000:.1f} ms  (median of {rep})"
    )
    timings = {
        "rebuild cards from history": cold_sync,
        "mockloop progress (tables)": table,
        "mockloop progress --report (3 plots)": report,
        "mockloop plan (14 days, md+ics)": the_plan,
        "order questions for a round (whole bank)": order,
    }
    for name, seconds in timings.items():
        print(f"{name:42s} {seconds * 1000:8.1f} ms   {seconds / base:6.2f}× raw")
    result = {
        "answers": args.answers,
        "questions": len(questions),
        "repeats": rep,
        "raw_ms": {
            "sqlite read": round(raw_read * 1000, 1),
            "fsrs replay": round(raw_fsrs * 1000, 1),
        },
        "ms": {name: round(seconds * 1000, 1) for name, seconds in timings.items()},
        "ratio_to_raw": {name: round(seconds / base, 2) for name, seconds in timings.items()},
    }
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "progress.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"→ {out / 'progress.json'}")


if __name__ == "__main__":
    main()
