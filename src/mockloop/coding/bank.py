"""The coding problem bank: YAML files in coding/data, loaded into Problem models.

A file holds `problems:`; each problem has an id (`coding.<slug>`), a function `signature`,
`starter` code, visible `examples` and hidden `tests`, a `reference` solution, the expected
`complexity`, `clarifications` (answers to likely clarifying questions), graded `hints`,
`follow_ups` and `spoken` key points per rubric criterion (approach, complexity, edge_cases,
testing), from which the spoken part's Rubric is built in the question bank's shape.

A test is data: `call` is a Python expression over the candidate's function (and names made by
the problem's or the test's `setup` code); the result is compared with `expect` (numbers within
`tol`, numpy arrays as lists) or, when `check` is given, `check` is evaluated with `got` bound to
the result. `large: true` marks an efficiency test with a `time_s` budget; `summary` is how a
hidden input is described when it fails (hidden inputs are not shown in full).

    [id] coding.merge-intervals · test "unsorted": merge([[8,10],[1,3],[2,6]]) → [[1,6],[8,10]]
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator

from mockloop.models import Criterion, Question, Rubric

DATA = resources.files("mockloop.coding") / "data"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RUBRIC_VERSION = "coding-1"
# The spoken part's criteria: what every coding interviewer asks after the code runs.
SPOKEN = {
    "approach": "Explains the approach and why it is correct",
    "complexity": "States the time and space complexity and what dominates it",
    "edge_cases": "Names the edge cases and how the code handles them",
    "testing": "Says how they would test the function",
}


class CodeTest(BaseModel):
    """One test: a call expression and the expected value (or a check over `got`)."""

    name: str = ""
    call: str
    expect: Any = None
    check: str | None = None
    setup: str = ""
    tol: float = 1e-9
    time_s: float | None = None
    large: bool = False
    summary: str = ""

    @model_validator(mode="after")
    def _expect_or_check(self) -> CodeTest:
        if self.check is None and "expect" not in self.model_fields_set:
            raise ValueError(f"test {self.name or self.call!r} needs `expect` or `check`")
        return self


class Clarification(BaseModel):
    q: str
    a: str
    keywords: list[str] = Field(default_factory=list)


class Problem(BaseModel):
    id: str
    title: str
    kind: Literal["ml", "algorithm"]
    topic: str
    difficulty: int = 2
    tags: list[str] = Field(default_factory=list)
    prompt: str
    signature: str
    imports: str = ""  # the starter's import lines
    starter: str = ""  # generated from imports and the signature when left out
    setup: str = ""  # run before the tests, e.g. `import numpy as np`
    examples: list[CodeTest]
    tests: list[CodeTest]
    reference: str
    complexity: str
    clarifications: list[Clarification] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    follow_ups: list[str] = Field(default_factory=list)
    spoken: dict[str, list[str]]
    red_flags: dict[str, list[str]] = Field(default_factory=dict)
    time_budget_s: int = 1800

    @model_validator(mode="after")
    def _check(self) -> Problem:
        self.params  # noqa: B018 — the signature must parse
        if not self.starter.strip():
            head = f"{self.imports.strip()}\n\n\n" if self.imports.strip() else ""
            sig = self.signature.strip().removeprefix("def ").rstrip(":")
            self.starter = (
                f"{head}def {sig}:\n    # your code here\n    raise NotImplementedError\n"
            )
        unknown = set(self.spoken) - set(SPOKEN)
        if unknown:
            raise ValueError(f"unknown spoken criteria {sorted(unknown)}; use {list(SPOKEN)}")
        return self

    @property
    def function(self) -> str:
        return _parse_signature(self.signature).name

    @property
    def params(self) -> list[tuple[str, bool]]:
        """(name, has a default) per parameter of the signature, in order."""
        fn = _parse_signature(self.signature)
        args = fn.args.posonlyargs + fn.args.args
        first_default = len(args) - len(fn.args.defaults)
        return [(a.arg, i >= first_default) for i, a in enumerate(args)]

    @property
    def rubric(self) -> Rubric:
        criteria = [
            Criterion(
                id=cid,
                description=SPOKEN[cid],
                key_points=points,
                red_flags=self.red_flags.get(cid, []),
            )
            for cid, points in self.spoken.items()
            if points
        ]
        return Rubric(version=RUBRIC_VERSION, criteria=criteria)

    def question(self) -> Question:
        """The problem as a Question: how sessions, grades and progress know it."""
        spoken = " ".join(p for points in self.spoken.values() for p in points)
        return Question(
            id=self.id,
            round="coding",
            topic=self.topic,
            tags=self.tags,
            prompt=f"{self.title}: {self.prompt}",
            difficulty=self.difficulty,
            follow_ups=self.follow_ups,
            reference_answer=f"Expected complexity: {self.complexity}. {spoken}",
            rubric=self.rubric,
        )

    def statement(self) -> str:
        """What the interviewer says: the task, the signature and the visible examples."""
        lines = [f"{self.title}", "", self.prompt.strip(), "", f"Implement: {self.signature}"]
        if self.examples:
            lines += ["", "Examples:"]
            for ex in self.examples:
                want = ex.check if ex.check else repr(ex.expect)
                lines.append(f"  {ex.call}  →  {want}")
        return "\n".join(lines)


def _parse_signature(signature: str) -> ast.FunctionDef:
    text = signature.strip()
    if not text.startswith("def "):
        text = "def " + text
    try:
        tree = ast.parse(text.rstrip(":") + ": ...")
    except SyntaxError as exc:
        raise ValueError(f"signature {signature!r} does not parse: {exc.msg}") from exc
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef):
        raise ValueError(f"signature {signature!r} is not a function")
    return fn


class ProblemBank:
    """All problems, by id."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self._by_id = {p.id: p for p in problems}
        if len(self._by_id) != len(problems):
            ids = [p.id for p in problems]
            raise ValueError(
                f"duplicate problem ids: {sorted({i for i in ids if ids.count(i) > 1})}"
            )

    def get(self, problem_id: str) -> Problem | None:
        return self._by_id.get(problem_id) or self._by_id.get(f"coding.{problem_id}")

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self):
        return iter(self.problems)


def load_problems(data_dir: Path | None = None) -> list[Problem]:
    """Parse every `*.yaml` problem file in data_dir (the packaged bank by default)."""
    data_dir = Path(str(data_dir or DATA))
    problems = []
    for path in sorted(data_dir.glob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
        for i, raw in enumerate(doc.get("problems", [])):
            try:
                problems.append(Problem.model_validate(raw))
            except Exception as exc:
                raise ValueError(f"{path.name} problem {i} ({raw.get('id', '?')}): {exc}") from exc
    return problems


@lru_cache(maxsize=1)
def load_problem_bank() -> ProblemBank:
    """The packaged problem bank, loaded and validated once per process."""
    return ProblemBank(load_problems())


def coding_questions() -> list[Question]:
    """Every problem as a Question (for plans and progress, which speak Questions)."""
    return [p.question() for p in load_problem_bank()]


_WORD = re.compile(r"[a-z0-9]+")
_STOP = set(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "can",
        "do",
        "does",
        "i",
        "we",
        "you",
        "it",
        "its",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "what",
        "how",
        "if",
        "with",
        "be",
        "should",
        "will",
        "would",
        "my",
        "input",
        "inputs",
        "there",
        "any",
    ]
)


def clarify(problem: Problem, question: str) -> str:
    """The interviewer's answer to a clarifying question, from the problem's notes (offline)."""
    asked = {w for w in _WORD.findall(question.lower()) if w not in _STOP}
    best, best_score = None, 0.0
    for c in problem.clarifications:
        words = {w for w in _WORD.findall(c.q.lower()) if w not in _STOP}
        keys = {k.lower() for k in c.keywords}
        score = len(asked & words) + 2 * len(asked & keys)
        if score > best_score:
            best, best_score = c, score
    if best is None:
        return "Good question — that is your call. State your assumption and go ahead."
    return best.a
