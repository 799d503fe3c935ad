"""NLP depth and ranking depth: bank questions plus questions drawn from the candidate's notes.

Candidates are the round's bank questions, one question per paper-tracker entry that belongs to
the round (title + TL;DR, the TL;DR as reference answer), and one per note of the round whose
topic the bank has no question for (the note chunk as reference answer). Due and weak first,
covered topics first; at least one paper question when the notes have any. One follow-up per
question on the costliest missed point.
"""

from __future__ import annotations

from typing import ClassVar

from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    select_questions,
)

DEPTH_ROUNDS = ("nlp", "ranking")


class DepthRound(RoundSession):
    max_follow_ups: ClassVar[int] = 1

    @classmethod
    def candidates(cls, ctx: Context) -> tuple[list, list]:
        """(bank and note-derived questions, paper questions) for this round."""
        bank = ctx.bank.for_round(cls.name)
        others = [r for r in DEPTH_ROUNDS if r != cls.name]
        papers = [
            ctx.notes.paper_question(c, cls.name) for c in ctx.notes.papers_for(cls.name, others)
        ]
        derived = ctx.notes.note_questions(cls.name, bank)
        return bank + derived, papers

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        pool, papers = cls.candidates(ctx)
        picked = select_questions(ctx, pool + papers, config.n, config.seed)
        if papers and not any(q.id.startswith("paper:") for q in picked):
            paper = select_questions(ctx, papers, 1, config.seed)
            picked = picked[: max(0, config.n - 1)] + paper
        if not picked:
            raise ValueError(
                f"no {cls.name} questions: the bank has none and no notes are ingested"
            )
        return RoundState(config=config, items=[Item(question=q, text=q.prompt) for q in picked])
