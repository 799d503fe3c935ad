"""The round state machine every round shares: start → ask → answer → grade → follow-up or next
→ summary, logged to SQLite as it happens and resumable after a crash.

A round is a plan of Items (a bank or note-derived question, or one stage of a system-design
review or project deep dive). The session moves through them:

    ask item ──answer──► grade ──missed points & follow-ups left?──► ask follow-up ──answer──┐
       ▲                   │ no                                                             │
       │                   ▼                                                                │
       └──── next item ◄── feedback (now, or deferred to the summary) ◄── grade all answers ◄┘

Every transition is one `SessionLog.write` (turns + grade + state in one transaction), so a
killed process resumes at the last question asked; an answer already sent is graded on resume.
Callers (terminal, Gradio) drive it through `begin/answer/skip/hint/goto/end`, each returning
typed Steps; the `*_iter` variants also yield `Delta` pieces while an LLM streams the
interviewer's words. `Ask.text` is authoritative: a streamed draft that would reveal the rubric
is replaced by the offline wording (and a Notice says so).

Adaptive rounds (breadth, NLP and ranking depth) move the difficulty: a strong answer
(overall ≥ 3.5) sends the next question up a level, a weak one (< 2) down (progress.next_level);
the next question is the first of the planned ones, then of a reserve of candidates in the same
due/weak/new order (rounds/selection.py), at that level (`bring_forward`). The level of every answer is logged with its
grade, and the summary says at which level the candidate held.

Per-round behaviour lives in the subclasses (breadth.py, mlsd.py, deep_dive.py, behavioral.py,
depth.py): how the plan is built, how follow-ups and hints are worded.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from mockloop import prompts
from mockloop.bank import Bank
from mockloop.config import Settings
from mockloop.grading import scoring
from mockloop.llm import LLMError, Provider, TruncatedReply
from mockloop.models import Citation, Grade, Question
from mockloop.progress import LEVELS, START_LEVEL, held_level, next_level
from mockloop.reports.feedback import grade_view
from mockloop.rounds.followups import (
    FollowUp,
    all_points,
    choose_follow_up,
    covered_so_far,
    hint_for,
    leaks,
    listened,
    missed_points,
    missed_with_criteria,
    worth_probing,
)
from mockloop.rounds.notes import NotesIndex
from mockloop.rounds.selection import reserve_for
from mockloop.sessions import GradeRecord, Part, SessionLog, Turn

FeedbackTiming = Literal["each", "end"]


# -- steps: what a round hands back to the terminal or the UI ----------------------------------
class Ask(BaseModel):
    """The interviewer asks something and waits for an answer."""

    kind: Literal["ask"] = "ask"
    text: str
    question_id: str
    topic: str
    index: int  # 1-based position in the plan
    total: int
    follow_up: bool = False
    stage: str | None = None
    time_budget_s: int | None = None
    suggestion: str | None = None  # e.g. the story from the candidate's notes that fits
    note: str | None = None  # a follow-up: the candidate's note that holds what it probes
    level: int | None = None  # the question's difficulty, 1–3


class Feedback(BaseModel):
    kind: Literal["feedback"] = "feedback"
    question_id: str
    topic: str
    prompt: str
    stage: str | None = None
    grade: Grade
    elapsed_s: float | None = None
    time_budget_s: int | None = None
    text: str


class Hint(BaseModel):
    kind: Literal["hint"] = "hint"
    question_id: str
    text: str


class Notice(BaseModel):
    kind: Literal["notice"] = "notice"
    text: str


class Delta(BaseModel):
    """A piece of the interviewer's words while an LLM streams them (a preview of the next Ask)."""

    kind: Literal["delta"] = "delta"
    text: str


class ItemResult(BaseModel):
    question_id: str
    topic: str
    prompt: str
    stage: str | None = None
    parent: str | None = None
    answer: str = ""
    grade: Grade | None = None
    skipped: bool = False
    covered_earlier: bool = False  # a design stage the candidate had already covered
    hints: int = 0
    elapsed_s: float | None = None
    time_budget_s: int | None = None
    follow_ups: list[str] = Field(default_factory=list)
    level: int | None = None  # the difficulty it was asked at, 1–3


class TopicScore(BaseModel):
    topic: str
    mean: float
    answers: int


class Summary(BaseModel):
    kind: Literal["summary"] = "summary"
    session_id: str
    round: str
    items: list[ItemResult]
    finals: list[Feedback] = Field(default_factory=list)  # whole-question grades (mlsd, deep dive)
    deferred: list[Feedback] = Field(default_factory=list)  # feedback held back with --feedback end
    overall: float | None = None
    hire_signal: str | None = None
    strongest: list[TopicScore] = Field(default_factory=list)
    weakest: list[TopicScore] = Field(default_factory=list)
    reread: list[Citation] = Field(default_factory=list)
    ended_early: bool = False
    level: int | None = None  # the highest level the candidate held (progress.held_level)
    levels: list[int] = Field(default_factory=list)  # the level of each question, in order
    adaptive: bool = False
    text: str = ""


Step = Annotated[Ask | Feedback | Hint | Notice | Delta | Summary, Field(discriminator="kind")]


# -- persisted state -------------------------------------------------------------------------
class RoundConfig(BaseModel):
    round: str
    n: int = 5
    feedback: FeedbackTiming = "each"
    llm: str = "offline"
    seed: int = 0
    project: str | None = None  # deep dive: a project note's source, or a pasted summary
    question_id: str | None = None  # pin one bank question (mlsd, deep dive)


class Item(BaseModel):
    question: Question  # what the answer is graded against
    text: str  # the offline wording of the ask
    stage: str | None = None
    parent: str | None = None  # a stage item: the id of the whole question it belongs to
    time_budget_s: int | None = None
    suggestion: str | None = None


class RoundState(BaseModel):
    config: RoundConfig
    items: list[Item]
    parents: list[Question] = Field(default_factory=list)
    reserve: list[Item] = Field(default_factory=list)  # adaptive rounds: candidates not planned
    level: int | None = None  # adaptive rounds: the level the next question should be at
    pos: int = 0
    answers: list[str] = Field(default_factory=list)  # the current item: main answer, follow-ups
    asked: list[str] = Field(default_factory=list)  # follow-ups asked for the current item
    first_grade: Grade | None = None
    hints: int = 0
    first_elapsed: float | None = None
    pending: Ask | None = None
    asked_at: float | None = None
    results: list[ItemResult] = Field(default_factory=list)
    deferred: list[Feedback] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    summary: Summary | None = None

    @model_validator(mode="before")
    @classmethod
    def _summary_parts(cls, data):
        """A saved summary leaves out the results and deferred feedback the state holds anyway
        (see `RoundSession._write`): put them back."""
        summary = data.get("summary") if isinstance(data, dict) else None
        if isinstance(summary, dict) and "items" not in summary:
            summary = {
                **summary,
                "items": data.get("results", []),
                "deferred": data.get("deferred", []),
            }
            data = {**data, "summary": summary}
        return data


# The lists of a RoundState saved apart from the rest, one row per element (sessions.Part):
# every write stores the elements that changed, not every earlier grade again. Results and
# deferred feedback are only ever appended to; the plan's lists are reordered at times.
STATE_LISTS = ("items", "reserve", "parents", "results", "deferred")
APPENDED = frozenset(["results", "deferred"])
SUMMARY_REPEATS = {"items", "deferred"}  # what a saved summary leaves out: the state has them


class RoundOver(RuntimeError):
    """The round has ended; there is nothing to answer."""


@dataclass
class Context:
    """What a round needs from the outside world; tests pass fakes for any of it."""

    settings: Settings
    log: SessionLog
    provider: Provider
    retriever: Any | None
    bank: Bank
    clock: Callable[[], float] = time.time
    notices: list[str] = field(default_factory=list)

    @cached_property
    def notes(self) -> NotesIndex:
        return NotesIndex(self.retriever, self.settings)


# -- pure renderers (the CLI prints them; the UI may use them or its own) --------------------
def render_feedback(
    grade: Grade, *, elapsed_s: float | None = None, budget_s: int | None = None
) -> str:
    """A Grade as plain text: score, evidence, missing points, notes to reread, notices."""
    lines = [f"Score {grade.overall:.1f}/5 · {grade.hire_signal}"]
    if elapsed_s is not None and budget_s:
        over = " — over time" if elapsed_s > budget_s else ""
        lines[0] += f"  (answered in {elapsed_s:.0f}s of {budget_s}s{over})"
    view = grade_view(grade, covered=2, missing=3)  # what every view shows (reports/feedback.py)
    for c in view.criteria:
        lines.append(f"  {c.label}: {c.score:.2f}")
        lines += [f"    ✓ “{quote}”" for _, quote in c.covered]
        lines += [f"    ✗ missing: {m.text}" for m in c.missing]
    lines += [f"  ⚑ red flag: {flag}" for flag in view.red_flags]
    if view.text:
        lines.append(view.text)
    if view.reread:
        lines.append("Reread: " + "; ".join(view.reread_labels[:4]))
    lines += [f"Note: {n}" for n in view.notices]
    return "\n".join(lines)


def render_summary(s: Summary) -> str:
    """The end-of-round summary as plain text."""
    head = f"Round summary — {s.round}"
    if s.overall is not None:
        head += f": {s.overall:.1f}/5 · {s.hire_signal}"
    if s.ended_early:
        head += " (ended early)"
    lines = [head]
    for i, r in enumerate(s.items, 1):
        label = r.stage or r.topic
        if r.grade is None:
            score = "not answered"
        else:
            score = f"{r.grade.overall:.1f}/5 {r.grade.hire_signal}"
        flags = " (skipped)" if r.skipped else " (covered earlier)" if r.covered_earlier else ""
        timing = ""
        if r.elapsed_s is not None and r.time_budget_s:
            timing = f", {r.elapsed_s:.0f}s of {r.time_budget_s}s"
        lines.append(f"  {i}. [{label}] {score}{flags}{timing}")
    for f in s.finals:
        lines.append(
            f"Whole answer to {f.question_id}: {f.grade.overall:.1f}/5 · {f.grade.hire_signal}"
        )
    if s.adaptive and s.levels:
        lines.append(level_line(s.level, s.levels))
    if s.items:
        strong = ", ".join(f"{t.topic} ({t.mean:.1f})" for t in s.strongest)
        lines.append("Strongest: " + (strong or "none yet (no topic reached 2.5)"))
    if s.weakest:
        lines.append("Weakest: " + ", ".join(f"{t.topic} ({t.mean:.1f})" for t in s.weakest))
    if s.reread:
        lines.append("Notes to reread:")
        lines += [f"  - {c.label}" for c in s.reread]
    return "\n".join(lines)


def level_line(held: int | None, levels: list[int]) -> str:
    """`(2, [2, 3, 2]) -> 'Difficulty: held at level 2 of 3 (levels asked 2 → 3 → 2)'`."""
    asked = " → ".join(str(lv) for lv in levels)
    top = LEVELS[-1]
    if held is None:
        return f"Difficulty: no level held yet, every answer below 2/5 (levels asked {asked})"
    return f"Difficulty: held at level {held} of {top} (levels asked {asked})"


# -- the adaptive plan: questions brought forward as the level moves -------------------------
def bring_forward(state: RoundState, level: int) -> None:
    """Put at the cursor the first question, planned then reserved, nearest `level`, preferring
    a topic the round has not asked yet. A reserved one takes the place of the last planned
    question that is not pinned (which goes back to the reserve), so the round keeps its length."""
    s = state
    if s.pos >= len(s.items):
        return
    asked = {r.topic for r in s.results}
    later = s.items[s.pos :]
    pool = later + s.reserve

    def key(i: int) -> tuple:
        q = pool[i].question
        return (abs(q.difficulty - level), q.topic in asked, i)

    best = min(range(len(pool)), key=key)
    if best == 0:
        return
    if best < len(later):
        s.items.insert(s.pos, s.items.pop(s.pos + best))
        return
    # A reserved question comes in; the last planned one that is not pinned (a depth round's
    # paper) goes back to the front of the reserve.
    pinned = set(s.extra.get("pinned", []))
    drop = next(
        (j for j in range(len(s.items) - 1, s.pos - 1, -1) if s.items[j].question.id not in pinned),
        None,
    )
    if drop is None:
        return
    chosen = s.reserve.pop(best - len(later))
    s.reserve.insert(0, s.items.pop(drop))
    s.items.insert(s.pos, chosen)


def adaptive_state(
    ctx: Context,
    config: RoundConfig,
    candidates: list[Question],
    picked: list[Question],
    make_item: Callable[[Question], Item],
    pinned: list[str] = (),
) -> RoundState:
    """The plan of an adaptive round: the picked questions, a reserve of the other candidates
    (up to n per level), opening at START_LEVEL."""
    reserve = reserve_for(ctx, candidates, picked, config.seed, per_level=config.n)
    state = RoundState(
        config=config,
        items=[make_item(q) for q in picked],
        reserve=[make_item(q) for q in reserve],
        level=START_LEVEL,
        extra={"pinned": list(pinned)} if pinned else {},
    )
    bring_forward(state, START_LEVEL)
    return state


def stage_question(parent: Question, criterion, prompt: str | None = None) -> Question:
    """One stage of a staged round: the parent's prompt narrowed to one rubric criterion."""
    from mockloop.models import Rubric

    return Question(
        id=f"{parent.id}#{criterion.id}",
        round=parent.round,
        topic=parent.topic,
        tags=parent.tags,
        prompt=prompt or f"Next: {criterion.description.lower()}. Walk me through it.",
        difficulty=parent.difficulty,
        follow_ups=parent.follow_ups,
        rubric=Rubric(version=parent.rubric.version, criteria=[criterion]),
    )


# -- the state machine -----------------------------------------------------------------------
class RoundSession:
    """One running round. Subclasses set the class attributes and override `plan`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    max_follow_ups: ClassVar[int] = 1
    voice: ClassVar[str] = "knowledge"  # how follow-ups and hints are worded (followups.TEMPLATES)
    adaptive: ClassVar[bool] = False  # whether the difficulty follows the answers

    def __init__(self, ctx: Context, state: RoundState, session_id: str):
        self.ctx = ctx
        self.state = state
        self.session_id = session_id
        self._saved: dict[str, list[str]] = {}  # part → the JSON of each element as last written

    # -- planning (per round) --------------------------------------------------------------
    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        raise NotImplementedError

    # -- hooks (per round) -----------------------------------------------------------------
    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        """The offline follow-up for an answer: the costliest missed point, grounded in notes."""
        if not worth_probing(grade, answer):
            return None  # nothing relevant was said (nothing missed: choose_follow_up says so)
        return choose_follow_up(
            item.question,
            grade,
            settings=self.ctx.settings,
            asked=self.asked_in_round,
            answer=answer,
            voice=self.voice,
            note_for=lambda point: self.note_for(point, item.question),
            probed=self.probed,
        )

    @property
    def asked_in_round(self) -> list[str]:
        """Every follow-up asked so far in this round (none is asked twice)."""
        return self.state.extra.get("follow_ups", [])

    @property
    def probed(self) -> list[str]:
        """The key points already followed up on for the current item (none is probed twice)."""
        qid = self._item.question.id if self.state.pos < len(self.state.items) else None
        return [t for q, t in self.state.extra.get("probed", []) if q == qid]

    def hint_text(self, item: Item) -> str:
        """A nudge toward a missed point's topic (the costliest missed one after an answer, else
        the heaviest criterion's), a different point on each further hint; never rubric wording."""
        q = item.question
        parts = [self._nudge(item) or "Start from the definition, then why it matters."]
        note = self._source_hit(q) or self.note_for(q.prompt, q)
        if note is not None:
            parts.append(f"Your notes cover this in {note.citation}.")
        return " ".join(parts)

    def _nudge(self, item: Item, tries: int = 8) -> str | None:
        q = item.question
        if self.state.first_grade is not None:
            pairs = missed_with_criteria(self.state.first_grade)
        elif q.rubric is not None:
            heaviest = sorted(q.rubric.criteria, key=lambda c: -c.weight)
            pairs = [(p, c.id) for c in heaviest for p in c.key_points]
        else:
            pairs = [(p, "") for p in all_points(q)]
        if not pairs:
            return None
        given = self.state.extra.get("hints", [])  # a nudge already given this round is not
        parent = next((p for p in self.state.parents if p.id == item.parent), None)
        checked = [q] + ([parent] if parent is not None else [])
        others = all_points(parent or q)
        for point, criterion in pairs[:tries]:
            text = hint_for(
                point,
                criterion,
                prompt=f"{q.prompt}\n{item.text}",
                others=others,
                voice=self.voice,
                settings=self.ctx.settings,
            )
            if (
                text
                and not any(text in g for g in given)
                and not any(leaks(text, x) for x in checked)
            ):
                return text
        return None

    def after_item(self, item: Item, result: ItemResult) -> Iterator[Notice]:
        """Called once an item is graded for good (mlsd skips stages already covered)."""
        return iter(())

    # -- public API ------------------------------------------------------------------------
    @property
    def round(self) -> str:
        return self.name

    @property
    def current(self) -> Ask | None:
        return self.state.pending

    @property
    def finished(self) -> bool:
        return self.state.summary is not None

    def begin(self) -> list[Step]:
        return _settle(self.begin_iter())

    def answer(self, text: str, elapsed_s: float | None = None) -> list[Step]:
        return _settle(self.answer_iter(text, elapsed_s))

    def skip(self) -> list[Step]:
        return _settle(self.skip_iter())

    def goto(self, stage: str) -> list[Step]:
        return _settle(self.goto_iter(stage))

    def begin_iter(self) -> Iterator[Step]:
        """The first question, or, on resume, the question that was waiting (re-shown)."""
        if self.finished:
            yield self.state.summary
            return
        for n in self.ctx.notices:
            yield Notice(text=n)
        self.ctx.notices.clear()
        if self.state.pending is not None:
            self.state.asked_at = self.ctx.clock()  # the clock restarts when it is shown again
            self._save()
            yield self.state.pending
        elif self.state.answers:  # killed after the answer was saved, before it was graded
            yield from self._after_answer()
        else:
            yield from self._next()

    def answer_iter(self, text: str, elapsed_s: float | None = None) -> Iterator[Step]:
        ask = self._require_pending()
        text = text if isinstance(text, str) else ""
        if elapsed_s is None and self.state.asked_at is not None:
            elapsed_s = max(0.0, self.ctx.clock() - self.state.asked_at)
        if not ask.follow_up:
            self.state.first_elapsed = elapsed_s
        self.state.answers.append(text)
        self.state.pending = None
        meta = {
            "elapsed_s": round(elapsed_s, 1) if elapsed_s is not None else None,
            "follow_up": ask.follow_up,
        }
        if ask.time_budget_s and elapsed_s is not None:
            meta["over_budget"] = elapsed_s > ask.time_budget_s
        self._write([Turn("candidate", "answer", text, ask.question_id, meta)])
        yield from self._after_answer()

    def skip_iter(self) -> Iterator[Step]:
        ask = self._require_pending()
        item = self._item
        self.state.pending = None
        self._write([Turn("candidate", "skip", "", ask.question_id)])
        if ask.follow_up and self.state.first_grade is not None:
            yield from self._finish_item(self.state.first_grade)  # keep what was answered
            return
        grade = self._offline_grade(item.question, "")
        grade.notices.append("Skipped.")
        yield from self._finish_item(grade, skipped=True)

    def hint(self) -> Hint:
        ask = self._require_pending()
        text = self.hint_text(self._item)
        self.state.hints += 1
        self.state.extra.setdefault("hints", []).append(text)
        self._write([Turn("interviewer", "hint", text, ask.question_id)])
        return Hint(question_id=ask.question_id, text=text)

    def goto_iter(self, stage: str) -> Iterator[Step]:
        """Take a later stage next (the candidate drives the order); only between stages."""
        ask = self._require_pending()
        if ask.follow_up:
            yield Notice(text="Finish this follow-up (or /skip it) before changing stage.")
            yield ask
            return
        want = stage.strip().lower().replace(" ", "_")
        later = range(self.state.pos + 1, len(self.state.items))
        match = next(
            (j for j in later if self._stage_key(self.state.items[j]) == want), None
        ) or next(
            (
                j
                for j in later
                if want.replace("_", " ") in (self.state.items[j].stage or "").lower()
            ),
            None,
        )
        if match is None:
            names = [self._stage_key(self.state.items[j]) for j in later]
            yield Notice(text=f"No stage {stage!r} left; remaining: {', '.join(names) or 'none'}.")
            yield ask
            return
        items = self.state.items
        items.insert(self.state.pos, items.pop(match))
        self.state.pending = None
        yield from self._next()

    def end(self) -> Summary:
        """Stop now (/quit): grade what was answered, skip the rest, summarise."""
        if self.finished:
            return self.state.summary
        steps = _settle(self._end_iter())
        return next(s for s in steps if isinstance(s, Summary))

    def end_iter(self) -> Iterator[Step]:
        if self.finished:
            yield self.state.summary
            return
        yield from self._end_iter()

    def summary(self) -> Summary | None:
        return self.state.summary

    # -- transitions -----------------------------------------------------------------------
    @property
    def _item(self) -> Item:
        return self.state.items[self.state.pos]

    def _require_pending(self) -> Ask:
        if self.state.pending is None:
            raise RoundOver(
                "this round has no open question" + (" (it has ended)" if self.finished else "")
            )
        return self.state.pending

    def _after_answer(self) -> Iterator[Step]:
        item = self._item
        combined = "\n\n".join(a for a in self.state.answers if a.strip())
        grade = self._grade(item.question, combined)
        for notice in grade.notices:
            if "LLM judge" in notice:  # the candidate should know the model was not used
                yield Notice(text=notice)
        if len(self.state.asked) < self.max_follow_ups and combined:
            heard = self._listen(item, combined, grade)
            fu = self.follow_up(item, combined, heard)
            if fu is not None:
                if self.state.first_grade is None:
                    self.state.first_grade = grade
                yield from self._ask_follow_up(item, fu, combined, heard)
                return
        yield from self._finish_item(grade)

    def _listen(self, item: Item, answer: str, grade: Grade) -> Grade:
        """The grade with every missed point that this answer or an earlier one in the round
        already covers taken off the missed list: follow-ups only ask about the rest."""
        missing = [p for c in grade.criteria for p in c.missing]
        if not missing:
            return grade
        earlier = [r.answer for r in self.state.results if r.answer.strip()]
        parent = next((p for p in self.state.parents if p.id == item.parent), None)
        prompt = "\n".join(
            [item.question.prompt, item.text] + ([parent.prompt] if parent is not None else [])
        )
        covered = covered_so_far(
            missing,
            "\n\n".join(earlier),
            answer=answer,
            question=item.question,
            prompt=prompt,
            settings=self.ctx.settings,
        )
        return listened(grade, covered)

    def _ask_follow_up(self, item: Item, fu: FollowUp, answer: str, grade: Grade) -> Iterator[Step]:
        missed = missed_points(grade)
        notes = self._notes_for(missed[0] if missed else item.question.prompt)
        text = yield from self._say(
            fu.text,
            "follow_up",
            item.question,
            allowed=answer,  # quoting the candidate's own words back is not a leak
            prompt=item.text,
            answer=answer,
            missed=missed[:3],
            notes=notes,
        )
        self.state.asked.append(text)
        self.state.extra.setdefault("follow_ups", []).append(fu.text)
        self.state.extra.setdefault("probed", []).append([item.question.id, fu.target])
        ask = self._make_ask(item, text, follow_up=True).model_copy(update={"note": fu.note})
        meta = {
            "note": fu.note,
            "target": fu.target,
            "source": fu.source,
            "missed": missed,
            "grade": grade.model_dump(mode="json"),
        }
        self.state.pending, self.state.asked_at = ask, self.ctx.clock()
        self._write([Turn("interviewer", "follow_up", text, item.question.id, meta)])
        yield ask

    def _finish_item(self, grade: Grade, *, skipped: bool = False) -> Iterator[Step]:
        item = self._item
        fb, result = self._record_item(grade, skipped=skipped)
        if self.state.config.feedback == "each":
            yield fb
        yield from self.after_item(item, result)
        if self.adaptive and result.grade is not None and result.level is not None:
            self.state.level = next_level(result.level, result.grade.overall)
            bring_forward(self.state, self.state.level)
        yield from self._next()

    def _record_item(self, grade: Grade, *, skipped: bool = False) -> tuple[Feedback, ItemResult]:
        """Log the current item's final grade (and feedback turn) and move the cursor past it."""
        item = self._item
        s = self.state
        result = ItemResult(
            question_id=item.question.id,
            topic=item.question.topic,
            prompt=item.text,
            stage=item.stage,
            parent=item.parent,
            answer="\n\n".join(s.answers),
            grade=grade,
            skipped=skipped,
            hints=s.hints,
            elapsed_s=round(s.first_elapsed, 1) if s.first_elapsed is not None else None,
            time_budget_s=item.time_budget_s,
            follow_ups=list(s.asked),
            level=item.question.difficulty,
        )
        fb = self._feedback(
            item.question,
            grade,
            stage=item.stage,
            prompt=item.text,
            elapsed=result.elapsed_s,
            budget=item.time_budget_s,
        )
        s.results.append(result)
        if s.config.feedback == "end":
            s.deferred.append(fb)
        self._reset_item()
        s.pos += 1
        record = GradeRecord(item.question, grade) if item.parent is None else None
        turn = self._feedback_turn(fb, skipped, level=item.question.difficulty)
        self._write([turn], grade=record)
        return fb, result

    def _next(self) -> Iterator[Step]:
        if self.state.pos >= len(self.state.items):
            yield from self._conclude(ended_early=False)
            return
        item = self._item
        notes = self._notes_for(item.question.prompt)
        text = yield from self._say(
            item.text,
            "ask",
            item.question,
            topic=item.question.topic,
            prompt=item.text,
            rubric_summary=_rubric_summary(item.question),
            notes=notes,
        )
        ask = self._make_ask(item, text, follow_up=False)
        self.state.pending, self.state.asked_at = ask, self.ctx.clock()
        meta = {
            "stage": item.stage,
            "time_budget_s": item.time_budget_s,
            "suggestion": item.suggestion,
            "index": ask.index,
            "total": ask.total,
            "level": ask.level,
        }
        self._write([Turn("interviewer", "question", text, item.question.id, meta)])
        yield ask

    def _end_iter(self) -> Iterator[Step]:
        s = self.state
        grade = None
        if s.pending is not None and s.pending.follow_up and s.first_grade is not None:
            grade = s.first_grade  # the main answer counts; the open follow-up does not
        elif s.pending is None and s.answers:
            # An answer was saved but not graded (the process died): grade it before ending.
            grade = self._grade(self._item.question, "\n\n".join(a for a in s.answers if a.strip()))
        if grade is not None:
            fb, _ = self._record_item(grade)
            if s.config.feedback == "each":
                yield fb
        s.pending = None
        yield from self._conclude(ended_early=True)

    def _conclude(self, *, ended_early: bool) -> Iterator[Step]:
        if self.state.summary is not None:
            yield self.state.summary
            return
        finals = []
        for parent in self.state.parents:
            answers = [
                r.answer for r in self.state.results if r.parent == parent.id and r.answer.strip()
            ]
            if not answers:
                continue
            grade = self._grade(parent, "\n\n".join(answers))
            fb = self._feedback(
                parent, grade, stage=None, prompt=parent.prompt, elapsed=None, budget=None
            )
            finals.append(fb)
            turn = self._feedback_turn(fb, False, level=parent.difficulty)
            self._write([turn], grade=GradeRecord(parent, grade))
        summary = build_summary(self, finals, ended_early=ended_early)
        self.state.summary = summary
        self.state.pending = None
        self._write(
            [
                Turn(
                    "interviewer",
                    "summary",
                    summary.text,
                    None,
                    # The grades it lists are in their feedback turns already.
                    {
                        "summary": summary.model_dump(
                            mode="json", exclude={"items", "finals", "deferred"}
                        )
                    },
                )
            ],
            status="finished",
        )
        if self.state.config.feedback == "each":
            yield from finals
        yield summary

    # -- grading and wording ---------------------------------------------------------------
    def _grade(self, question: Question, answer: str) -> Grade:
        if self.ctx.provider.is_offline or not answer.strip():
            return self._offline_grade(question, answer)
        from mockloop.grading.judge import judge_answer

        return judge_answer(
            question,
            answer,
            self.ctx.provider,
            retriever=self.ctx.retriever,
            settings=self.ctx.settings,
        )

    def _offline_grade(self, question: Question, answer: str, *, cite: bool = True) -> Grade:
        from mockloop.grading import grade_answer

        retriever = self.ctx.retriever if cite else None
        return grade_answer(question, answer, retriever=retriever, settings=self.ctx.settings)

    def _say(
        self, offline_text: str, key: str, question: Question, allowed: str = "", **variables
    ) -> Iterator[Step]:
        """The interviewer's words: the offline text, or an LLM's (streamed, leak-checked)."""
        provider = self.ctx.provider
        if provider.is_offline:
            return offline_text
        messages = prompts.render("interviewer", key, round_title=self.title, **variables)
        shown, acc = "", ""
        try:
            for piece in provider.text(messages, stream=provider.can_stream):
                acc += piece
                if leaks(acc, question, allowed=offline_text + "\n" + allowed):
                    yield Notice(
                        text="The model's wording gave part of the answer away; "
                        "using the standard wording instead."
                    )
                    return offline_text
                safe = _safe_prefix(acc)
                if len(safe) > len(shown):
                    yield Delta(text=safe[len(shown) :])
                    shown = safe
        except TruncatedReply as exc:  # shown cut off: ask once more, whole, or use the template
            try:
                again = "".join(provider.text(messages, stream=False)).strip()
            except LLMError:
                again = ""
            if again and not leaks(again, question, allowed=offline_text + "\n" + allowed):
                yield Notice(text="The model's reply was cut off; it was asked again.")
                return again
            yield Notice(text=f"{exc}; using the standard wording.")
            return offline_text
        except LLMError as exc:
            yield Notice(text=f"The model could not word this ({exc}); using the standard wording.")
            return offline_text
        if not acc.strip():
            return offline_text
        if len(acc) > len(shown):
            yield Delta(text=acc[len(shown) :])
        return acc.strip()

    # -- notes -----------------------------------------------------------------------------
    def _notes_for(self, text: str, k: int = 3) -> list:
        if self.ctx.retriever is None or self.ctx.provider.is_offline:
            return []  # only the LLM reads note context; offline templates cite notes themselves
        try:
            return self.ctx.retriever.search(text, k=k)
        except Exception:  # noqa: BLE001 — a question can be asked without notes
            return []

    def note_for(self, text: str, question: Question, min_cosine: float = 0.35):
        """The note chunk (as a Hit) that best holds `text`, if one is close enough."""
        if self.ctx.retriever is None:
            return None
        try:
            hits = self.ctx.retriever.search(f"{text} ({question.topic})", k=3)
        except Exception:  # noqa: BLE001
            return None
        if not hits:
            return None
        cos = self.ctx.notes.hit_vectors(hits) @ self.ctx.notes.encode([text])[0]
        best = int(cos.argmax())
        return hits[best] if cos[best] >= min_cosine else None

    def _source_hit(self, q: Question):
        if (
            q.source_chunk_id
            and self.ctx.retriever is not None
            and hasattr(self.ctx.retriever, "get")
        ):
            return self.ctx.retriever.get(q.source_chunk_id)
        return None

    # -- bookkeeping -----------------------------------------------------------------------
    def _make_ask(self, item: Item, text: str, *, follow_up: bool) -> Ask:
        return Ask(
            text=text,
            question_id=item.question.id,
            topic=item.question.topic,
            index=self.state.pos + 1,
            total=len(self.state.items),
            follow_up=follow_up,
            stage=item.stage,
            time_budget_s=None if follow_up else item.time_budget_s,
            suggestion=None if follow_up else item.suggestion,
            level=item.question.difficulty,
        )

    def _feedback(self, q: Question, grade: Grade, *, stage, prompt, elapsed, budget) -> Feedback:
        return Feedback(
            question_id=q.id,
            topic=q.topic,
            prompt=prompt,
            stage=stage,
            grade=grade,
            elapsed_s=elapsed,
            time_budget_s=budget,
            text=render_feedback(grade, elapsed_s=elapsed, budget_s=budget),
        )

    @staticmethod
    def _feedback_turn(fb: Feedback, skipped: bool, level: int | None = None) -> Turn:
        meta = {
            "grade": fb.grade.model_dump(mode="json"),
            "stage": fb.stage,
            "level": level,  # progress reads it: mastery weighs answers by level
            "skipped": skipped,
            "elapsed_s": fb.elapsed_s,
            "time_budget_s": fb.time_budget_s,
        }
        return Turn("interviewer", "feedback", fb.text, fb.question_id, meta)

    @staticmethod
    def _stage_key(item: Item) -> str:
        return item.question.id.rsplit("#", 1)[-1] if item.parent else (item.stage or "").lower()

    def _reset_item(self) -> None:
        s = self.state
        s.answers, s.asked, s.first_grade, s.hints, s.first_elapsed = [], [], None, 0, None
        s.pending, s.asked_at = None, None

    def _save(self) -> None:
        self._write([])

    def _write(
        self, turns: list[Turn], *, grade: GradeRecord | None = None, status: str | None = None
    ) -> None:
        """Log turns, a grade and what changed in the state, in one transaction."""
        parts, saved = self._changed_parts()
        self.ctx.log.write(
            self.session_id,
            turns=turns,
            grade=grade,
            status=status,
            round_name=self.name,
            state=self.state.model_dump(mode="json", exclude={*STATE_LISTS, "summary"}),
            parts=parts,
        )
        self._saved = saved  # only once the write has landed

    def _changed_parts(self) -> tuple[dict[str, Part], dict[str, list[str]]]:
        """(the state's lists as Parts holding the elements that changed since the last write,
        the JSON of every element after this write). The first write of a RoundSession (a new
        round, or one resumed) writes them all."""
        parts: dict[str, Part] = {}
        saved: dict[str, list[str]] = {}
        for name in STATE_LISTS:
            values = getattr(self.state, name)
            before = self._saved.get(name, [])
            grown = name in APPENDED and len(values) >= len(before)
            start = len(before) if grown else 0
            now = before[:start] + [v.model_dump_json() for v in values[start:]]
            rows = {i: t for i, t in enumerate(now) if i >= len(before) or before[i] != t}
            parts[name], saved[name] = Part(rows, len(now)), now
        summary = self.state.summary
        now = [] if summary is None else [summary.model_dump_json(exclude=SUMMARY_REPEATS)]
        before = self._saved.get("summary", [])
        parts["summary"] = Part({} if now == before else dict(enumerate(now)), len(now), True)
        saved["summary"] = now
        return parts, saved


def _safe_prefix(text: str, hold: int = 3) -> str:
    """All but the last `hold` words: a leak is caught before its words are all on screen."""
    words = text.split(" ")
    if len(words) <= hold:
        return ""
    return " ".join(words[:-hold]) + " "


def _rubric_summary(q: Question) -> str:
    if q.rubric is None:
        return "(graded against the reference answer)"
    return "\n".join(f"- {c.description}: " + "; ".join(c.key_points) for c in q.rubric.criteria)


def _settle(steps: Iterator[Step]) -> list[Step]:
    """Run a step iterator to the end, dropping streaming previews."""
    return [s for s in steps if not isinstance(s, Delta)]


def build_summary(rs: RoundSession, finals: list[Feedback], *, ended_early: bool) -> Summary:
    """Per-question grades, strongest and weakest topics, notes to reread (resolvable only)."""
    state = rs.state
    graded = [r for r in state.results if r.grade is not None]
    by_topic: dict[str, list[float]] = defaultdict(list)
    for r in graded:
        by_topic[r.stage or r.topic].append(r.grade.overall)
    topics = sorted(
        (
            TopicScore(topic=t, mean=round(sum(v) / len(v), 2), answers=len(v))
            for t, v in by_topic.items()
        ),
        key=lambda t: (-t.mean, t.topic),
    )
    strongest = [t for t in topics[:2] if t.mean >= 2.5]  # nothing is "strong" below lean hire
    weakest = [t for t in reversed(topics) if t not in strongest][:2]
    scores = [f.grade.overall for f in finals] or [r.grade.overall for r in graded]
    overall = round(sum(scores) / len(scores), 2) if scores else None
    summary = Summary(
        session_id=rs.session_id,
        round=rs.name,
        items=state.results,
        finals=finals,
        deferred=list(state.deferred),
        overall=overall,
        hire_signal=scoring.hire_signal(overall) if overall is not None else None,
        strongest=strongest,
        weakest=weakest,
        reread=_reread(rs, graded, finals),
        ended_early=ended_early,
        level=held_level([(r.level, r.grade.overall) for r in graded if r.level is not None]),
        levels=[r.level for r in graded if r.level is not None],
        adaptive=rs.adaptive,
    )
    summary.text = render_summary(summary)
    return summary


def _reread(
    rs: RoundSession, graded: list[ItemResult], finals: list[Feedback], limit: int = 8
) -> list[Citation]:
    """Citations of missed points, weakest answers first; the notes a derived question came from."""
    weight: dict[str, float] = defaultdict(float)
    cites: dict[str, Citation] = {}
    grades = [(r.grade, r) for r in graded] + [(f.grade, None) for f in finals]
    for grade, r in grades:
        shortfall = 5.0 - grade.overall
        for c in grade.citations:
            cites.setdefault(c.chunk_id, c)
            weight[c.chunk_id] += shortfall
        item_q = next(
            (i.question for i in rs.state.items if r and i.question.id == r.question_id), None
        )
        if item_q is not None and item_q.source_chunk_id and grade.overall < 3.0:
            hit = rs._source_hit(item_q)
            if hit is not None:
                cites.setdefault(
                    hit.chunk_id,
                    Citation(
                        chunk_id=hit.chunk_id,
                        source=hit.source,
                        heading_path=hit.heading_path,
                        page=hit.page,
                        point=item_q.prompt,
                    ),
                )
                weight[hit.chunk_id] += shortfall
    ranked = sorted(cites.values(), key=lambda c: -weight[c.chunk_id])
    getter = getattr(rs.ctx.retriever, "get", None)
    if getter is None:
        return []
    return [c for c in ranked if getter(c.chunk_id) is not None][:limit]
