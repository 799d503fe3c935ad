"""Deep-dive feedback after a follow-up: a decision justified in the reply is not reported as
unjustified (the round grades the answer and its follow-up answers together)."""

from __future__ import annotations

import pytest

from mockloop.config import Settings
from mockloop.rounds import Ask, Feedback, start_round


@pytest.fixture
def deep_dive(tiny_bank, notes_retriever, clock):
    s = start_round(
        "deep-dive",
        Settings.from_env(),
        bank=tiny_bank,
        retriever=notes_retriever,
        clock=clock,
        seed=0,
        project="projects/feed-migration.md",
    )
    s.begin()
    steps = s.answer(
        "The feed lost engagement and product asked us to fix it; I led a team of four."
    )
    while steps[-1].follow_up:  # finish the background phase whatever it probes
        steps = s.answer("I don't remember more.")
    assert "other approaches" in steps[-1].text
    return s


def _phase_feedback(s, reply: str) -> Feedback:
    steps = s.answer("We chose a multi-task network. It has one head per engagement type.")
    press = steps[-1]
    assert isinstance(press, Ask) and "“We chose a multi-task network.”" in press.text
    steps = s.answer(reply)
    while not any(isinstance(x, Feedback) for x in steps):  # any further probe: no more to say
        steps = s.answer("I don't remember more.")
    return next(x for x in steps if isinstance(x, Feedback))


def test_a_decision_justified_in_the_follow_up_is_not_reported_unjustified(deep_dive):
    fb = _phase_feedback(
        deep_dive,
        "One shared network served every engagement head within the latency budget, where "
        "separate models would have tripled the serving cost.",
    )
    feedback = fb.grade.feedback
    assert "No justification given for: “We chose a multi-task network.”" not in feedback
    assert "Decisions: 1, justified: 1 (1 in a follow-up answer)." in feedback
    assert not any("without a justification" in flag for flag in fb.grade.red_flags)


def test_a_follow_up_without_a_reason_leaves_the_decision_unjustified(deep_dive):
    fb = _phase_feedback(deep_dive, "It seemed like the right thing at the time.")
    assert "No justification given for: “We chose a multi-task network.”" in fb.grade.feedback
    assert any("without a justification" in flag for flag in fb.grade.red_flags)
