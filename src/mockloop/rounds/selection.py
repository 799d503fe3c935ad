"""Which questions a round asks, and in what order: due and weak first, topics the user's notes
cover first, then new; varied topics; note-derived questions leading the rounds that derive.

Covers: `select_questions` (every round's pick), `notes_first` (breadth and depth: questions
derived from notes lead, up to half the round), `reserve_for` (the adaptive rounds' reserve of
unplanned candidates) and `fresh` (never asked, or due for review).
Leaves out: the order itself (mockloop.progress.order_questions: FSRS due dates, weakness,
MOCKLOOP_QUESTION_MIX) and which topics the notes cover (mockloop.rounds.notes.NotesIndex).
A round's `Context` (rounds.base) is all these read: its settings, log and notes.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime

from mockloop import progress
from mockloop.models import Question


def select_questions(ctx, candidates: list[Question], n: int, seed: int) -> list[Question]:
    """Due and weak first, topics the notes cover first, then new; varied topics; n of them."""
    shuffled = list(candidates)
    random.Random(seed).shuffle(shuffled)
    covered = ctx.notes.covered_topics(candidates)
    ordered = progress.order_questions(
        ctx.log.conn, shuffled, covered_topics=covered, settings=ctx.settings
    )
    picked: list[Question] = []
    topics: set[str] = set()
    for q in ordered:  # first pass: one question per topic
        if len(picked) < n and q.topic not in topics:
            picked.append(q)
            topics.add(q.topic)
    for q in ordered:  # then fill up if the bank has fewer topics than n
        if len(picked) < n and q not in picked:
            picked.append(q)
    return picked


def reserve_for(
    ctx, candidates: list[Question], picked: list[Question], seed: int, per_level: int
) -> list[Question]:
    """Candidates an adaptive round did not plan, in `select_questions` order (due, weak, covered
    topics, new), at most `per_level` of each level: what a level change can bring forward."""
    taken = {q.id for q in picked}
    rest = [q for q in candidates if q.id not in taken]
    ordered = select_questions(ctx, rest, len(rest), seed)
    count: dict[int, int] = defaultdict(int)
    out = []
    for q in ordered:
        if count[q.difficulty] < per_level:
            out.append(q)
            count[q.difficulty] += 1
    return out


def fresh(ctx, questions: list[Question]) -> list[Question]:
    """Questions never asked, or due for review (by the FSRS cards of the progress module)."""
    cards = {
        c.question_id: c.due
        for c in progress.due_cards(ctx.log.conn, until=datetime.max.replace(tzinfo=UTC))
    }
    now = datetime.now(UTC)
    return [q for q in questions if q.id not in cards or cards[q.id] <= now]


def notes_first(
    ctx, pool: list[Question], derived: list[Question], n: int, seed: int
) -> list[Question]:
    """n questions: questions derived from the user's notes (new or due) lead, up to half the
    round, then the bank questions closest to the notes the bank covers (new or due); the rest
    as `select_questions` orders them (due, weak, covered topics, new)."""
    half = math.ceil(n / 2)
    lead_from = fresh(ctx, derived)
    lead = select_questions(ctx, lead_from, min(len(lead_from), half), seed)
    led = fresh(ctx, ctx.notes.led_by_notes(pool))
    lead += select_questions(ctx, led, min(len(led), half - len(lead)), seed)
    taken = {q.id for q in lead}
    rest = [q for q in pool + derived if q.id not in taken]
    return lead + select_questions(ctx, rest, n - len(lead), seed)
