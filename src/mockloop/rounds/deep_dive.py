"""Project deep dive: the candidate picks a project note (or pastes a summary) and is walked
through background → alternatives and trade-offs → challenges → impact → reflection.

Each phase is graded against its criterion of the five-part deep-dive rubric. The interviewer
presses (up to two follow-ups a phase) on any decision stated without a justification — quoting
the candidate's own sentence — and on any impact given without a number, before probing the
costliest missed point. The whole transcript is graded against the full rubric at the end.
"""

from __future__ import annotations

from typing import ClassVar

from mockloop.grading.signals import decisions, quantities
from mockloop.models import Grade
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    select_questions,
    stage_question,
)
from mockloop.rounds.followups import FollowUp, choose_follow_up

PHASE_QUESTIONS = {
    "background": "What business problem did it solve, what existed before, and what was your role?",
    "alternatives": "What did you build, and which other approaches did you consider? Why this one?",
    "challenges": "What was the hardest problem along the way, technical or with other teams, and "
    "how did you resolve it?",
    "impact": "What impact did it have, and how do you know?",
    "reflection": "Looking back, what would you do differently, and where does it fall short today?",
}
PRESS_DECISION = (
    "You said: “{sentence}” Why that choice — what else was on the table, and what did it cost?"
)
PRESS_NUMBER = (
    "Can you put a number on that impact — against which baseline, and how was it measured?"
)


def project_label(ctx: Context, project: str | None) -> tuple[str, str | None]:
    """(how the project is named in questions, the note source if it is a note)."""
    notes = ctx.notes.projects()
    if project:
        for source, title in notes.items():
            if project in (source, title) or source.endswith(project):
                return f"“{_short(title)}”", source
        return "the project you described", None
    if notes:
        source, title = next(iter(notes.items()))
        return f"“{_short(title)}”", source
    return "a project you are proud of", None


def _short(title: str) -> str:
    return title.split(":", 1)[-1].strip() if title.lower().startswith("project:") else title


class DeepDiveRound(RoundSession):
    name: ClassVar[str] = "deep-dive"
    title: ClassVar[str] = "project deep dive"
    max_follow_ups: ClassVar[int] = 2
    voice: ClassVar[str] = "story"

    @staticmethod
    def choose_prompt(ctx: Context, config: RoundConfig, source: str | None):
        """A pinned prompt; else the bank angle closest to the project note; else the usual order."""
        bank = [q for q in ctx.bank.for_round("deep-dive") if q.rubric is not None]
        if config.question_id:
            return ctx.bank.get(config.question_id)
        ordered = select_questions(ctx, bank, len(bank), config.seed)
        chunks = ctx.notes.project_chunks(source) if source else []
        if chunks and ordered:
            centroid = ctx.notes.vectors(chunks).mean(axis=0)
            sims = ctx.notes.encode([q.prompt for q in ordered]) @ centroid
            return ordered[int(sims.argmax())]
        return ordered[0] if ordered else None

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        label, source = project_label(ctx, config.project)
        parent = cls.choose_prompt(ctx, config, source)
        if parent is None or parent.rubric is None:
            raise ValueError("the question bank has no project deep-dive question with a rubric")
        items = []
        for i, c in enumerate(parent.rubric.criteria):
            sub = stage_question(parent, c, PHASE_QUESTIONS.get(c.id))
            text = sub.prompt if i else f"{parent.prompt}\n\nLet's take {label}. {sub.prompt}"
            stage = c.description.split("—")[0].strip()
            items.append(Item(question=sub, text=text, stage=stage, parent=parent.id))
        extra = {"project": label, "project_source": source}
        if config.project and source is None:
            extra["project_summary"] = config.project  # pasted text: kept for the report
        return RoundState(config=config, items=items, parents=[parent], extra=extra)

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        if not answer.strip():
            return None
        latest = self.state.answers[-1] if self.state.answers else answer
        pressed = self.state.extra.setdefault("pressed", [])
        _, unjustified, _ = decisions(latest)
        for sentence in unjustified:
            if sentence not in pressed:
                pressed.append(sentence)
                return FollowUp(
                    PRESS_DECISION.format(sentence=sentence.strip()), "justification", "press"
                )
        key = item.question.id.rsplit("#", 1)[-1]
        if key == "impact" and not quantities(answer) and PRESS_NUMBER not in self.state.asked:
            return FollowUp(PRESS_NUMBER, "impact with a number", "press")
        if grade.overall >= 4.0 or grade.overall < 0.25:
            return None  # presses above apply to any answer; probing needs something relevant
        return choose_follow_up(
            item.question,
            grade,
            settings=self.ctx.settings,
            asked=self.asked_in_round,
            scope=self.state.parents[0] if self.state.parents else None,
            answer=answer,
            voice=self.voice,
            probed=self.probed,
            note_for=lambda point: self.note_for(point, item.question),
        )
