"""A day-by-day preparation plan until the interview, as Markdown and as an .ics calendar.

Each day's time is split into blocks: first the FSRS reviews falling due that day (about four
minutes a question), then practice per round, weighted by the round mix and by weakness (a
round's weight × (1 + (5 − mean score) / 5); a round never practised counts as weak as a 0).
Each practice block names the round's weakest topics, rotating so a week covers them all. The
last day, when it holds enough time, is a full mock loop: one short block per round.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from mockloop import progress
from mockloop.models import ROUNDS, Question

MINUTES_PER_REVIEW = 4
BLOCK_MINUTES = (30, 45, 60)


@dataclass
class Block:
    round: str  # a round name, or "review"
    minutes: int
    topics: list[str] = field(default_factory=list)
    reviews: int = 0

    @property
    def title(self) -> str:
        if self.round == "review":
            return f"Review {self.reviews} due question{'s' * (self.reviews != 1)}"
        focus = f": {', '.join(self.topics)}" if self.topics else ""
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


def _round_weights(
    conn: sqlite3.Connection, rounds: list[str], mix: dict[str, float]
) -> dict[str, float]:
    means: dict[str, list[float]] = defaultdict(list)
    for row in conn.execute("SELECT round, overall FROM grades"):
        means[row["round"]].append(row["overall"])
    weights = {}
    for r in rounds:
        mean = sum(means[r]) / len(means[r]) if means[r] else 0.0
        weights[r] = mix.get(r, 1.0) * (1 + (5 - mean) / 5)
    return weights


def _weak_topics(
    conn: sqlite3.Connection, rounds: list[str], questions: list[Question]
) -> dict[str, list[str]]:
    """Per round, its topics weakest first; never-practised topics count as weakest."""
    scores = progress.topic_scores(conn)
    topics: dict[str, set[str]] = defaultdict(set)
    for q in questions:
        topics[q.round].add(q.topic)
    return {r: sorted(topics[r], key=lambda t: (scores.get(t, -1.0), t)) for r in rounds}


def _split(minutes: int, weights: dict[str, float]) -> dict[str, int]:
    """Share minutes by weight, in 15-minute steps, largest remainders first."""
    steps = minutes // 15
    total = sum(weights.values()) or 1.0
    exact = {r: steps * w / total for r, w in weights.items()}
    share = {r: int(v) for r, v in exact.items()}
    for r in sorted(exact, key=lambda r: exact[r] - share[r], reverse=True)[
        : steps - sum(share.values())
    ]:
        share[r] += 1
    return {r: s * 15 for r, s in share.items() if s}


def make_plan(
    conn: sqlite3.Connection,
    questions: list[Question],
    *,
    until: date,
    hours_per_day: float,
    rounds: list[str] | None = None,
    mix: dict[str, float] | None = None,
    start: date | None = None,
    now: datetime | None = None,
) -> Plan:
    """Plan every day from `start` (default today) to `until` inclusive."""
    now = now or datetime.now(UTC)
    start = start or now.date()
    if until < start:
        raise ValueError(f"--until {until} is before the plan's start {start}")
    if hours_per_day <= 0:
        raise ValueError("--hours-per-day must be positive")
    rounds = [r for r in (rounds or list(ROUNDS)) if r in ROUNDS] or list(ROUNDS)
    weights = _round_weights(conn, rounds, mix or {})
    weak = _weak_topics(conn, rounds, questions)
    forecast = progress.review_forecast(
        conn, now=datetime.combine(start, time(), UTC), days=(until - start).days + 1, rounds=rounds
    )
    plan = Plan(start=start, until=until, hours_per_day=hours_per_day, rounds=rounds)
    budget = int(round(hours_per_day * 60))
    for i in range((until - start).days + 1):
        day = Day(start + timedelta(days=i))
        left = budget
        reviews = forecast[i]
        if reviews:
            minutes = min(reviews * MINUTES_PER_REVIEW, int(budget * 0.4))
            minutes = max(15, minutes - minutes % 15)
            day.blocks.append(Block("review", minutes, reviews=reviews))
            left -= minutes
        if day.day == until and len(rounds) > 1 and left >= 30 * len(rounds):
            day.note = "Full mock loop: one round after another, as on the day."
            day.blocks += [Block(r, left // len(rounds) // 15 * 15) for r in rounds]
        else:
            for r, minutes in _split(left, weights).items():
                focus = weak[r][i % max(1, len(weak[r])) :][:2] or weak[r][:2]
                day.blocks.append(Block(r, minutes, topics=focus))
        plan.days.append(day)
    return plan


def to_markdown(plan: Plan) -> str:
    """The plan as a Markdown checklist, a section per day."""
    lines = [
        f"# Preparation plan: {plan.start} → {plan.until}",
        "",
        f"{plan.hours_per_day:g} h a day · rounds: {', '.join(plan.rounds)}",
        "",
    ]
    for day in plan.days:
        lines.append(f"## {day.day:%a %d %b %Y}")
        if day.note:
            lines.append(f"_{day.note}_")
        lines += [f"- [ ] {b.minutes} min — {b.title}" for b in day.blocks]
        lines.append("")
    return "\n".join(lines)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    out, raw = [], line.encode()
    while len(raw) > 75:
        cut = 75
        while (raw[cut] & 0xC0) == 0x80:  # don't split a UTF-8 character
            cut -= 1
        out.append(raw[:cut].decode())
        raw = b" " + raw[cut:]
    out.append(raw.decode())
    return "\r\n".join(out)


def to_ics(plan: Plan, *, start_time: time = time(18, 0), stamp: datetime | None = None) -> str:
    """The plan as an iCalendar file: one event per block, back to back from `start_time`.

    Times are floating (local to whoever imports it), which is what a study block wants.
    """
    stamp = (stamp or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//mockloop//study plan//EN",
        "CALSCALE:GREGORIAN",
    ]
    for day in plan.days:
        at = datetime.combine(day.day, start_time)
        for n, block in enumerate(day.blocks):
            end = at + timedelta(minutes=block.minutes)
            uid = hashlib.sha1(f"{day.day}-{n}-{block.title}".encode()).hexdigest()[:16]
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}@mockloop",
                f"DTSTAMP:{stamp}",
                f"DTSTART:{at:%Y%m%dT%H%M%S}",
                f"DTEND:{end:%Y%m%dT%H%M%S}",
                _fold(f"SUMMARY:{_ics_text('mockloop · ' + block.title)}"),
                _fold(f"DESCRIPTION:{_ics_text(day.note or 'Open mockloop and run this block.')}"),
                "END:VEVENT",
            ]
            at = end
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
