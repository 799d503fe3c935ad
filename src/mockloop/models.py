"""The contracts every part of mockloop shares: Chunk, Hit, Question, Rubric, Grade.

These are plain pydantic models with no behaviour beyond formatting a citation and
validating ranges; the loaders, the store, the grader, the rounds and the UI all speak them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

Round = Literal["breadth", "nlp", "ranking", "mlsd", "behavioral", "deep-dive", "coding"]
ROUNDS: tuple[str, ...] = ("breadth", "nlp", "ranking", "mlsd", "behavioral", "deep-dive", "coding")
# Rounds answered in words with questions from the question bank; the coding round's problems
# live in mockloop.coding and are answered with code first (question-bank checks and the
# interviewer eval cover these only).
SPOKEN_ROUNDS: tuple[str, ...] = tuple(r for r in ROUNDS if r != "coding")

HireSignal = Literal["strong no hire", "no hire", "lean hire", "hire", "strong hire"]
HIRE_SIGNALS: tuple[str, ...] = ("strong no hire", "no hire", "lean hire", "hire", "strong hire")


def format_citation(source: str, heading_path: list[str], page: int | None = None) -> str:
    """`notes/nlp/lora.md § LoRA › Why it works (p. 3)` — how every citation is shown."""
    label = source
    if heading_path:
        label += " § " + " › ".join(heading_path)
    if page is not None:
        label += f" (p. {page})"
    return label


class Chunk(BaseModel):
    """One piece of a note as stored in Chroma."""

    id: str  # stable hash of source + heading path + index + text
    text: str
    source: str  # path relative to the ingested root, POSIX separators
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None  # 1-based, PDFs only
    tags: list[str] = Field(default_factory=list)
    content_hash: str  # hash of the whole source file the chunk came from
    title: str = ""  # the note's title (front matter, first heading or file name)

    @property
    def citation(self) -> str:
        return format_citation(self.source, self.heading_path, self.page)


class Hit(BaseModel):
    """A retrieved chunk with its score and citation."""

    chunk_id: str
    text: str
    source: str
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None
    tags: list[str] = Field(default_factory=list)
    title: str = ""
    score: float = 0.0
    # The chunk's vector as the store holds it (its passage by the notes' encoder), so callers
    # compare hits without encoding them again; None from a retriever without vectors. Left
    # out of dumps: it is for computing, not for showing or storing.
    vector: list[float] | None = Field(default=None, exclude=True, repr=False)

    @property
    def citation(self) -> str:
        return format_citation(self.source, self.heading_path, self.page)

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float = 0.0, vector=None) -> Hit:
        """A stored chunk as a Hit (the one place that converts them); `vector`: its embedding."""
        return cls(
            chunk_id=chunk.id,
            text=chunk.text,
            source=chunk.source,
            heading_path=chunk.heading_path,
            page=chunk.page,
            tags=chunk.tags,
            title=chunk.title,
            score=float(score),
            vector=None if vector is None else [float(x) for x in vector],
        )


class Criterion(BaseModel):
    """One thing a grader looks for, with the points that show it and the red flags that sink it."""

    id: str
    description: str
    weight: float = 1.0
    key_points: list[str] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)
    # What the criterion checks beyond its key points, named in the rubric YAML: a surface
    # signal blended into its score (grading.signals.SIGNALS) and red flags raised by a
    # detector rather than by matching their text (grading.signals.DETECTORS). In YAML a red
    # flag with a detector is written `{flag: "...", detector: no-number}`.
    signal: str | None = None
    signal_weight: float = 0.4
    red_flag_detectors: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flag_detectors(cls, data):
        if isinstance(data, dict) and any(isinstance(f, dict) for f in data.get("red_flags", [])):
            data = dict(data)
            detectors = dict(data.get("red_flag_detectors") or {})
            flags = []
            for f in data["red_flags"]:
                if isinstance(f, dict):
                    flags.append(f["flag"])
                    detectors[f["flag"]] = f["detector"]
                else:
                    flags.append(f)
            data["red_flags"], data["red_flag_detectors"] = flags, detectors
        return data

    @field_validator("weight")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("criterion weight must be positive")
        return v


class Rubric(BaseModel):
    version: str
    criteria: list[Criterion]

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, v: list[Criterion]) -> list[Criterion]:
        ids = [c.id for c in v]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate criterion ids: {ids}")
        if not v:
            raise ValueError("a rubric needs at least one criterion")
        return v


class Question(BaseModel):
    id: str
    round: Round
    topic: str
    tags: list[str] = Field(default_factory=list)
    prompt: str
    difficulty: int = 2  # 1 easy · 2 medium · 3 hard
    follow_ups: list[str] = Field(default_factory=list)
    reference_answer: str = ""
    rubric: Rubric | None = None
    # system design: stage id (a rubric criterion id) → this scenario's own prompt for that stage
    stages: dict[str, str] = Field(default_factory=dict)
    source_chunk_id: str | None = None  # set when the question was derived from a note


class Evidence(BaseModel):
    """A key point and the span of the answer, quoted verbatim, that covers it."""

    point: str
    quote: str
    score: float = 0.0  # match strength 0–1


class MissedPoint(BaseModel):
    """A key point the answer did not state, with the criterion it belongs to and why it matters."""

    point: str
    criterion_id: str
    why: str = ""


class CriterionGrade(BaseModel):
    criterion_id: str
    description: str = ""
    weight: float = 1.0
    score: float = Field(ge=0.0, le=1.0)
    covered: list[Evidence] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class Citation(BaseModel):
    """A note chunk that holds something the answer missed."""

    chunk_id: str
    source: str
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None
    point: str = ""  # the missed point this chunk covers

    @property
    def label(self) -> str:
        return format_citation(self.source, self.heading_path, self.page)


class Grade(BaseModel):
    question_id: str
    rubric_version: str
    grader: str  # "offline" or the model name
    criteria: list[CriterionGrade] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)
    # flag → the sentence of the answer that asserts it (a detector's flags have none)
    red_flag_quotes: dict[str, str] = Field(default_factory=dict)
    overall: float = Field(ge=0.0, le=5.0)
    hire_signal: HireSignal
    feedback: str = ""
    citations: list[Citation] = Field(default_factory=list)
    latency_ms: float = 0.0
    raw_score: float | None = None  # before calibration, when a calibration was applied
    notices: list[str] = Field(default_factory=list)  # e.g. "the LLM judge failed; graded offline"
    # The explanation as data (grading/explain.py): every view renders these with one function.
    missed: list[MissedPoint] = Field(default_factory=list)  # costliest first
    notes: list[str] = Field(default_factory=list)  # round checks (STAR, stages, decisions), guards
