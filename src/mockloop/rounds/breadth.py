"""ML breadth rapid-fire: N short questions, each with a time budget that is shown and recorded.

Questions come from the bank's breadth set and from the candidate's breadth notes that no bank
question covers (the note chunk as reference answer, see notes.py). Those note questions lead, up
to half the round; then due reviews and weak topics, topics the notes cover before those they
don't, one per topic where the bank allows. The difficulty adapts (a strong answer brings a
harder question next, a weak one an easier one; see base.py). Rapid-fire asks at most one short
follow-up, and only when a key point was missed; feedback comes after each answer or at the end
(the candidate's choice).
"""

from __future__ import annotations

from typing import ClassVar

from mockloop.models import Grade
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    adaptive_state,
)
from mockloop.rounds.followups import FollowUp
from mockloop.rounds.selection import notes_first

TIME_BUDGET_S = {1: 60, 2: 90, 3: 120}  # by difficulty: easy · medium · hard


class BreadthRound(RoundSession):
    name: ClassVar[str] = "breadth"
    title: ClassVar[str] = "ML breadth rapid-fire"
    max_follow_ups: ClassVar[int] = 1
    voice: ClassVar[str] = "rapid"  # one short question on a missed point
    adaptive: ClassVar[bool] = True

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        bank = ctx.bank.for_round("breadth")
        derived = ctx.notes.note_questions("breadth", ctx.bank.questions)
        ctx.notes.consider(bank + derived)
        picked = notes_first(ctx, bank, derived, config.n, config.seed)
        if not picked:
            raise ValueError("the question bank has no breadth questions")
        return adaptive_state(ctx, config, bank + derived, picked, _item)

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        """Only on an answer that got something right: a blank or a miss moves straight on."""
        if not any(c.covered for c in grade.criteria):
            return None
        return super().follow_up(item, answer, grade)


def _item(q) -> Item:
    return Item(question=q, text=q.prompt, time_budget_s=TIME_BUDGET_S.get(q.difficulty, 90))
