"""The coding round: a problem is stated, the candidate asks clarifying questions, writes code,
runs the visible examples as often as they like, submits for the hidden tests, then answers the
follow-ups (approach and complexity, an edge case, testing) out loud.

    session = start_round("coding", settings, n=1)
    session.begin()                          # Ask: the statement (stage "code")
    session.clarify("Is the input sorted?")  # Hint-shaped reply from the problem's notes
    session.run_visible(code)                # RunReport on the visible examples
    session.submit(code)                     # Notice (hidden-test results), then the first follow-up
    session.answer("Sorting dominates: O(n log n) ...")   # next follow-up … Feedback, Summary

Per problem the plan holds one Item whose question is the problem as a Question (its rubric is
the spoken part's). The grade stored for it combines three parts (`combine`):
correctness (share of the non-large tests passed) × 0.5, efficiency (share of the large tests
passed within budget) × 0.2, and the spoken answers graded by the offline grader or the LLM
judge × 0.3, all on the 0–5 scale. `answer()` while the code is open is a submission, so the
app's chat and a pasted block both work. At most MAX_PROBLEMS problems: a real coding round
holds one or two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from mockloop.coding import RunReport, clarify, load_problem_bank, run_tests
from mockloop.coding.bank import Problem
from mockloop.grading import scoring
from mockloop.models import CriterionGrade, Grade, Question
from mockloop.rounds.base import (
    Ask,
    Context,
    Hint,
    Item,
    Notice,
    RoundConfig,
    RoundSession,
    RoundState,
    Step,
)
from mockloop.rounds.followups import FollowUp
from mockloop.rounds.selection import select_questions
from mockloop.sessions import Turn

MAX_PROBLEMS = 2
WEIGHTS = {"correctness": 0.5, "efficiency": 0.2, "spoken": 0.3}
CODE_STAGE = "code"


def combine(report: RunReport | None, spoken: Grade, question: Question) -> Grade:
    """One Grade from the hidden tests and the spoken answers (worked example in the docstring).

    8/10 correctness tests, 1/2 large tests, spoken 3.0/5 →
    5 × (0.5 × 0.8 + 0.2 × 0.5 + 0.3 × 0.6) = 3.4.
    """
    correct = report.share(large=False) if report else 0.0
    efficient = report.share(large=True) if report else 0.0
    correct = 0.0 if correct is None else correct
    efficient = correct if efficient is None else efficient  # no large tests: correctness stands in
    if report is not None and report.error:
        correct = efficient = 0.0
    overall = 5 * (
        WEIGHTS["correctness"] * correct
        + WEIGHTS["efficiency"] * efficient
        + WEIGHTS["spoken"] * spoken.overall / 5
    )
    overall = round(min(5.0, max(0.0, overall)), 2)
    fails = report.failures() if report else []
    tests = [
        CriterionGrade(
            criterion_id="correctness",
            description="Hidden tests pass",
            weight=WEIGHTS["correctness"] * 10,
            score=round(correct, 3),
            missing=[f.line() for f in fails if not f.large][:6]
            + ([report.error] if report and report.error else [])
            + ([] if report else ["no code was submitted"]),
        ),
        CriterionGrade(
            criterion_id="efficiency",
            description="Large inputs finish within the time budget",
            weight=WEIGHTS["efficiency"] * 10,
            score=round(efficient, 3),
            missing=[f.line() for f in fails if f.large][:3],
        ),
    ]
    feedback = re.sub(r"^Overall ", "Spoken part: ", spoken.feedback, flags=re.M)
    notices = list(spoken.notices)
    if report is not None:
        notices.insert(0, f"Hidden tests: {report.passed}/{report.total} passed.")
        if report.network and report.network != "isolated":
            notices.append(report.network)
    return spoken.model_copy(
        update={
            "question_id": question.id,
            "criteria": tests + list(spoken.criteria),
            "overall": overall,
            "raw_score": spoken.overall,
            "hire_signal": scoring.hire_signal(overall),
            "notices": notices,
            "feedback": feedback,
        }
    )


class CodingRound(RoundSession):
    name: ClassVar[str] = "coding"
    title: ClassVar[str] = "Coding"
    voice: ClassVar[str] = "knowledge"

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        bank = load_problem_bank()
        if config.question_id:
            chosen = bank.get(config.question_id)
            if chosen is None:
                raise ValueError(f"no coding problem with id {config.question_id!r}")
            picked = [chosen.question()]
        else:
            questions = [p.question() for p in bank]
            picked = select_questions(ctx, questions, min(config.n, MAX_PROBLEMS), config.seed)
            if not picked:
                raise ValueError("the coding problem bank is empty")
        items = []
        for q in picked:
            p = bank.get(q.id)
            items.append(
                Item(
                    question=q,
                    text=p.statement(),
                    time_budget_s=p.time_budget_s,
                )
            )
        return RoundState(config=config, items=items)

    # -- what the round knows about the current problem ----------------------------------------
    @property
    def problem(self) -> Problem | None:
        if self.state.pos >= len(self.state.items):
            return None
        return load_problem_bank().get(self._item.question.id)

    @property
    def coding(self) -> dict:
        """Per-problem record in the saved state: code, submission results, runs, clarifications."""
        key = self._item.question.id if self.state.pos < len(self.state.items) else "_"
        return self.state.extra.setdefault("coding", {}).setdefault(key, {"runs": 0})

    @property
    def in_code_phase(self) -> bool:
        ask = self.state.pending
        return ask is not None and not ask.follow_up and "report" not in self.coding

    @property
    def max_follow_ups(self) -> int:  # type: ignore[override]
        p = self.problem
        return len(p.follow_ups) if p else 0

    def report(self) -> RunReport | None:
        """The hidden-test report of the current problem's submission, if it was submitted."""
        raw = self.coding.get("report")
        return _report_from(raw) if raw else None

    # -- candidate actions ---------------------------------------------------------------------
    def clarify(self, question: str) -> Hint:
        """Answer a clarifying question from the problem's notes (offline, deterministic)."""
        ask = self._require_pending()
        text = clarify(self.problem, question)
        self.coding.setdefault("clarifications", []).append([question, text])
        self._write(
            [
                Turn("candidate", "clarify", question, ask.question_id),
                Turn("interviewer", "clarification", text, ask.question_id),
            ]
        )
        return Hint(question_id=ask.question_id, text=text)

    def run_visible(self, code: str) -> RunReport:
        """Run the visible examples (as often as the candidate likes); nothing is graded."""
        ask = self._require_pending()
        report = run_tests(self.problem, code, which="visible")
        rec = self.coding
        rec["runs"] = rec.get("runs", 0) + 1
        rec["code"] = code
        meta = {"passed": report.passed, "total": report.total, "error": report.error}
        self._write([Turn("candidate", "run", code, ask.question_id, meta)])
        return report

    def submit(self, code: str) -> list[Step]:
        return [s for s in self.submit_iter(code) if s.kind != "delta"]

    def submit_iter(self, code: str) -> Iterator[Step]:
        """Run the hidden tests on `code`, then ask the first follow-up."""
        ask = self._require_pending()
        if not self.in_code_phase:
            yield Notice(text="The code is already submitted; answer the question.")
            yield ask
            return
        problem = self.problem
        report = run_tests(problem, code, which="all")
        rec = self.coding
        rec["code"], rec["report"] = code, _report_to(report)
        self.state.pending = None
        meta = {"passed": report.passed, "total": report.total, "error": report.error}
        self._write([Turn("candidate", "submit", code, ask.question_id, meta)])
        # the grade if the candidate stops now: the tests, nothing said yet
        self.state.first_grade = self._grade(self._item.question, "")
        yield Notice(text="Submitted. " + report.text())
        first = problem.follow_ups[0] if problem.follow_ups else "Walk me through your approach."
        self.state.asked.append(first)
        follow = self._make_ask(self._item, first, follow_up=True)
        self.state.pending, self.state.asked_at = follow, self.ctx.clock()
        self._write([Turn("interviewer", "follow_up", first, problem.id, {"stage": "spoken"})])
        yield follow

    def answer_iter(self, text: str, elapsed_s: float | None = None) -> Iterator[Step]:
        """While the code is open an answer is the code (submitted); later, a spoken answer."""
        if self.in_code_phase:
            yield from self.submit_iter(text)
            return
        yield from super().answer_iter(text, elapsed_s)

    def skip_iter(self) -> Iterator[Step]:
        if self.in_code_phase:  # skipping the code skips the problem: nothing to grade
            yield from super().skip_iter()
            return
        # skipping a follow-up: grade what was said so far with the tests
        ask = self._require_pending()
        self.state.pending = None
        self._write([Turn("candidate", "skip", "", ask.question_id)])
        combined = "\n\n".join(a for a in self.state.answers if a.strip())
        yield from self._finish_item(self._grade(self._item.question, combined))

    # -- hooks ----------------------------------------------------------------------------------
    def _grade(self, question: Question, answer: str) -> Grade:
        spoken = super()._grade(question, answer)
        if question.id != (self.problem.id if self.problem else None):
            return spoken
        return combine(self.report(), spoken, question)

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        """The problem's follow-ups in order (complexity, an edge case, testing)."""
        p = self.problem
        self.state.first_grade = grade  # /quit keeps the latest grade, tests included
        left = [f for f in p.follow_ups if f not in self.state.asked]
        if not left:
            return None
        return FollowUp(text=left[0], target=left[0], source="problem")

    def hint_text(self, item: Item) -> str:
        """The problem's hints in order, each more specific; then the expected complexity."""
        p = load_problem_bank().get(item.question.id)
        given = self.state.hints  # hints already given for this item
        if given < len(p.hints):
            return f"Hint {given + 1}/{len(p.hints)}: {p.hints[given]}"
        return f"No more hints. The expected complexity is {p.complexity}."

    def _make_ask(self, item: Item, text: str, *, follow_up: bool) -> Ask:
        ask = super()._make_ask(item, text, follow_up=follow_up)
        return ask.model_copy(update={"stage": CODE_STAGE if not follow_up else "discussion"})


def _report_to(report: RunReport) -> dict:
    from dataclasses import asdict

    return asdict(report)


def _report_from(raw: dict) -> RunReport:
    from mockloop.coding.runner import TestResult

    data = dict(raw)
    data["results"] = [TestResult(**r) for r in data.get("results", [])]
    return RunReport(**data)
