"""System design scenarios ask their own stage prompts: every scenario words all ten stages for
its system, no two scenarios share a stage sentence, none gives a key point away, and the round
asks exactly those prompts (the generic ten only stand in for a scenario that has none)."""

from __future__ import annotations

import re

import pytest

from mockloop.bank import Bank, load_bank
from mockloop.config import Settings
from mockloop.rounds import start_round
from mockloop.rounds.followups import CRITERION_QUESTIONS
from mockloop.rounds.mlsd import STAGE_QUESTIONS


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _sentences(text: str) -> list[str]:
    return [_norm(s) for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s.strip()]


@pytest.fixture(scope="module")
def scenarios():
    return load_bank().for_round("mlsd")


def test_every_scenario_words_each_of_its_stages(scenarios):
    problems = []
    for q in scenarios:
        stages = [c.id for c in q.rubric.criteria]
        if list(q.stages) != stages:
            problems.append(f"{q.id}: stage prompts for {list(q.stages)}, rubric has {stages}")
        problems += [f"{q.id}/{k}: empty" for k, v in q.stages.items() if not v.strip()]
    assert not problems, "\n".join(problems)


def test_no_two_scenarios_share_a_stage_sentence(scenarios):
    owner: dict[str, str] = {}
    shared = []
    for q in scenarios:
        for stage, text in q.stages.items():
            for s in _sentences(text):
                if s in owner and owner[s] != q.id:
                    shared.append(f"{q.id}/{stage} and {owner[s]}: {s!r}")
                owner.setdefault(s, q.id)
    generic = {s for t in STAGE_QUESTIONS.values() for s in _sentences(t)}
    generic |= {s for ts in CRITERION_QUESTIONS.values() for t in ts for s in _sentences(t)}
    shared += [f"{owner[s]}: generic sentence {s!r}" for s in owner if s in generic]
    assert not shared, "\n".join(shared)


def test_stage_prompts_do_not_give_a_key_point_or_follow_up_away(scenarios):
    leaks = []
    for q in scenarios:
        follow_ups = {_norm(f) for f in q.follow_ups}
        for c in q.rubric.criteria:
            asked = _norm(q.stages.get(c.id, ""))
            leaks += [
                f"{q.id}/{c.id}: key point {p!r}"
                for p in c.key_points
                if len(_norm(p).split()) >= 4 and _norm(p) in asked
            ]
            if asked in follow_ups:
                leaks.append(f"{q.id}/{c.id}: the stage prompt is also a follow-up")
    assert not leaks, "\n".join(leaks)


def _round(question_id: str, bank: Bank | None = None):
    return start_round(  # n=10: every stage of the scenario (the slider may ask for fewer)
        "mlsd",
        Settings.from_env(),
        n=10,
        question_id=question_id,
        retriever=False,
        seed=0,
        bank=bank,
    )


@pytest.mark.parametrize("question_id", ["mlsd.fraud-detection", "mlsd.eta-prediction"])
def test_the_round_asks_the_scenarios_own_stage_prompts(question_id):
    q = load_bank().get(question_id)
    s = _round(question_id)
    planned = [item.text for item in s.state.items[1:]]
    assert planned == [q.stages[c.id] for c in q.rubric.criteria[1:]]
    (ask,) = s.begin()
    assert ask.text.startswith(q.prompt.strip())
    assert ask.text.endswith(q.stages["requirements"])
    steps = s.goto("data")
    assert steps[-1].text == q.stages["data"]
    assert steps[-1].stage == "Data and labels"


def test_a_scenario_without_stage_prompts_falls_back_to_the_generic_ones():
    bare = load_bank().get("mlsd.fraud-detection").model_copy(update={"stages": {}})
    s = _round(bare.id, Bank([bare]))
    planned = [item.text for item in s.state.items[1:]]
    assert planned == [STAGE_QUESTIONS[c.id] for c in bare.rubric.criteria[1:]]
