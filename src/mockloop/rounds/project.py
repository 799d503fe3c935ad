"""A project note's facts, read with plain rules, and an answer checked against them.

`project_facts(chunks)` reads a project write-up into Facts — goal, users, data, model, metric,
decision (what was chosen over what), constraint, result, failure — by the section a sentence sits
under and by cues in the sentence itself:

    "## Model\\nWe chose XGBoost over the GRU sequence model from the experiment log: the GRU
    took 45 ms per call, too much of the 0.3 s checkout budget."
      → Fact(kind="decision", chosen="XGBoost", over="the GRU sequence model",
             numbers=["45 ms", "0.3 s"], ...)

`contradictions(answer, facts)` finds numbers in an answer that state the same quantity as the
note with another value ("a 0.5 s budget" against the note's "0.3 s budget"); `untold(answer,
facts, kinds)` the facts whose numbers or names the answer never mentions. No model, no network:
the same note and answer always give the same facts and findings.

Leaves out: wording questions (mockloop.rounds.deep_dive) and grading itself (mockloop.grading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mockloop.models import Chunk

KINDS = (
    "goal",
    "users",
    "data",
    "model",
    "metric",
    "decision",
    "constraint",
    "result",
    "failure",
    "detail",  # any other sentence with a number
)
_SECTION_KIND = [  # heading words → kind, first match wins
    ("goal", r"goal|problem|background|motivation|objective|why"),
    ("users", r"users?|customers?|stakeholders?"),
    ("data", r"data|dataset|labels?|features?"),
    ("decision", r"decisions?|alternatives?|trade-?offs|choices"),
    ("model", r"model|modell?ing|approach|solution|architecture|system"),
    ("metric", r"metrics?|evaluation|offline|online|experiment"),
    ("constraint", r"constraints?|requirements?|budget|limits?"),
    ("result", r"results?|impact|outcome|launch"),
    ("failure", r"failures?|mistakes?|challenges?|problems? we hit|lessons?|retro|incidents?"),
]
_DECISION = re.compile(
    r"\b(?:chose|choose|picked|went with|selected|opted for|used|kept|switched to)\s+"
    r"(?P<chosen>[^.;:,]{2,50}?)\s+(?:over|instead of|rather than)\s+"
    r"(?P<over>[^.;:,]{2,60}?)(?=\s+(?:from|in|for|because|since|as|after|which|that)\b|[.;:,]|$)",
    re.IGNORECASE,
)
_CUES = [  # a sentence's own words, when its section says nothing
    ("failure", r"\b(leak\w*|fail\w*|broke|bug|mistake|outage|regress\w*|wrong)\b"),
    (
        "result",
        r"\b(fell|rose|dropped|cut|saved|lifted|improved|increased|decreased|reduced)\b.*\d",
    ),
    ("constraint", r"\b(budget|must|at most|under \d|p99|latency|sla|deadline)\b"),
    ("users", r"\busers?:"),
]
QUANTITY = re.compile(
    r"(?P<cur>[$€£])?(?P<value>\d+(?:[.,]\d+)*)\s*"
    r"(?P<unit>%|ms\b|s\b|sec\w*|min\w*|h\b|hours?|days?|weeks?|months?|x\b|k\b|m\b|bn\b|"
    r"million|billion|points?|pp\b)?",
    re.IGNORECASE,
)
_STOP = set(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "our",
        "we",
        "i",
        "my",
        "was",
        "were",
        "is",
        "are",
        "it",
        "its",
        "this",
        "that",
        "than",
        "then",
        "as",
        "be",
        "been",
        "per",
        "each",
        "every",
        "about",
        "up",
        "down",
        "over",
        "under",
        "into",
        "after",
        "before",
        "only",
        "too",
        "much",
        "more",
        "less",
        "one",
        "two",
        "new",
        "first",
        "last",
    ]
)
_UNIT = {
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "million": "m",
    "billion": "bn",
    "point": "points",
}


@dataclass
class Fact:
    kind: str
    text: str  # the sentence, as the note has it
    chunk: Chunk
    numbers: list[str] = field(default_factory=list)  # "0.3 s", "23%", "$1.2M"
    chosen: str | None = None
    over: str | None = None

    @property
    def short(self) -> str:
        """The sentence, cut to about 120 characters at a word boundary."""
        flat = re.sub(r"\s+", " ", self.text).strip()
        return flat if len(flat) <= 120 else flat[:117].rsplit(" ", 1)[0] + "…"


def _sentences(text: str) -> list[str]:
    text = re.sub(r"^\s*[-*+]\s+", "\n", text, flags=re.MULTILINE)  # a bullet is its own sentence
    text = re.sub(r"[*_`]+", "", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z$€£\d])|\n\s*\n", text)
    return [re.sub(r"\s+", " ", p).strip() for p in parts if len(p.strip()) > 12]


def _section_kind(heading: str) -> str | None:
    h = heading.lower()
    for kind, words in _SECTION_KIND:
        if re.search(rf"\b(?:{words})\b", h):
            return kind
    return None


def quantities(text: str) -> list[tuple[str, float, str, int]]:
    """(as written, value, unit, position) of each number in the text; years and list
    numbering are left out."""
    out = []
    for m in QUANTITY.finditer(text):
        raw = m.group("value")
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        unit = (m.group("unit") or "").lower()
        unit = _UNIT.get(unit, unit.rstrip("s") if unit in ("points", "hours") else unit)
        if m.group("cur"):
            unit = m.group("cur") + unit
        if not unit and 1900 <= value <= 2100:
            continue  # a year
        out.append((m.group(0).strip(), value, unit, m.start()))
    return out


def project_facts(chunks: list[Chunk]) -> list[Fact]:
    """Every fact the note states, in note order (see the module docstring)."""
    facts: list[Fact] = []
    for c in chunks:
        heading = c.heading_path[-1] if len(c.heading_path) > 1 else ""
        section = _section_kind(heading) if heading else None
        for sentence in _sentences(c.text):
            m = _DECISION.search(sentence)
            kind = "decision" if m else section
            if re.match(r"(?:target |end )?users?\s*[:\-]", sentence, re.IGNORECASE):
                kind = "users"
            if kind is None or (kind in ("model", "metric") and section is None):
                kind = next((k for k, cue in _CUES if re.search(cue, sentence, re.I)), kind)
            numbers = [q[0] for q in quantities(sentence)]
            kind = kind or ("detail" if numbers else None)  # a number anywhere is checkable
            if kind is None:
                continue
            facts.append(
                Fact(
                    kind=kind,
                    text=sentence,
                    chunk=c,
                    numbers=numbers,
                    chosen=m.group("chosen").strip() if m else None,
                    over=m.group("over").strip() if m else None,
                )
            )
    return facts


def first(facts: list[Fact], *kinds: str) -> Fact | None:
    """The first fact of the first kind that has one."""
    for kind in kinds:
        for f in facts:
            if f.kind == kind:
                return f
    return None


def _context(text: str, pos: int, width: int = 6) -> set[str]:
    """Content words around a position: what the number there is about."""
    before = re.findall(r"[a-z][a-z\-]+", text[:pos].lower())[-width:]
    after = re.findall(r"[a-z][a-z\-]+", text[pos:].lower())[:width]
    return {w for w in before + after if w not in _STOP and len(w) > 2}


@dataclass
class Contradiction:
    said: str  # the answer's number, as written
    note: str  # the note's number for the same quantity
    about: str  # the words both share
    fact: Fact

    @property
    def line(self) -> str:
        return (
            f"Your answer says {self.said} ({self.about}), but your note "
            f"({self.fact.chunk.citation}) says {self.note}: “{self.fact.short}”"
        )


def _phrase(text: str, q: tuple[str, float, str, int]) -> str:
    """A number as the text puts it: `0.3 s`, or with the word after a bare one (`50 features`)."""
    if q[2]:
        return q[0]
    m = re.match(r"\s*([A-Za-z][\w\-]*)", text[q[3] + len(q[0]) :])
    return f"{q[0]} {m.group(1)}" if m else q[0]


def contradictions(answer: str, facts: list[Fact]) -> list[Contradiction]:
    """Numbers in the answer that state a quantity of the note with another value: same unit,
    shared words around both (e.g. `latency budget`), and no note number of that value there."""
    found: list[Contradiction] = []
    note_q = [(f, q, _context(f.text, q[3])) for f in facts for q in quantities(f.text)]
    for told in quantities(answer):
        _, value, unit, pos = told
        around = _context(answer, pos)
        same = [(f, q, ctx & around) for f, q, ctx in note_q if q[2] == unit and ctx & around]
        if not same or any(abs(q[1] - value) <= 1e-9 + 0.01 * abs(q[1]) for _, q, _ in same):
            continue
        f, q, shared = max(same, key=lambda t: len(t[2]))
        if len(shared) >= 1:
            found.append(
                Contradiction(
                    _phrase(answer, told), _phrase(f.text, q), " ".join(sorted(shared)[:3]), f
                )
            )
    return found


def tells(answer: str, text: str) -> bool:
    """Whether the answer tells this sentence of a note: one of its numbers, or, for a sentence
    without numbers, most of its content words."""
    told = {round(v, 6) for _, v, _, _ in quantities(answer)}
    numbers = quantities(text)
    if numbers:
        return any(round(v, 6) in told for _, v, _, _ in numbers)
    words = _context(text, 0, width=40)
    said = set(re.findall(r"[a-z][a-z\-]+", answer.lower()))
    return not words or len(words & said) / len(words) >= 0.5


def untold(answer: str, facts: list[Fact], kinds: tuple[str, ...]) -> list[Fact]:
    """Facts of these kinds the answer does not tell (see `tells`)."""
    return [f for f in facts if f.kind in kinds and not tells(answer, f.text)]
