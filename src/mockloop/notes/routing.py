"""Route each note to a round and a topic by what it says, with the user's hints on top.

A note (all chunks of one source) gets, in this order of precedence:

1. the user's override: front matter `mockloop-round: ROUND` (kept by the loader as the tag
   `mockloop-round:ROUND`; `none` keeps the note out of every round);
2. a hint: a tag or front-matter `round:` naming a round (`#story`, `round: deep-dive`), else the
   innermost folder that names one (`projects/`, `ml-breadth/`);
3. what it says: a STAR story (Situation/Task/Action/Result headings, or a "STAR:" title, or a
   first-person telling with a conflict, a decision and an outcome) goes to behavioral; a project
   write-up (a "Project:" title, or project sections — goal, data, model, results, ... — told in
   the first person with numbers) goes to the deep dive; anything else goes to the round whose
   bank questions it is nearest (the mean of its three best cosines with that round's prompts +
   reference answers, plus its cosine with the round's centroid), when that round beats the
   runner-up by ROUTE_MARGIN.

The topic is the bank topic of the nearest question of the chosen round. Everything is computed
from stored chunks and vectors (no re-encoding of notes); question vectors come from the caller.

    ml/misc/heron.md  "# Project Heron … ## Goal … ## Model … we shipped … 0.3 s"  → deep-dive
    misc/adam.md      "Adam keeps moving averages of the gradient …"               → breadth

Leaves out: what a round does with its notes (mockloop.rounds.notes) and wording questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from mockloop.models import ROUNDS, Chunk, Question

ROUTE_MARGIN = 0.02  # content routing: the best round must beat the runner-up by this
OVERRIDE_TAG = "mockloop-round:"
NO_ROUND = {"none", "off", "skip", "ignore"}
PAPER_TAGS = {"papers", "paper", "reading-list"}
SKIP_TAGS = {"moc", "index", "map-of-content"}
MIN_NOTE_CHARS = 80  # a note shorter than this (a title, a link list) makes no question
ROUND_ALIASES: dict[str, set[str]] = {  # folder names and tags that name a round
    "breadth": {
        "breadth",
        "ml-breadth",
        "ml",
        "ml-basics",
        "ml-fundamentals",
        "fundamentals",
        "machine-learning",
    },
    "nlp": {"nlp", "llm", "llms", "language-models", "transformers"},
    "ranking": {
        "ranking",
        "recsys",
        "recommendation",
        "recommendations",
        "recommender-systems",
        "search-ranking",
    },
    "mlsd": {"mlsd", "system-design", "ml-system-design", "ml-design", "design"},
    "behavioral": {"behavioral", "behavioural", "star", "stories", "story"},
    "deep-dive": {"projects", "project", "deep-dive"},
}
ALIAS_ROUND = {alias: name for name, aliases in ROUND_ALIASES.items() for alias in aliases}
ALIAS_ROUND.update({r: r for r in ROUNDS})
KIND_OF_ROUND = {"behavioral": "story", "deep-dive": "project"}

_STAR_HEADINGS = {"situation", "task", "action", "actions", "result", "results", "outcome"}
_PROJECT_HEADINGS = re.compile(
    r"\b(goal|goals|problem|background|users?|data|dataset|model|modell?ing|approach|solution|"
    r"architecture|metrics?|evaluation|results?|impact|decisions?|alternatives?|trade-?offs|"
    r"constraints?|challenges?|failures?|lessons?|retro(spective)?|what i would do differently|"
    r"timeline|launch|experiment log)\b",
    re.IGNORECASE,
)
_TLDR = re.compile(r"tl;\s?dr", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(I|[Ww]e|[Mm]y|[Oo]ur|[Mm]e|[Uu]s)\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|ms|s\b|x\b|k\b|m\b|pp\b|points?)", re.IGNORECASE)
_STORY_CUES = re.compile(
    r"\b(disagree\w*|pushed back|convinc\w*|persuad\w*|conflict|my manager|the PM|teammate|"
    r"stakeholder|lesson|learned|learnt|mentor\w*|apologi\w*|feedback|mistake|I owned|"
    r"I proposed|I decided|looking back|in hindsight)\b",
    re.IGNORECASE,
)


@dataclass
class Route:
    """Where one note goes and why; `round` None means no round will use it."""

    source: str
    kind: str  # "note" | "project" | "story" | "paper" | "skip"
    round: str | None
    topic: str | None
    why: str
    scores: dict[str, float] = field(default_factory=dict)  # content score per round

    @property
    def line(self) -> str:
        where = self.round or "no round"
        topic = f" · {self.topic}" if self.topic and self.round else ""
        return f"{where}{topic} ({self.kind}; {self.why})"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tags(chunks: list[Chunk]) -> set[str]:
    return {t.lower() for c in chunks for t in c.tags}


def override_round(chunks: list[Chunk]) -> str | None:
    """The round the user pinned with `mockloop-round:` ("none" for no round), else None."""
    for tag in sorted(_tags(chunks)):
        if tag.startswith(OVERRIDE_TAG):
            value = slug(tag[len(OVERRIDE_TAG) :])
            return "none" if value in NO_ROUND else ALIAS_ROUND.get(value)
    return None


def folder_round(source: str) -> str | None:
    """The round a note's folder names (the innermost folder that names one), else None."""
    for part in reversed(PurePosixPath(source).parts[:-1]):
        name = ALIAS_ROUND.get(slug(part))
        if name:
            return name
    return None


def tag_round(chunks: list[Chunk]) -> str | None:
    """The round the note's tags name, when they name exactly one."""
    named = {ALIAS_ROUND[t] for t in _tags(chunks) if t in ALIAS_ROUND}
    return named.pop() if len(named) == 1 else None


def _headings(chunks: list[Chunk]) -> list[str]:
    return list(dict.fromkeys(h.strip().lower() for c in chunks for h in c.heading_path[1:]))


def _title(chunks: list[Chunk]) -> str:
    c = chunks[0]
    return (c.title or (c.heading_path[0] if c.heading_path else "")).strip()


def story_reason(chunks: list[Chunk]) -> str | None:
    """Why the note reads as a STAR story, or None."""
    title = _title(chunks).lower()
    if title.startswith(("star:", "star -", "story:")):
        return "a STAR title"
    parts = {re.sub(r"[^a-z ]", "", h).strip() for h in _headings(chunks)}
    star = parts & _STAR_HEADINGS
    if len({p.rstrip("s") for p in star}) >= 3:
        return "STAR headings (" + ", ".join(sorted(star)) + ")"
    text = "\n".join(c.text for c in chunks)
    cues = {m.lower() for m in _STORY_CUES.findall(text)}
    if len(_FIRST_PERSON.findall(text)) >= 6 and len(cues) >= 3 and " I " in f" {text} ":
        return "a first-person telling (" + ", ".join(sorted(cues)[:3]) + ")"
    return None


def project_reason(chunks: list[Chunk]) -> str | None:
    """Why the note reads as a project write-up, or None."""
    title = _title(chunks).lower()
    text = "\n".join(c.text for c in chunks)
    first_person = len(_FIRST_PERSON.findall(text))
    if title.startswith(("project:", "project ")) and first_person >= 2:
        return "a project title"
    found = (_PROJECT_HEADINGS.search(h) for h in _headings(chunks))
    sections = {m.group(1).lower() for m in found if m}
    if len(sections) >= 3 and first_person >= 4 and len(_NUMBER.findall(text)) >= 2:
        return "project sections (" + ", ".join(sorted(sections)[:4]) + ") told first-hand"
    return None


def content_scores(
    vectors: np.ndarray, questions: list[Question], qvectors: np.ndarray
) -> tuple[dict[str, float], dict[str, str]]:
    """Per round: (mean of the 3 best question cosines + cosine with the round centroid) / 2,
    and the topic of the round's nearest question. `vectors`: the note's chunk vectors."""
    if not len(vectors) or not questions:
        return {}, {}
    note = vectors.mean(axis=0)
    note = note / (np.linalg.norm(note) or 1.0)
    best = (vectors @ qvectors.T).max(axis=0)  # each question's best chunk
    scores: dict[str, float] = {}
    topics: dict[str, str] = {}
    for name in ROUNDS:
        rows = [i for i, q in enumerate(questions) if q.round == name]
        if not rows:
            continue
        sims = best[rows]
        top = np.sort(sims)[::-1][:3].mean()
        centroid = qvectors[rows].mean(axis=0)
        cos = float(centroid @ note / (np.linalg.norm(centroid) or 1.0))
        scores[name] = round(float(top + cos) / 2, 4)
        topics[name] = questions[rows[int(np.argmax(sims))]].topic
    return scores, topics


def route_note(
    source: str,
    chunks: list[Chunk],
    vectors: np.ndarray,
    questions: list[Question],
    qvectors: np.ndarray,
) -> Route:
    """The route of one note (all its chunks, with their stored vectors)."""
    tags = _tags(chunks)
    scores, topics = content_scores(vectors, questions, qvectors)

    def made(kind: str, name: str | None, why: str) -> Route:
        kind = KIND_OF_ROUND.get(name or "", kind) if kind == "note" else kind
        return Route(source, kind, name, topics.get(name or ""), why, scores)

    pinned = override_round(chunks)
    if pinned == "none":
        return made("skip", None, "front matter mockloop-round: none")
    if pinned:
        return made("note", pinned, f"front matter mockloop-round: {pinned}")
    if tags & SKIP_TAGS:
        return made("skip", None, "a map of content (tag " + sorted(tags & SKIP_TAGS)[0] + ")")
    if tags & PAPER_TAGS or (
        "paper" in source.lower() and any(_TLDR.search(c.text) for c in chunks)
    ):
        return made("paper", None, "a reading-list entry: the depth rounds ask about papers")
    hinted = tag_round(chunks)
    if hinted:
        return made("note", hinted, "tag or front matter names it")
    hinted = folder_round(source)
    if hinted:
        return made("note", hinted, f"folder {PurePosixPath(source).parent}/")
    why = story_reason(chunks)
    if why:
        return made("story", "behavioral", why)
    why = project_reason(chunks)
    if why:
        return made("project", "deep-dive", why)
    text = sum(len(c.text.strip()) for c in chunks)
    if text < MIN_NOTE_CHARS:
        return made("skip", None, f"too short to ask about ({text} characters)")
    knowledge = {n: s for n, s in scores.items() if n not in KIND_OF_ROUND}
    if not knowledge:
        return made("note", None, "no bank questions to compare it with")
    ranked = sorted(knowledge.items(), key=lambda kv: -kv[1])
    (first, s1), (second, s2) = ranked[0], ranked[1] if len(ranked) > 1 else ("", -1.0)
    if s1 - s2 < ROUTE_MARGIN:
        return made("note", None, f"no round stands out ({first} {s1:.2f} vs {second} {s2:.2f})")
    return made("note", first, f"reads like {first} ({s1:.2f}; next {second} {s2:.2f})")


def route_notes(
    chunks: list[Chunk],
    vectors: np.ndarray,
    questions: list[Question],
    qvectors: np.ndarray,
) -> dict[str, Route]:
    """source → Route for every note in `chunks` (vectors in the same order), sorted by source.

    `questions`: bank questions (derived ones are ignored) with their prompt+reference vectors."""
    keep = [i for i, q in enumerate(questions) if not q.source_chunk_id]
    questions = [questions[i] for i in keep]
    qvectors = qvectors[keep] if len(keep) else qvectors
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.source, []).append(i)
    return {
        source: route_note(source, [chunks[i] for i in idx], vectors[idx], questions, qvectors)
        for source, idx in sorted(rows.items())
    }
