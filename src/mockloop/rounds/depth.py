"""NLP depth and ranking depth: bank questions plus questions drawn from the candidate's notes.

Candidates are the round's bank questions, one question per paper-tracker entry that belongs to
the round (title + TL;DR, the TL;DR as reference answer), and one per note of the round that no
bank question covers (the note chunk as reference answer; see notes.py for how coverage and the
round are decided by content). Note questions lead, up to half the round; then due and weak,
covered topics first; at least one paper question when the notes have any (it stays in the round
whatever the difficulty does). The difficulty adapts to the answers (see base.py). One follow-up
per question on the costliest missed point.
"""

from __future__ import annotations

import random
from typing import ClassVar

from mockloop.models import Question
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    adaptive_state,
)
from mockloop.rounds.selection import fresh, notes_first

DEPTH_ROUNDS = ("nlp", "ranking")


def one_paper(ctx: Context, papers: list[Question], topics: set[str], seed: int) -> Question:
    """The paper for the round's paper slot: never asked (or due again) first, on a topic the
    round does not already have, chosen by the seed."""
    order = sorted(papers, key=lambda q: q.id)
    random.Random(seed).shuffle(order)
    unseen = {q.id for q in fresh(ctx, order)}
    return min(order, key=lambda q: (q.id not in unseen, q.topic in topics))


class DepthRound(RoundSession):
    max_follow_ups: ClassVar[int] = 1
    adaptive: ClassVar[bool] = True

    @classmethod
    def candidates(cls, ctx: Context) -> tuple[list[Question], list[Question], list[Question]]:
        """(bank questions, note-derived questions, paper questions) for this round."""
        bank = ctx.bank.for_round(cls.name)
        everything = ctx.bank.questions
        others = [r for r in DEPTH_ROUNDS if r != cls.name]
        papers = [
            ctx.notes.paper_question(c, cls.name)
            for c in ctx.notes.papers_for(cls.name, others, everything)
        ]
        derived = ctx.notes.note_questions(cls.name, everything)
        return bank, derived, papers

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        bank, derived, papers = cls.candidates(ctx)
        ctx.notes.consider(bank + derived + papers)
        picked = notes_first(ctx, bank + papers, derived, config.n, config.seed)
        if papers and not any(q.id.startswith("paper:") for q in picked):
            paper = [one_paper(ctx, papers, {q.topic for q in picked}, config.seed)]
            last = max(
                (i for i, q in enumerate(picked) if not q.id.startswith("note:")),
                default=-1,
            )
            if len(picked) < config.n:
                picked = picked + paper
            elif last >= 0:
                picked = picked[:last] + picked[last + 1 :] + paper
        if not picked:
            raise ValueError(
                f"no {cls.name} questions: the bank has none and no notes are ingested"
            )
        pinned = [q.id for q in picked if q.id.startswith("paper:")]
        return adaptive_state(
            ctx,
            config,
            bank + derived + papers,
            picked,
            lambda q: Item(question=q, text=q.prompt),
            pinned=pinned,
        )
