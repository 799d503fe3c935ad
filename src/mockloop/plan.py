"""A day-by-day preparation plan until the interview, as Markdown and as an .ics calendar.

Each day's time is split into blocks, in this order:

1. Due reviews first of all: the FSRS reviews falling due that day (about four minutes a
   question), capped at the due share of the question mix (2:2:1 → 2/5 of the day) and never
   more than the day holds.
2. Practice per round, weighted by the round mix and by weakness (a round's weight ×
   (1 + (5 − mean score) / 5)); a round never practised counts as a 2.5, between measured
   weak and solid rounds, like never-practised topics below. Weaker rounds come first in the
   day.
3. Each practice block names topics of its round, drawn by a smooth weighted round-robin so a
   topic gets slots in proportion to its weight and the heaviest come first. With the question
   mix's weak share w and new share n (w + n = 1; 2:2:1 → w = 2/3, n = 1/3):
       no clue 3w · shaky 2w · has gaps w · never practised 1.5n · solid 0.1
   (no topic goes below 0.1). Under 2:2:1 that is 2.0 · 1.33 · 0.67 · 0.5 · 0.1: weak topics
   get the most slots and open the plan, never-practised ones sit between the measured gaps
   and solid topics, and solid topics come back only now and then. Raising the new share
   (e.g. 1:1:1 → 0.75) moves never-practised topics ahead of "has gaps".

4. Each topic is named with the difficulty level to practise it at (1–3): where its last answer
   puts the next question (a strong answer one level up, a weak one down; never practised: 2).

A day practises at most one round per MIN_BLOCK minutes it holds; the rounds take turns across
the days by the same weighted round-robin, so a round with one topic (deep-dive) does not fill
every day. Topics come from the bank and from the user's graded answers, so a topic of a question
derived from the user's own notes is planned too.

The last day, when it holds enough time, is a full mock loop: one short block per round.
The calendar's events carry the user's time zone (`local_zone`, or one named with `--tz`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from mockloop import progress
from mockloop.config import Settings
from mockloop.models import ROUNDS, Question

MINUTES_PER_REVIEW = 4
STEP = 15  # blocks are whole quarter hours (a day shorter than that is one block)
MIN_BLOCK = 30  # a day practises at most one round per half hour it holds
MAX_HOURS_PER_DAY = 16
UNPRACTISED_ROUND_MEAN = 2.5  # a round never practised: in the middle, not as weak as a 0
SOLID_WEIGHT = 0.1  # the least any topic weighs: solid topics come back now and then


@dataclass
class Block:
    round: str  # a round name, or "review"
    minutes: int
    topics: list[str] = field(default_factory=list)
    reviews: int = 0
    levels: dict[str, int] = field(default_factory=dict)  # topic → level to practise it at

    @property
    def title(self) -> str:
        if self.round == "review":
            return f"Review {self.reviews} due question{'s' * (self.reviews != 1)}"
        named = [f"{t} (level {self.levels[t]})" if t in self.levels else t for t in self.topics]
        focus = f": {', '.join(named)}" if named else ""
        return f"{self.round} practice{focus}"


@dataclass
class Day:
    day: date
    blocks: list[Block] = field(default_factory=list)
    note: str = ""


@dataclass
class Plan:
    start: date
    until: date
    hours_per_day: float
    rounds: list[str]
    days: list[Day] = field(default_factory=list)
    question_mix: dict[str, float] = field(default_factory=lambda: dict(progress.DEFAULT_MIX))
    # per round: (topic, mastery, weight, slots in the plan), heaviest first
    focus: dict[str, list[tuple[str, str, float, int]]] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)  # topic → level to practise it at


def _round_weights(
    conn: sqlite3.Connection, rounds: list[str], mix: dict[str, float]
) -> dict[str, float]:
    means: dict[str, list[float]] = defaultdict(list)
    for row in conn.execute("SELECT round, overall FROM grades"):
        means[row["round"]].append(row["overall"])
    weights = {}
    for r in rounds:
        mean = sum(means[r]) / len(means[r]) if means[r] else UNPRACTISED_ROUND_MEAN
        weights[r] = mix.get(r, 1.0) * (1 + (5 - mean) / 5)
    return weights


def topic_weight(level: str, mix: dict[str, float]) -> float:
    """How many practice slots a topic at this mastery level earns (see the module docstring)."""
    total = mix.get("weak", 0) + mix.get("new", 0)
    weak, new = (mix.get("weak", 0) / total, mix.get("new", 0) / total) if total else (0.5, 0.5)
    by_level = {
        "no clue": 3 * weak,
        "shaky": 2 * weak,
        "has gaps": weak,
        "not practised": 1.5 * new,
    }
    return max(SOLID_WEIGHT, by_level.get(level, SOLID_WEIGHT))


def _topic_weights(
    conn: sqlite3.Connection, rounds: list[str], questions: list[Question], mix: dict[str, float]
) -> dict[str, list[tuple[str, str, float]]]:
    """Per round, its bank topics as (topic, mastery, weight), heaviest (weakest) first."""
    scores = progress.topic_scores(conn)
    topics: dict[str, set[str]] = defaultdict(set)
    for q in questions:
        topics[q.round].add(q.topic)
    # Topics of questions derived from the user's notes are in no bank: what was graded counts.
    for row in progress.graded_levels(conn):
        topics[row["round"]].add(row["topic"])
    out = {}
    for r in rounds:
        rows = []
        for t in topics[r]:
            level = progress.mastery_level(scores.get(t))
            rows.append((t, level, topic_weight(level, mix)))
        # heaviest first; among equals the lower score (never practised counts as 2.5), then name
        out[r] = sorted(rows, key=lambda x: (-x[2], scores.get(x[0], 2.5), x[0]))
    return out


class _Draw:
    """Smooth weighted round-robin (topics of a round, or rounds), carried across the days."""

    def __init__(self, weighted: list[tuple[str, str, float]]):
        self.order = [t for t, _, _ in weighted]
        self.weight = {t: w for t, _, w in weighted}
        self.credit = dict.fromkeys(self.order, 0.0)
        self.total = sum(self.weight.values())
        self.slots = dict.fromkeys(self.order, 0)

    def take(self, k: int) -> list[str]:
        picked: list[str] = []
        for _ in range(min(k, len(self.order))):
            for t in self.order:
                self.credit[t] += self.weight[t]
            best = max(
                (t for t in self.order if t not in picked),
                key=lambda t: (self.credit[t], -self.order.index(t)),
            )
            self.credit[best] -= self.total
            self.slots[best] += 1
            picked.append(best)
        return picked


def _split(minutes: int, weights: dict[str, float]) -> dict[str, int]:
    """Share minutes by weight, in STEP-minute steps, largest remainders first; never negative."""
    steps = max(0, minutes) // STEP
    total = sum(weights.values()) or 1.0
    exact = {r: steps * w / total for r, w in weights.items()}
    share = {r: int(v) for r, v in exact.items()}
    for r in sorted(exact, key=lambda r: exact[r] - share[r], reverse=True)[
        : steps - sum(share.values())
    ]:
        share[r] += 1
    return {r: s * STEP for r, s in share.items() if s}


def _review_minutes(reviews: int, budget: int, due_share: float) -> int:
    """Time for the day's due reviews: what they need, capped by the due share, within budget."""
    if not reviews or due_share <= 0 or budget <= 0:
        return 0
    cap = int(budget * due_share) // STEP * STEP
    minutes = min(reviews * MINUTES_PER_REVIEW, max(cap, STEP)) // STEP * STEP
    return min(budget, max(STEP, minutes))


def _topics_per_block(minutes: int) -> int:
    return max(1, min(3, minutes // 20))


def make_plan(
    conn: sqlite3.Connection,
    questions: list[Question],
    *,
    until: date,
    hours_per_day: float,
    rounds: list[str] | None = None,
    round_mix: dict[str, float] | None = None,
    question_mix: dict[str, float] | None = None,
    settings: Settings | None = None,
    start: date | None = None,
    now: datetime | None = None,
) -> Plan:
    """Plan every day from `start` (default today) to `until` inclusive.

    `round_mix` weighs rounds against each other (default 1 each); `question_mix` is
    {'due', 'weak', 'new'} weights (default: `settings.question_mix`, i.e. MOCKLOOP_QUESTION_MIX).
    Raises ValueError, with a message for the user, for a past `until` or absurd hours.
    """
    now = now or datetime.now(UTC)
    start = start or now.date()
    if until < start:
        raise ValueError(f"--until {until} is before the plan's start {start}")
    if not hours_per_day > 0:
        raise ValueError("--hours-per-day must be positive")
    if hours_per_day > MAX_HOURS_PER_DAY:
        raise ValueError(
            f"--hours-per-day {hours_per_day:g} is more than anyone studies in a day; "
            f"use at most {MAX_HOURS_PER_DAY}"
        )
    mix = progress.mix_weights(settings) if question_mix is None else question_mix
    mix = {b: float(mix.get(b, 0)) for b in progress.BUCKETS}
    rounds = [r for r in (rounds or list(ROUNDS)) if r in ROUNDS] or list(ROUNDS)
    if "coding" in rounds and not any(q.round == "coding" for q in questions):
        from mockloop.coding import coding_questions  # its problems live outside the bank

        questions = [*questions, *coding_questions()]
    weights = _round_weights(conn, rounds, round_mix or {})
    topics = _topic_weights(conn, rounds, questions, mix)
    topic_weights = {(r, t): w for r in rounds for t, _, w in topics[r]}
    draws = {r: _Draw(topics[r]) for r in rounds}
    round_turns = _Draw(sorted(((r, "", w) for r, w in weights.items()), key=lambda x: -x[2]))
    forecast = progress.review_forecast(
        conn, now=datetime.combine(start, time(), UTC), days=(until - start).days + 1, rounds=rounds
    )
    plan = Plan(
        start=start, until=until, hours_per_day=hours_per_day, rounds=rounds, question_mix=mix
    )
    practised = progress.practice_levels(conn)
    plan.levels = {t: practised.get(t, progress.START_LEVEL) for r in rounds for t, *_ in topics[r]}
    budget = int(round(hours_per_day * 60))
    due_share = mix["due"] / (sum(mix.values()) or 1.0)
    for i in range((until - start).days + 1):
        day = Day(start + timedelta(days=i))
        reviews = forecast[i]
        minutes = _review_minutes(reviews, budget, due_share)
        if minutes:
            day.blocks.append(Block("review", minutes, reviews=reviews))
        left = budget - minutes
        if day.day == until and len(rounds) > 1 and left >= 30 * len(rounds):
            day.note = "Full mock loop: one round after another, as on the day."
            day.blocks += [Block(r, left // len(rounds) // STEP * STEP) for r in rounds]
        else:
            # A day holds a block of at least MIN_BLOCK per round it practises; the rounds take
            # turns by weight across the days, so no round (deep-dive's one topic) fills every day.
            today = round_turns.take(max(1, left // MIN_BLOCK))
            split = _split(left, {r: weights[r] for r in today})
            if not split and left > 0 and not day.blocks:
                split = {today[0]: left}  # a day shorter than a step is one short block
            practice = []
            for r, minutes in split.items():
                named = draws[r].take(_topics_per_block(minutes))
                levels = {t: plan.levels[t] for t in named if t in plan.levels}
                practice.append(Block(r, minutes, topics=named, levels=levels))
            # the block naming the weakest topic first, then the weaker round
            practice.sort(
                key=lambda b: (
                    -max((topic_weights[(b.round, t)] for t in b.topics), default=0.0),
                    -weights[b.round],
                )
            )
            day.blocks += practice
        plan.days.append(day)
    plan.focus = {
        r: [(t, level, w, draws[r].slots[t]) for t, level, w in topics[r]] for r in rounds
    }
    return plan


def to_markdown(plan: Plan) -> str:
    """The plan as a Markdown checklist, a section per day."""
    m = plan.question_mix
    lines = [
        f"# Preparation plan: {plan.start} → {plan.until}",
        "",
        f"{plan.hours_per_day:g} h a day · rounds: {', '.join(plan.rounds)} · "
        f"mix due {m['due']:g} : weak {m['weak']:g} : new {m['new']:g}",
        "",
    ]
    for day in plan.days:
        lines.append(f"## {day.day:%a %d %b %Y}")
        if day.note:
            lines.append(f"_{day.note}_")
        lines += [f"- [ ] {b.minutes} min — {b.title}" for b in day.blocks]
        lines.append("")
    focus = [(r, rows) for r, rows in plan.focus.items() if any(n for *_, n in rows)]
    if focus:
        lines += ["## Topic focus over the plan", ""]
        for r, rows in focus:
            named = [
                f"{t} ×{n} ({level}) at level {plan.levels.get(t, progress.START_LEVEL)}"
                for t, level, _, n in rows
                if n
            ]
            lines.append(f"- {r}: " + ", ".join(named))
        lines.append("")
    return "\n".join(lines)


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name; ValueError with a hint for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        ) from None


def local_zone() -> ZoneInfo:
    """The system's time zone: $TZ, else the zone /etc/localtime links to, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).partition("zoneinfo/")[2])
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return ZoneInfo("UTC")


def to_ics(
    plan: Plan,
    *,
    start_time: time = time(18, 0),
    tz: ZoneInfo | None = None,
    stamp: datetime | None = None,
) -> str:
    """The plan as an iCalendar file: one event per block, back to back from `start_time`.

    Events carry the user's time zone (`tz`, default the system's), with its VTIMEZONE, so a
    calendar on another device or in another zone shows them at the hour the user meant.
    """
    tz = tz or local_zone()
    stamp = stamp or datetime.now(UTC)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mockloop//study plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    for day in plan.days:
        at = datetime.combine(day.day, start_time, tzinfo=tz)
        for n, block in enumerate(day.blocks):
            end = at + timedelta(minutes=block.minutes)
            event = icalendar.Event()
            uid = hashlib.sha1(f"{day.day}-{n}-{block.title}".encode()).hexdigest()[:16]
            event.add("uid", f"{uid}@mockloop")
            event.add("dtstamp", stamp)
            event.add("dtstart", at)
            event.add("dtend", end)
            event.add("summary", "mockloop · " + block.title)
            event.add("description", day.note or "Open mockloop and run this block.")
            cal.add_component(event)
            at = end
    cal.add_missing_timezones(plan.start, plan.until + timedelta(days=1))
    return cal.to_ical().decode()
