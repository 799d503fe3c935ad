"""Offline follow-ups and hints read like an interviewer: built around what a missed point is
about, never its wording, never a number right after one was given, never twice in a round."""

from __future__ import annotations

import re

import pytest

from mockloop.config import Settings
from mockloop.models import CriterionGrade, Grade, Question
from mockloop.rounds.followups import (
    choose_follow_up,
    leaks,
    nearest_point,
    phrasings,
    subject_phrase,
)

UNDERFIT = [
    "Train longer or tune the learning rate",
    "Add capacity with more layers or features",
    "Reduce regularization such as weight decay or dropout",
]
IMPACT = [
    "States the impact as a business metric that moved by a number, such as a percentage",
    "Explains how impact was measured, such as an A/B test against the baseline",
]
SALAD = re.compile(r"^What about \w+, \w+ and \w+\?")  # the old "three keywords" template


def question(qid: str, prompt: str, points: list[str], criterion: str = "fixes") -> Question:
    return Question.model_validate(
        {
            "id": qid,
            "round": "breadth",
            "topic": "t",
            "prompt": prompt,
            "reference_answer": "",
            "rubric": {
                "version": "1",
                "criteria": [
                    {"id": criterion, "description": "Covers it", "weight": 1, "key_points": points}
                ],
            },
        }
    )


def grade_missing(q: Question, missing: list[str], score: float = 0.3) -> Grade:
    c = q.rubric.criteria[0]
    return Grade(
        question_id=q.id,
        rubric_version="1",
        grader="offline",
        criteria=[CriterionGrade(criterion_id=c.id, weight=1, score=score, missing=missing)],
        overall=2.0,
        hire_signal="no hire",
    )


@pytest.fixture(scope="module")
def settings():
    return Settings.from_env()


def test_the_phrase_is_a_noun_phrase_of_the_point_not_scattered_keywords(settings):
    assert subject_phrase(UNDERFIT[0], settings=settings).text == "the learning rate"
    point = "The fix subtracts log of each item's sampling probability from its logit"
    assert subject_phrase(point, settings=settings).text == "the sampling probability"
    schedule = "The learning rate schedule decays the step size late in training"
    assert subject_phrase(schedule, settings=settings).text == "the learning rate schedule"


def test_a_point_without_a_clean_phrase_gets_a_criterion_level_question(settings):
    point = "Says how it ended, such as we shipped or resolved it"
    assert subject_phrase(point, settings=settings) is None
    assert phrasings(point, "result", settings=settings) == ["How did it turn out in the end?"]


def test_follow_up_asks_about_the_missed_points_subject_without_leaking(settings):
    q = question("q.underfit", "Your model underfits. What do you try?", UNDERFIT)
    answer = "I would add more layers so the model has more capacity."
    fu = choose_follow_up(q, grade_missing(q, [UNDERFIT[0]]), settings=settings, answer=answer)
    assert fu is not None and fu.source == "template" and fu.target == UNDERFIT[0]
    assert "the learning rate" in fu.text and fu.text.endswith("?")
    assert not SALAD.match(fu.text)
    assert leaks(fu.text, q) == []
    assert nearest_point(fu.text, q, settings)[0] == UNDERFIT[0]
    again = choose_follow_up(q, grade_missing(q, [UNDERFIT[0]]), settings=settings, answer=answer)
    assert again.text == fu.text  # deterministic


def test_a_phrase_the_candidate_already_used_is_asked_about_in_depth(settings):
    q = question("q.underfit", "Your model underfits. What do you try?", UNDERFIT)
    answer = "I would look at the learning rate first."
    fu = choose_follow_up(q, grade_missing(q, [UNDERFIT[0]]), settings=settings, answer=answer)
    assert fu.text.startswith(
        ("You mentioned the learning rate", "You brought up the learning rate")
    )


def test_no_number_is_asked_for_right_after_the_answer_gave_one(settings):
    q = question("q.impact", "What impact did the project have?", IMPACT, criterion="impact")
    said = "Watch time rose 3.2% in a two-week A/B test."
    fu = choose_follow_up(q, grade_missing(q, IMPACT), settings=settings, answer=said)
    assert fu is None or (fu.target == IMPACT[1] and "number" not in fu.text.lower())
    only_numbers = grade_missing(q, [IMPACT[0]])
    assert choose_follow_up(q, only_numbers, settings=settings, answer=said) is None
    vague = "It made things a lot better."
    fu = choose_follow_up(q, only_numbers, settings=settings, answer=vague)
    assert fu is not None and fu.target == IMPACT[0]  # without numbers, asking for them is right


def test_a_follow_up_already_asked_in_the_round_is_not_asked_again(settings):
    q = question("q.underfit", "Your model underfits. What do you try?", UNDERFIT)
    grade = grade_missing(q, [UNDERFIT[0]])
    asked: list[str] = []
    for _ in range(3):
        fu = choose_follow_up(q, grade, settings=settings, answer="More layers.", asked=asked)
        if fu is None:
            break
        assert fu.text not in asked
        asked.append(fu.text)
    assert len(asked) >= 2


@pytest.mark.parametrize("round_name", ["behavioral", "deep-dive", "mlsd"])
def test_no_follow_up_text_repeats_within_a_round(round_name):
    """The bank's behavioral rubric is the same STAR template on every question: the old engine
    asked "What about worked, manager and team? ..." four times in one round."""
    from mockloop.evaluation.interviewer import answer_for
    from mockloop.rounds import start_round

    session = start_round(round_name, Settings.from_env(), n=4, seed=0, retriever=False)
    session.begin()
    asked: list[str] = []
    while not session.finished:
        ask = session.current
        item = session.state.items[session.state.pos]
        for step in session.answer(answer_for("partial", item.question, follow_up=ask.follow_up)):
            if getattr(step, "kind", "") == "ask" and step.follow_up:
                asked.append(step.text)
    assert asked, "a partial answer should draw follow-ups"
    assert len(asked) == len(set(asked)), asked
    assert not any(SALAD.match(t) for t in asked)


def test_hints_nudge_toward_a_topic_without_pasting_the_rubric():
    """The old hint was "Think about: describes the three families with examples." — the
    criterion's own wording, with broken grammar."""
    from mockloop.bank import Bank, load_bank
    from mockloop.rounds import start_round

    q = load_bank().get("breadth.feature-selection-methods")
    session = start_round("breadth", Settings.from_env(), bank=Bank([q]), n=1, retriever=False)
    session.begin()
    hints = [session.hint().text for _ in range(3)]
    assert len(set(hints)) == 3, hints  # each further hint nudges toward another missed topic
    for text in hints:
        assert not text.startswith("Think about:")
        for c in q.rubric.criteria:
            assert c.description.lower() not in text.lower()
        assert leaks(text, q) == [], text
    assert hints[0].startswith("Think about ") and hints[0].endswith("here.")
