"""Project deep dive: the candidate picks a project note (or pastes a summary) and is walked
through background → alternatives and trade-offs → challenges → impact → reflection.

With a project note, the stage questions name its facts (mockloop.rounds.project: "You chose
XGBoost over the GRU sequence model — why, given the 0.3 s latency budget?"), follow-ups probe
what the answer left out of the note, and every grade is checked against the note: a number that
contradicts it becomes a notice, impact the note states but the answer never told becomes a
missed point of the impact criterion, and the notes to reread come from that project only. With
an LLM, only that project's notes go into `<notes>`.

Each phase is graded against its criterion of the five-part deep-dive rubric. The interviewer
presses (up to two follow-ups a phase) on any decision stated without a justification — quoting
the candidate's own sentence — and on any impact given without a number, before probing the
costliest missed point. The whole transcript is graded against the full rubric at the end.
"""

from __future__ import annotations

import re
from typing import ClassVar

from mockloop.grading.signals import decisions, quantities
from mockloop.models import Citation, Grade, Question
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
    stage_question,
)
from mockloop.rounds.followups import FollowUp, choose_follow_up, worth_probing
from mockloop.rounds.project import Fact, contradictions, first, project_facts, untold
from mockloop.rounds.selection import select_questions

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


# What each stage asks about, and which of the note's facts its follow-ups and checks read.
STAGE_KINDS = {
    "background": ("goal", "users", "data"),
    "alternatives": ("decision", "model", "constraint"),
    "challenges": ("failure",),
    "impact": ("result", "metric"),
    "reflection": ("failure", "constraint"),
}
PROBE_UNTOLD = "Your note also says: “{fact}” You did not mention that. How does it fit in?"


def _quoted(fact: Fact) -> str:
    return f"“{fact.short.rstrip('.')}.”"


def _number_phrase(fact: Fact) -> str | None:
    """`the 0.3 s latency budget` from "… has a 0.3 s latency budget, and …"."""
    for number in fact.numbers:
        m = re.search(re.escape(number) + r"\s+((?:[a-z][a-z\-]*\s+){0,1}[a-z][a-z\-]*)", fact.text)
        if m:
            return f"the {number} {m.group(1)}"
    return None


def _subject(fact: Fact) -> str:
    """What a result or metric is about: the words before its first verb or number."""
    m = re.match(
        r"^(.{3,40}?)\s+(?:fell|rose|dropped|went|was|were|improved|increased|decreased|grew|"
        r"lifted|reached|of|at|[\d$€£])",
        fact.text,
    )
    return (m.group(1) if m else " ".join(fact.text.split()[:3])).strip(" :,").lower()


def fact_prompts(facts: list[Fact]) -> dict[str, str]:
    """Stage key → a question naming the note's facts (stages without a fitting fact are left
    to the generic wording)."""
    out: dict[str, str] = {}
    goal, data = first(facts, "goal"), first(facts, "data")
    if goal:
        then = f" And the data: {_quoted(data)} How did you get labels you trusted?" if data else ""
        out["background"] = (
            f"Your note gives the goal as {_quoted(goal)} What existed before, who used it, and "
            f"what was your role?{then}"
        )
    decision = first(facts, "decision")
    budget = next((p for f in facts if f.kind == "constraint" if (p := _number_phrase(f))), None)
    if decision and decision.chosen and decision.over:
        given = f", given {budget}" if budget else ""
        out["alternatives"] = (
            f"You chose {decision.chosen} over {decision.over} — why{given}? What else was on the "
            "table, and what did the choice cost?"
        )
    elif (model := first(facts, "model")) is not None:
        out["alternatives"] = (
            f"Your note describes the model: {_quoted(model)} Which other approaches did you "
            "consider, and why this one?"
        )
    failures = [f for f in facts if f.kind == "failure"]
    if failures:
        out["challenges"] = (
            f"Your note records a setback: {_quoted(failures[0])} How did you find it, and how did "
            "you resolve it?"
        )
    measured = [_subject(f) for f in facts if f.kind in ("result", "metric") and f.numbers]
    if measured:
        what = " and ".join(dict.fromkeys(measured[:2]))
        out["impact"] = (
            f"Your note reports results on {what}. What impact did the project have, and how do "
            "you know — against which baseline?"
        )
    if len(failures) > 1:
        out["reflection"] = (
            f"Your note ends on {_quoted(failures[-1])} Looking back, what would you do "
            "differently, and where does the project fall short today?"
        )
    return out


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
        named = fact_prompts(project_facts(ctx.notes.project_chunks(source))) if source else {}
        items = []
        for i, c in enumerate(parent.rubric.criteria):
            sub = stage_question(parent, c, named.get(c.id) or PHASE_QUESTIONS.get(c.id))
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
        for fact in untold(answer, self.facts, STAGE_KINDS.get(key, ())):
            text = PROBE_UNTOLD.format(fact=fact.short)
            if text not in self.state.extra.get("follow_ups", []):
                return FollowUp(text, f"{fact.kind}: {fact.short}", "note", fact.chunk.citation)
        if not worth_probing(grade, answer):
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

    # -- the project note: facts, checks, and the only notes an LLM sees -------------------
    @property
    def facts(self) -> list[Fact]:
        source = self.state.extra.get("project_source")
        if not source:
            return []
        if getattr(self, "_facts_of", None) != source:
            self._facts = project_facts(self.ctx.notes.project_chunks(source))
            self._facts_of = source
        return self._facts

    def _notes_for(self, text: str, k: int = 3) -> list:
        source = self.state.extra.get("project_source")
        if not source or self.ctx.retriever is None or self.ctx.provider.is_offline:
            return super()._notes_for(text, k)
        try:
            return self.ctx.retriever.search(text, k=k, source=source)
        except Exception:  # noqa: BLE001 — a question can be asked without notes
            return []

    def _grade(self, question: Question, answer: str) -> Grade:
        grade = super()._grade(question, answer)
        if not self.facts or not answer.strip():
            return grade
        return check_against_note(grade, question, answer, self.facts)


def check_against_note(grade: Grade, question: Question, answer: str, facts: list[Fact]) -> Grade:
    """The grade with the note's findings added: contradicting numbers as notices (and feedback
    lines), impact the note states but the answer never told as missed points of the impact
    criterion, and citations narrowed to the project's own note."""
    grade = grade.model_copy(deep=True)
    source = facts[0].chunk.source
    for c in contradictions(answer, facts):
        if c.line not in grade.notices:
            grade.notices.append(c.line)
            grade.feedback = (grade.feedback + "\n" if grade.feedback else "") + c.line
    impact = next((c for c in grade.criteria if c.criterion_id == "impact"), None)
    cites = [c for c in grade.citations if c.source == source]
    if impact is not None:
        for fact in untold(answer, facts, ("result",)):
            point = f"Impact your note states but you did not tell: {fact.short}"
            if point not in impact.missing:
                impact.missing.append(point)
                cites.append(
                    Citation(
                        chunk_id=fact.chunk.id,
                        source=source,
                        heading_path=fact.chunk.heading_path,
                        page=fact.chunk.page,
                        point=point,
                    )
                )
    grade.citations = cites
    return grade
