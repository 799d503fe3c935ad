"""ML breadth rapid-fire: N short questions, each with a time budget that is shown and recorded.

Questions come from the bank's breadth set and from the candidate's breadth notes that no bank
question covers (the note chunk as reference answer, see notes.py). Those note questions lead, up
to half the round; then due reviews and weak topics, topics the notes cover before those they
don't, one per topic where the bank allows. No follow-ups: rapid-fire moves on; feedback comes
after each answer or at the end (the candidate's choice).
"""

from __future__ import annotations

from typing import ClassVar

from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
)
from mockloop.rounds.notes import notes_first

TIME_BUDGET_S = {1: 60, 2: 90, 3: 120}  # by difficulty: easy · medium · hard


class BreadthRound(RoundSession):
    name: ClassVar[str] = "breadth"
    title: ClassVar[str] = "ML breadth rapid-fire"
    max_follow_ups: ClassVar[int] = 0

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        bank = ctx.bank.for_round("breadth")
        derived = ctx.notes.note_questions("breadth", ctx.bank.questions)
        ctx.notes.consider(bank + derived)
        picked = notes_first(ctx, bank, derived, config.n, config.seed)
        if not picked:
            raise ValueError("the question bank has no breadth questions")
        items = [
            Item(question=q, text=q.prompt, time_budget_s=TIME_BUDGET_S.get(q.difficulty, 90))
            for q in picked
        ]
        return RoundState(config=config, items=items)
