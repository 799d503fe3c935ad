"""Behavioral round: bank questions graded on STAR (+ ownership, a quantified result, reflection).

Before each question the interviewer suggests which of the candidate's own stories (notes under
behavioral/ or tagged star/behavioral) fits best, by the bundled encoder. One follow-up asks for a
STAR part the answer missed — the result in numbers, what *you* did, the lesson — chosen from
the question's own follow-ups and generic STAR phrasings by which missed point it is closest to,
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

# Interviewer phrasings per STAR part. One is asked only when, among the question's key points,
# the point it is closest to is one the answer missed (see followups.choose_follow_up).
STAR_FOLLOW_UPS = {
    "situation": ["Set the scene for me: which team or product was this, and what was at stake?"],
    "task": ["What exactly were you responsible for there, and under what constraint?"],
    "action": [
        "What did you personally do, step by step?",
        "Why did you go that way rather than another?",
        "Who did you have to bring along, and how did you get them on board?",
        "How did you check along the way that it was working?",
    ],
    "result": [
        "How did it end, and did it solve the original problem?",
        "What changed for the team, the users or the business?",
    ],
    "ownership": ["Which decisions were yours, and what part of the setbacks do you own?"],
    "quantified_result": [
        "Can you put a number on the outcome?",
        "Compared with what baseline or target?",
    ],
    "reflection": [
        "What did you take away from it?",
        "If it happened again tomorrow, what would you change?",
        "Where have you used that lesson since?",
    ],
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
    voice: ClassVar[str] = "story"

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
        star = [p for c in grade.criteria for p in STAR_FOLLOW_UPS.get(c.criterion_id, [])]
        return choose_follow_up(
            item.question,
            grade,
            settings=self.ctx.settings,
            asked=self.asked_in_round,  # no follow-up twice in a round, STAR phrasings included
            candidates=item.question.follow_ups + star,
            answer=answer,
            voice=self.voice,
            probed=self.probed,
        )
