"""Behavioral round: bank questions graded on STAR (+ ownership, a quantified result, reflection).

Before each question the interviewer suggests which of the candidate's own stories (the notes
mockloop.notes.routing routes to this round) fits best: stories ranked by the cosine of the
question (prompt + reference answer) with their chunks, a story tagged with the question's topic
first; when none fits well the closest is still offered, named as a loose fit, so a candidate with
stories never hears "no story". When the telling is that story, the grade is checked against the
note: a result or number the note holds but the answer never told is a missed point, a number
that contradicts it a notice. One follow-up asks for a STAR part the answer missed — chosen from
the question's own follow-ups and generic STAR phrasings by which missed point it is closest to,
never one whose words the answer already said ("What did you propose instead, and who had to
agree?" after "I proposed … and the PM agreed").
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np

from mockloop.models import Citation, Grade, Question
from mockloop.rounds.base import (
    Context,
    Item,
    RoundConfig,
    RoundSession,
    RoundState,
)
from mockloop.rounds.followups import FollowUp, choose_follow_up, worth_probing
from mockloop.rounds.notes import question_vectors
from mockloop.rounds.project import contradictions, project_facts, untold
from mockloop.rounds.selection import select_questions

# Interviewer phrasings per STAR part. One is asked only when, among the question's key points,
# the point it is closest to is one the answer missed (see followups.choose_follow_up).
STAR_FOLLOW_UPS = {
    "situation": ["Set the scene for me: which team or product was this, and what was at stake?"],
    "task": ["What exactly were you responsible for there, and under what constraint?"],
    "action": [
        "What did you personally do, step by step?",
        "Why did you go that way rather than another?",
        "Who did you have to bring along, and how did you get them on board?",
        "How did you check along the way that it was working?",
    ],
    "result": [
        "How did it end, and did it solve the original problem?",
        "What changed for the team, the users or the business?",
    ],
    "ownership": ["Which decisions were yours, and what part of the setbacks do you own?"],
    "quantified_result": [
        "Can you put a number on the outcome?",
        "Compared with what baseline or target?",
    ],
    "reflection": [
        "What did you take away from it?",
        "If it happened again tomorrow, what would you change?",
        "Where have you used that lesson since?",
    ],
}
MIN_STORY_COSINE = 0.2  # below it the closest story is still offered, as a loose fit
TOPIC_BONUS = 0.1  # a story tagged with the question's topic (`conflict`): the user said so
TOLD_AS_STORY = 0.35  # cosine answer ↔ story note for "this telling is that story"


def rank_stories(ctx: Context, question: Question):
    """[(story source, its best chunk, score)], best first: every story the notes hold."""
    stories = ctx.notes.stories()
    if not stories:
        return []
    sims = ctx.notes.vectors(stories) @ question_vectors([question], ctx.settings)[0]
    best: dict[str, tuple] = {}
    for chunk, sim in zip(stories, sims, strict=True):
        score = float(sim) + (TOPIC_BONUS if question.topic.lower() in chunk.tags else 0.0)
        if chunk.source not in best or score > best[chunk.source][1]:
            best[chunk.source] = (chunk, score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][1])
    return [(source, chunk, score) for source, (chunk, score) in ranked]


def suggest_story(ctx: Context, question: Question) -> str | None:
    """'From your notes, the story that fits best: “…” (source § heading)'; the closest story,
    named as a loose fit, when none fits well; None only when the notes hold no story."""
    ranked = rank_stories(ctx, question)
    if not ranked:
        return None
    _, chunk, score = ranked[0]
    title = (chunk.title or chunk.source).removeprefix("STAR:").strip()
    lead = "the story that fits best" if score >= MIN_STORY_COSINE else "the closest story"
    return f"From your notes, {lead}: “{title}” ({chunk.citation})"


_WORD = re.compile(r"[a-z][a-z\-]+")
_FILLER = set(
    [
        "what",
        "did",
        "you",
        "how",
        "who",
        "why",
        "when",
        "where",
        "which",
        "and",
        "the",
        "that",
        "this",
        "there",
        "had",
        "have",
        "has",
        "was",
        "were",
        "your",
        "for",
        "with",
        "from",
        "into",
        "again",
        "tell",
        "more",
        "about",
        "them",
        "they",
        "did",
        "does",
        "step",
        "would",
        "could",
        "then",
        "instead",
        "way",
        "rather",
        "another",
        "other",
    ]
)


def already_said(follow_up: str, answer: str) -> bool:
    """Whether the answer already holds what the follow-up asks: most of its content words
    (compared by their first five letters) are in the answer."""
    asked = {w[:5] for w in _WORD.findall(follow_up.lower()) if w not in _FILLER and len(w) > 3}
    said = {w[:5] for w in _WORD.findall(answer.lower())}
    return len(asked) >= 1 and len(asked & said) / len(asked) >= 0.5


class BehavioralRound(RoundSession):
    name: ClassVar[str] = "behavioral"
    title: ClassVar[str] = "behavioral"
    max_follow_ups: ClassVar[int] = 1
    voice: ClassVar[str] = "story"

    @classmethod
    def plan(cls, ctx: Context, config: RoundConfig) -> RoundState:
        picked = select_questions(ctx, ctx.bank.for_round("behavioral"), config.n, config.seed)
        if not picked:
            raise ValueError("the question bank has no behavioral questions")
        items = [Item(question=q, text=q.prompt, suggestion=suggest_story(ctx, q)) for q in picked]
        stories = {q.id: r[0][0] for q in picked if (r := rank_stories(ctx, q))}
        return RoundState(config=config, items=items, extra={"stories": stories})

    @property
    def probed(self) -> list[str]:
        """Every key point followed up on in this round: the questions share the STAR rubric, so
        a point probed on one story ("Owns my part in mistakes") is not probed again on the next."""
        return [t for _, t in self.state.extra.get("probed", [])]

    def follow_up(self, item: Item, answer: str, grade: Grade) -> FollowUp | None:
        if not worth_probing(grade, answer):
            return None
        star = [p for c in grade.criteria for p in STAR_FOLLOW_UPS.get(c.criterion_id, [])]
        fresh = [c for c in item.question.follow_ups + star if not already_said(c, answer)]
        if not fresh:
            return None
        return choose_follow_up(
            item.question,
            grade,
            settings=self.ctx.settings,
            asked=self.asked_in_round,  # no follow-up twice in a round, STAR phrasings included
            candidates=fresh,
            answer=answer,
            voice=self.voice,
            probed=self.probed,
        )

    def _grade(self, question: Question, answer: str) -> Grade:
        grade = super()._grade(question, answer)
        source = self.state.extra.get("stories", {}).get(question.id)
        if not source or not answer.strip():
            return grade
        chunks = self.ctx.notes.project_chunks(source)  # every chunk of that one note
        if not chunks:
            return grade
        centre = self.ctx.notes.vectors(chunks).mean(axis=0)
        told = float(self.ctx.notes.encode([answer])[0] @ (centre / (np.linalg.norm(centre) or 1)))
        if told < TOLD_AS_STORY:
            return grade  # another story was told: the note says nothing about this one
        return check_story(grade, answer, chunks)


def check_story(grade: Grade, answer: str, chunks) -> Grade:
    """The grade with what the story note holds and the telling left out: its results (and
    any numbered fact) as missed points of the result criterion; contradicting numbers as
    notices."""
    facts = project_facts(chunks)
    grade = grade.model_copy(deep=True)
    for c in contradictions(answer, facts):
        if c.line not in grade.notices:
            grade.notices.append(c.line)
            grade.feedback = (grade.feedback + "\n" if grade.feedback else "") + c.line
    target = next(
        (c for c in grade.criteria if c.criterion_id in ("quantified_result", "result")), None
    )
    if target is None:
        return grade
    for fact in untold(answer, facts, ("result",)):
        point = f"Your story note has a result you did not tell: {fact.short}"
        if point not in target.missing:
            target.missing.append(point)
            grade.citations.append(
                Citation(
                    chunk_id=fact.chunk.id,
                    source=fact.chunk.source,
                    heading_path=fact.chunk.heading_path,
                    page=fact.chunk.page,
                    point=point,
                )
            )
    return grade
