"""ML system design review: one prompt walked stage by stage, the way a design review runs.

Stages are the prompt's rubric criteria in order (requirements and business objective → metrics
→ ML framing → data and labels → features → model and loss → offline eval → online eval/A-B →
serving and scale → monitoring). Each scenario words its own stage prompts in the bank
(`stages:`, e.g. for fraud: "Chargebacks arrive weeks late: what are your labels?"); the generic
STAGE_QUESTIONS stand in for a stage a scenario leaves out. The round walks as many stages as
asked for (`n`, the Questions slider): requirements first, then the heaviest stages of the
rubric, in rubric order (`pick_stages`); the whole-answer grade is against those stages only.
Each stage's answer is graded against that stage's criterion;
one follow-up per stage probes its costliest missed point and points at the candidate's own
notes that hold it (e.g. a note on position bias when labels come from clicks). The candidate
may drive the order (`goto("serving")`, `/stage serving` in the terminal), and a stage the
earlier answers already covered is credited and skipped. At the end, everything said is graded
against the whole rubric: that grade is the one stored for the prompt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from mockloop.models import Grade, Question
from mockloop.rounds.base import (
    Context,
    Item,
    ItemResult,
    Notice,
    RoundConfig,
    RoundSession,
    RoundState,
    stage_question,
)
from mockloop.rounds.followups import FollowUp, choose_follow_up, worth_probing
from mockloop.rounds.selection import select_questions

STAGE_QUESTIONS = {
    "requirements": "What is the business objective, and what do you need to pin down about users, "
    "scale and constraints before designing anything?",
    "metrics": "How will you know it works? Give me the offline and online success metrics.",
    "framing": "How do you frame this as a machine-learning problem: what exactly does the model predict?",
    "data": "Where do the training data and labels come from, and what can go wrong with them?",
    "features": "Which features would you build, and where does each one come from?",
    "model": "Which model and loss would you start with, and what would you move to later?",
    "offline_eval": "How do you evaluate the model offline before it reaches any user?",
    "online_eval": "How do you test it online and decide whether to launch?",
    "serving": "How does this run in production within the latency and scale budget?",
    "monitoring": "After launch, what do you monitor, and how do you keep the model fresh?",
}
COVERED_ENOUGH = 0.5
FIRST_STAGE = "requirements"  # a review opens by pinning the problem down, whatever n is


def pick_stages(criteria: list, n: int) -> list:
    """The n stages a review of this length walks, in rubric order: requirements, then the
    heaviest (ties: rubric order). `[req 1, metrics 2, data 3, model 3], n=3 -> req, data, model`."""
    if n >= len(criteria):
        return list(criteria)
    first = [c for c in criteria if c.id == FIRST_STAGE][:1]
    rest = sorted(
        (c for c in criteria if c not in first), key=lambda c: (-c.weight, criteria.index(c))
    )
    keep = first + rest[: max(0, n - len(first))]
    return [c for c in criteria if c in keep]


def narrowed(question: Question, criteria: list) -> Question:
    """The question graded against these criteria only (the stages a shorter review asked)."""
    if len(criteria) == len(question.rubric.criteria):
        return question
    rubric = question.rubric.model_copy(update={"criteria": list(criteria)})
    return question.model_copy(
        update={"rubric": rubric}
    )  # a later stage skips when every key point is evidenced at this score


class MlsdRound(RoundSession):
    name: ClassVar[str] = "mlsd"
    title: ClassVar[str] = "ML system design"
    max_follow_ups: ClassVar[int] = 1
    voice: ClassVar[str] = "design"

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        bank = [q for q in ctx.bank.for_round("mlsd") if q.rubric is not None]
        if config.question_id:
            chosen = ctx.bank.get(config.question_id)
            if chosen is None or chosen.round != "mlsd":
                raise ValueError(f"no system-design prompt with id {config.question_id!r}")
        else:
            picked = select_questions(ctx, bank, 1, config.seed)
            if not picked:
                raise ValueError("the question bank has no system-design prompts")
            chosen = picked[0]
        stages = pick_stages(chosen.rubric.criteria, config.n)
        chosen = narrowed(chosen, stages)
        items = []
        for i, c in enumerate(stages):
            sub = stage_question(chosen, c, chosen.stages.get(c.id) or STAGE_QUESTIONS.get(c.id))
            text = (
                sub.prompt
                if i
                else f"{chosen.prompt}\n\nLet's start with {c.description.lower()}. {sub.prompt}"
            )
            items.append(Item(question=sub, text=text, stage=c.description, parent=chosen.id))
        return RoundState(config=config, items=items, parents=[chosen])

    @property
    def parent(self) -> Question:
        return self.state.parents[0]

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        if not worth_probing(grade, answer):
            return None
        return choose_follow_up(
            item.question,
            grade,
            settings=self.ctx.settings,
            asked=self.asked_in_round,
            scope=self.parent,
            answer=answer,
            voice=self.voice,
            probed=self.probed,
            note_for=lambda point: self.note_for(point, self.parent),
        )

    def after_item(self, item: Item, result: ItemResult) -> Iterator[Notice]:
        """Credit and skip the next stages the transcript has already covered."""
        transcript = "\n\n".join(r.answer for r in self.state.results if r.answer.strip())
        if not transcript:
            return
        whole = self._offline_grade(self.parent, transcript, cite=False)  # coverage only
        covered = {
            c.criterion_id for c in whole.criteria if not c.missing and c.score >= COVERED_ENOUGH
        }
        while self.state.pos < len(self.state.items):
            nxt = self.state.items[self.state.pos]
            key = nxt.question.id.rsplit("#", 1)[-1]
            if key not in covered:
                break
            grade = self._offline_grade(nxt.question, transcript)
            self.state.results.append(
                ItemResult(
                    question_id=nxt.question.id,
                    topic=nxt.question.topic,
                    prompt=nxt.text,
                    stage=nxt.stage,
                    parent=nxt.parent,
                    grade=grade,
                    covered_earlier=True,
                )
            )
            self.state.pos += 1
            self._save()
            yield Notice(text=f"You've already covered {nxt.stage.lower()}; moving on.")
