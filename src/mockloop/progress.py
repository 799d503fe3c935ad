"""What the user has practised and how it went: FSRS review cards, topic mastery, question order.

Everything here derives from the `grades` table (written by the rounds as answers are graded).
The `cards` table is a cache: `sync_cards` replays grades in order through FSRS, so deleting the
cards and syncing again gives the same schedule. Time is always passed in (`now`), never read
from the clock inside the scheduling logic, so weeks of practice can be simulated in tests.

Grade → FSRS rating (overall is 0–5):
    overall < 2        → Again   (could not answer: see it again tomorrow)
    2 ≤ overall < 3    → Hard
    3 ≤ overall < 4    → Good
    overall ≥ 4        → Easy
Mastery of a topic is the weighted mean of its last grades, each weighing its recency (newest
most) times the level it was asked at (a 4 at level 3 counts three times a 4 at level 1):
    < 1.5 no clue · < 2.5 shaky · < 3.5 has gaps · ≥ 3.5 solid
Levels are question difficulties 1–3. After an answer at level L the next question goes to
    overall ≥ 3.5 → L + 1 · overall < 2 → L − 1 · else L   (within 1–3; a first question: 2)
and a topic's level to practise is where its last answer puts the next one (`next_level`).
Question order mixes due reviews : weakest topics : new questions by `Settings.question_mix`
(env MOCKLOOP_QUESTION_MIX, default 2:2:1) unless a caller passes `mix` explicitly.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler

from mockloop.config import DEFAULT_QUESTION_MIX, Settings
from mockloop.models import Question

MASTERY_LEVELS = ("no clue", "shaky", "has gaps", "solid")
MASTERY_BOUNDS = (1.5, 2.5, 3.5)  # upper bounds of the first three levels (plots use them too)
RECENT = 5  # grades per topic that mastery looks at
BUCKETS = ("due", "weak", "new")
DEFAULT_MIX = dict(zip(BUCKETS, DEFAULT_QUESTION_MIX, strict=True))  # interleaving weights

LEVELS = (1, 2, 3)
START_LEVEL = 2  # a round opens, and a never-practised topic is practised, in the middle
STRONG = 3.5  # an answer at least this good moves the next question up a level
WEAK = 2.0  # an answer below this moves it down

# No minute-scale learning steps: interview prep is reviewed in days, not in one sitting.
_SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def rating_for(overall: float) -> Rating:
    """Map a 0–5 grade to an FSRS rating (see the module docstring)."""
    if overall < 2:
        return Rating.Again
    if overall < 3:
        return Rating.Hard
    if overall < 4:
        return Rating.Good
    return Rating.Easy


def next_level(level: int | None, overall: float) -> int:
    """The level of the next question after an answer at `level`: `(2, 4.1) -> 3`,
    `(2, 1.2) -> 1`, `(2, 3.0) -> 2`, `(3, 5.0) -> 3`."""
    level = START_LEVEL if level is None else level
    step = 1 if overall >= STRONG else -1 if overall < WEAK else 0
    return min(max(level + step, LEVELS[0]), LEVELS[-1])


def held_level(answers: list[tuple[int, float]]) -> int | None:
    """The highest level whose answers average at least WEAK, from (level, overall) pairs;
    None when no level held. `[(2, 3.0), (3, 1.0), (2, 2.5)] -> 2`."""
    by_level: dict[int, list[float]] = defaultdict(list)
    for level, overall in answers:
        by_level[level].append(overall)
    held = [lv for lv, v in by_level.items() if sum(v) / len(v) >= WEAK]
    return max(held) if held else None


def mastery_level(score: float | None) -> str:
    """`3.1 -> 'has gaps'`; None (never practised) → 'not practised'."""
    if score is None:
        return "not practised"
    for bound, level in zip(MASTERY_BOUNDS, MASTERY_LEVELS, strict=False):
        if score < bound:
            return level
    return MASTERY_LEVELS[-1]


def parse_time(value: str) -> datetime:
    """Stored timestamps are ISO 8601; naive ones are UTC."""
    t = datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def ensure_cards_table(conn: sqlite3.Connection) -> None:
    """The cards cache: derived from `grades`, so it is created here rather than by a migration."""
    conn.execute(
        """CREATE TABLE IF NOT EXISTS cards (
               question_id TEXT PRIMARY KEY,
               round TEXT NOT NULL,
               topic TEXT NOT NULL,
               card TEXT NOT NULL,          -- fsrs Card.to_json()
               due TEXT NOT NULL,
               reviews INTEGER NOT NULL,
               last_grade_id INTEGER NOT NULL
           )"""
    )


def _card_id(question_id: str) -> int:
    return int(hashlib.sha1(question_id.encode()).hexdigest()[:12], 16)


def sync_cards(conn: sqlite3.Connection) -> int:
    """Apply every grade not yet reflected in `cards`, in time order. Returns grades applied."""
    ensure_cards_table(conn)
    cards = {
        row["question_id"]: row
        for row in conn.execute("SELECT question_id, card, reviews, last_grade_id FROM cards")
    }
    applied = 0
    pending = conn.execute(
        "SELECT id, question_id, round, topic, overall, created_at FROM grades "
        "WHERE id > COALESCE((SELECT MIN(last_grade_id) FROM cards), 0) OR question_id NOT IN "
        "(SELECT question_id FROM cards) ORDER BY created_at, id"
    ).fetchall()
    state: dict[str, tuple[Card, int, int, str, str]] = {}
    for g in pending:
        qid = g["question_id"]
        if qid in state:
            card, reviews, last_id, _, _ = state[qid]
        elif qid in cards:
            row = cards[qid]
            card, reviews, last_id = (
                Card.from_json(row["card"]),
                row["reviews"],
                row["last_grade_id"],
            )
        else:
            card, reviews, last_id = Card(card_id=_card_id(qid)), 0, 0
        if g["id"] <= last_id:
            continue
        card, _ = _SCHEDULER.review_card(
            card, rating_for(g["overall"]), parse_time(g["created_at"])
        )
        state[qid] = (card, reviews + 1, g["id"], g["round"], g["topic"])
        applied += 1
    with conn:
        conn.executemany(
            "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (qid, rnd, topic, card.to_json(), card.due.isoformat(), reviews, last_id)
                for qid, (card, reviews, last_id, rnd, topic) in state.items()
            ],
        )
    return applied


def rebuild_cards(conn: sqlite3.Connection) -> int:
    """Drop the cache and replay all history; the schedule comes out the same."""
    ensure_cards_table(conn)
    with conn:
        conn.execute("DELETE FROM cards")
    return sync_cards(conn)


@dataclass
class DueCard:
    question_id: str
    round: str
    topic: str
    due: datetime
    reviews: int


def due_cards(conn: sqlite3.Connection, *, until: datetime) -> list[DueCard]:
    """Cards due at or before `until`, most overdue first."""
    sync_cards(conn)
    rows = conn.execute(
        "SELECT question_id, round, topic, due, reviews FROM cards ORDER BY due"
    ).fetchall()
    cards = [DueCard(r[0], r[1], r[2], parse_time(r[3]), r[4]) for r in rows]
    return [c for c in cards if c.due <= until]


def graded_levels(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every stored grade (round, topic, overall) with the level it was asked at, oldest first.

    The level rides in the meta of the grade's feedback turn (rounds write it there); a grade
    without one (batch grading, older sessions) counts as START_LEVEL.
    """
    return conn.execute(
        "SELECT g.round, g.topic, g.overall, "
        f"COALESCE(json_extract(t.meta, '$.level'), {START_LEVEL}) AS level "
        "FROM grades g LEFT JOIN turns t ON t.id = g.turn_id ORDER BY g.created_at, g.id"
    ).fetchall()


def topic_scores(conn: sqlite3.Connection, *, rounds: list[str] | None = None) -> dict[str, float]:
    """Weighted mean of each topic's last RECENT grades: recency (1..RECENT, newest last) times
    the level asked at, so a topic held at a higher level counts more."""
    by_topic: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for row in graded_levels(conn):
        if rounds is None or row["round"] in rounds:
            by_topic[row["topic"]].append((row["overall"], int(row["level"])))
    scores = {}
    for topic, values in by_topic.items():
        recent = values[-RECENT:]
        weights = [i * level for i, (_, level) in enumerate(recent, 1)]
        scores[topic] = sum(w * v for w, (v, _) in zip(weights, recent, strict=True)) / sum(weights)
    return scores


def practice_levels(conn: sqlite3.Connection) -> dict[str, int]:
    """Per topic, the level to practise next: where its last answer puts the next question."""
    last: dict[str, tuple[int, float]] = {}
    for row in graded_levels(conn):
        last[row["topic"]] = (int(row["level"]), row["overall"])
    return {topic: next_level(level, overall) for topic, (level, overall) in last.items()}


def mix_weights(settings: Settings | None = None) -> dict[str, float]:
    """The user's question mix as {'due': 2.0, 'weak': 2.0, 'new': 1.0} (env when no settings)."""
    settings = settings or Settings.from_env()
    return dict(zip(BUCKETS, settings.question_mix, strict=True))


def _interleave(buckets: dict[str, list[Question]], mix: dict[str, float]) -> list[Question]:
    """Weighted round-robin: `{'due': 2, 'weak': 2, 'new': 1}` → d d w w n d d w w n …

    Buckets with no weight (and whatever is left once the weighted ones run dry) follow in
    bucket order.
    """
    queues = {name: list(qs) for name, qs in buckets.items()}
    weighted = [n for n in queues if mix.get(n, 0) > 0]
    credit = dict.fromkeys(weighted, 0.0)
    order: list[Question] = []
    while any(queues[n] for n in weighted):
        for name in weighted:
            credit[name] += mix[name]
            while credit[name] >= 1 and queues[name]:
                order.append(queues[name].pop(0))
                credit[name] -= 1
    for qs in queues.values():
        order.extend(qs)
    return order


def order_questions(
    conn: sqlite3.Connection,
    questions: list[Question],
    *,
    now: datetime | None = None,
    mix: dict[str, float] | None = None,
    covered_topics: set[str] | None = None,
    settings: Settings | None = None,
) -> list[Question]:
    """Due reviews first, then the weakest topics (those the notes cover first), then new ones.

    The three buckets are interleaved by `mix` weights; without an explicit `mix` they come from
    `settings.question_mix` (`Settings.from_env()` when no settings are given: env
    MOCKLOOP_QUESTION_MIX, default due 2 : weak 2 : new 1). Questions already seen, not due and
    on solid topics come last. Deterministic for a given history, mix and now.
    """
    now = _now(now)
    sync_cards(conn)
    cards = {
        r["question_id"]: (parse_time(r["due"]), r["reviews"])
        for r in conn.execute("SELECT question_id, due, reviews FROM cards")
    }
    scores = topic_scores(conn)
    covered = covered_topics or set()
    buckets: dict[str, list[Question]] = {"due": [], "weak": [], "new": [], "rest": []}
    for q in questions:
        card = cards.get(q.id)
        if card and card[0] <= now:
            buckets["due"].append(q)
        elif q.topic in scores and scores[q.topic] < MASTERY_BOUNDS[-1] and not card:
            buckets["weak"].append(q)
        elif not card:
            buckets["new"].append(q)
        else:
            buckets["rest"].append(q)
    buckets["due"].sort(key=lambda q: cards[q.id][0])
    buckets["weak"].sort(key=lambda q: (q.topic not in covered, scores[q.topic]))
    buckets["new"].sort(key=lambda q: q.topic not in covered)
    buckets["rest"].sort(key=lambda q: cards[q.id][0])
    weights = {**(mix_weights(settings) if mix is None else {**DEFAULT_MIX, **mix}), "rest": 0}
    return _interleave(buckets, weights)


@dataclass
class TopicRow:
    round: str
    topic: str
    answers: int
    mean: float
    trend: float  # mean of the last RECENT minus mean of the RECENT before (0 if too few)
    mastery: str
    due_today: int
    due_week: int
    level: int = START_LEVEL  # the difficulty to practise it at next (see `practice_levels`)


@dataclass
class RoundRow:
    round: str
    sessions: int
    answers: int
    mean: float
    trend: float
    due_today: int
    due_week: int


@dataclass
class Progress:
    """Everything `mockloop progress` and the Progress tab show."""

    now: datetime
    rounds: list[RoundRow] = field(default_factory=list)
    topics: list[TopicRow] = field(default_factory=list)
    total_answers: int = 0
    total_sessions: int = 0


def _trend(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    recent, before = values[-RECENT:], values[-2 * RECENT : -RECENT] or values[:1]
    if len(values) <= RECENT:
        recent, before = values[len(values) // 2 :], values[: len(values) // 2]
    return sum(recent) / len(recent) - sum(before) / len(before)


def summarize(conn: sqlite3.Connection, *, now: datetime | None = None) -> Progress:
    """Per round and per topic: sessions, mean score and trend, mastery, reviews due."""
    now = _now(now)
    sync_cards(conn)
    end_of_day = now.replace(hour=23, minute=59, second=59, microsecond=0)
    due = due_cards(conn, until=end_of_day + timedelta(days=6))
    scores = topic_scores(conn)
    levels = practice_levels(conn)
    per_round: dict[str, list[float]] = defaultdict(list)
    per_topic: dict[tuple[str, str], list[float]] = defaultdict(list)
    sessions: dict[str, set[str]] = defaultdict(set)
    for row in conn.execute(
        "SELECT session_id, round, topic, overall FROM grades ORDER BY created_at, id"
    ):
        per_round[row["round"]].append(row["overall"])
        per_topic[(row["round"], row["topic"])].append(row["overall"])
        if row["session_id"]:
            sessions[row["round"]].add(row["session_id"])

    def due_counts(pred) -> tuple[int, int]:
        hits = [c for c in due if pred(c)]
        return sum(c.due <= end_of_day for c in hits), len(hits)

    progress = Progress(now=now)
    for rnd, values in sorted(per_round.items()):
        today, week = due_counts(lambda c, r=rnd: c.round == r)
        progress.rounds.append(
            RoundRow(
                rnd,
                len(sessions[rnd]),
                len(values),
                sum(values) / len(values),
                _trend(values),
                today,
                week,
            )
        )
    for (rnd, topic), values in sorted(per_topic.items()):
        today, week = due_counts(lambda c, r=rnd, t=topic: c.round == r and c.topic == t)
        progress.topics.append(
            TopicRow(
                rnd,
                topic,
                len(values),
                sum(values) / len(values),
                _trend(values),
                mastery_level(scores.get(topic)),
                today,
                week,
                levels.get(topic, START_LEVEL),
            )
        )
    progress.total_answers = sum(len(v) for v in per_round.values())
    progress.total_sessions = len({s for ss in sessions.values() for s in ss})
    return progress


def review_forecast(
    conn: sqlite3.Connection,
    *,
    now: datetime | None = None,
    days: int = 30,
    rounds: list[str] | None = None,
) -> list[int]:
    """How many reviews fall due on each of the next `days` days (overdue ones count today)."""
    now = _now(now)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = [0] * days
    for card in due_cards(conn, until=start + timedelta(days=days)):
        if rounds is not None and card.round not in rounds:
            continue
        index = max(0, (card.due - start).days)
        if index < days:
            counts[index] += 1
    return counts


def score_history(conn: sqlite3.Connection) -> list[dict]:
    """Every stored grade as {round, topic, overall, at, session}, oldest first — what the plots
    draw. `session` is the session id (a grade stored without one is its own session)."""
    return [
        {
            "round": r["round"],
            "topic": r["topic"],
            "overall": r["overall"],
            "at": parse_time(r["created_at"]),
            "session": r["session_id"] or f"grade-{r['id']}",
        }
        for r in conn.execute(
            "SELECT id, session_id, round, topic, overall, created_at FROM grades "
            "ORDER BY created_at, id"
        )
    ]


def to_json(progress: Progress) -> str:
    """The summary as JSON (for `mockloop progress --json`)."""
    from dataclasses import asdict

    data = asdict(progress)
    data["now"] = progress.now.isoformat()
    return json.dumps(data, indent=2)
