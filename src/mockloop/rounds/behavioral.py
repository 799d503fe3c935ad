"""Behavioral round: bank questions graded on STAR (+ ownership, a quantified result, reflection).

Before each question the interviewer suggests which of the candidate's own stories (notes under
behavioral/ or tagged star/behavioral) fits best, by the bundled encoder. One follow-up asks for
the STAR part that cost the answer most — the result in numbers, what *you* did, the lesson —
in words that name the part, never the rubric's key points.
"""

from __future__ import annotations

from typing import ClassVar

from mockloop.models import Grade, Question
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    select_questions,
)
from mockloop.rounds.followups import FollowUp, choose_follow_up
from mockloop.rounds.notes import as_hit

STAR_FOLLOW_UPS = {
    "situation": "Set the scene for me: where was this, and what was at stake?",
    "task": "What exactly were you responsible for in that situation?",
    "action": "Walk me through what you personally did, step by step, and why that way.",
    "result": "How did it end, and did it solve the original problem?",
    "ownership": "Which decisions were yours, and what would you own if it had gone wrong?",
    "quantified_result": "Can you put a number on the outcome, compared with where you started?",
    "reflection": "What did you learn from it, and what have you done differently since?",
}
MIN_STORY_COSINE = 0.2


def suggest_story(ctx: Context, question: Question) -> str | None:
    """'From your notes, the story that fits best: “…” (source § heading)' or None."""
    stories = ctx.notes.stories()
    best = ctx.notes.best(question.prompt, stories, k=1)
    if not best or best[0][1] < MIN_STORY_COSINE:
        return None
    chunk = best[0][0]
    title = (chunk.title or chunk.source).removeprefix("STAR:").strip()
    return f"From your notes, the story that fits best: “{title}” ({as_hit(chunk).citation})"


class BehavioralRound(RoundSession):
    name: ClassVar[str] = "behavioral"
    title: ClassVar[str] = "behavioral"
    max_follow_ups: ClassVar[int] = 1

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        picked = select_questions(ctx, ctx.bank.for_round("behavioral"), config.n, config.seed)
        if not picked:
            raise ValueError("the question bank has no behavioral questions")
        items = [Item(question=q, text=q.prompt, suggestion=suggest_story(ctx, q)) for q in picked]
        return RoundState(config=config, items=items)

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        if grade.overall >= 4.0 or grade.overall < 0.25 or not answer.strip():
            return None
        worst = sorted(grade.criteria, key=lambda c: -c.weight * (1 - c.score))
        for c in worst:
            if c.missing and c.criterion_id in STAR_FOLLOW_UPS:
                text = STAR_FOLLOW_UPS[c.criterion_id]
                if text not in self.state.asked:
                    return FollowUp(text, c.missing[0], "star")
        return choose_follow_up(
            item.question, grade, settings=self.ctx.settings, asked=self.asked_in_round
        )
