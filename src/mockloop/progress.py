"""What the user has practised and how it went: the order in which rounds pick questions.

Reads the `grades` table only. Questions whose last grade was weak come first, then topics with
a weak mean, then questions never asked; strong recent answers go last.
(FSRS review cards and mastery levels build on this; see the progress issue.)
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mockloop.models import Question


def order_questions(
    conn: sqlite3.Connection, questions: list[Question], *, now: datetime | None = None
) -> list[Question]:
    """Candidates sorted: weak-and-seen first, then weak topics, then new, then strong; stable."""
    last = {
        row["question_id"]: row["overall"]
        for row in conn.execute(
            "SELECT question_id, overall FROM grades g WHERE created_at = "
            "(SELECT MAX(created_at) FROM grades WHERE question_id = g.question_id)"
        )
    }
    topic_mean = {
        row["topic"]: row["m"]
        for row in conn.execute("SELECT topic, AVG(overall) AS m FROM grades GROUP BY topic")
    }

    def key(q: Question) -> tuple[int, float]:
        if q.id in last:
            return (0, last[q.id]) if last[q.id] < 3 else (3, last[q.id])
        if q.topic in topic_mean and topic_mean[q.topic] < 3:
            return (1, topic_mean[q.topic])
        return (2, 0.0)

    return sorted(questions, key=key)
