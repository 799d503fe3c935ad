"""`mockloop eval interviewer` over the sample corpus: the checks the issue asks for must hold."""

from __future__ import annotations

import pytest

from mockloop.evaluation.interviewer import (
    CANDIDATES,
    INJECTION,
    answer_for,
    format_table,
    run_interviewer_eval,
)
from mockloop.models import SPOKEN_ROUNDS, Question


@pytest.fixture(scope="module")
def eval_result(corpus_settings):
    return run_interviewer_eval(corpus_settings, n=2)


@pytest.mark.slow
def test_interviewer_eval_passes_on_every_round(eval_result):
    assert [r.round for r in eval_result.rounds] == list(SPOKEN_ROUNDS)
    assert eval_result.passed, eval_result.failures


@pytest.mark.slow
def test_grades_order_strong_partial_off_topic_in_every_round(eval_result):
    for r in eval_result.rounds:
        s = r.scores
        assert s["strong"] > s["partial"] > s["off-topic"], r.round
        assert s["empty"] == 0.0 and s["injection"] <= s["off-topic"] + 0.5, r.round


@pytest.mark.slow
def test_follow_ups_leaks_and_citations(eval_result):
    asked = sum(r.follow_ups for r in eval_result.rounds)
    on_target = sum(r.on_target for r in eval_result.rounds)
    assert asked >= 10 and on_target / asked >= 0.8
    assert all(not r.leaked for r in eval_result.rounds)
    cited = sum(r.citations for r in eval_result.rounds)
    assert cited > 0 and sum(r.resolved for r in eval_result.rounds) == cited


@pytest.mark.slow
def test_no_re_asks_and_the_difficulty_follows_the_candidates(eval_result):
    assert [r.re_asks for r in eval_result.rounds] == [[] for _ in eval_result.rounds]
    adaptive = {r.round: r for r in eval_result.rounds if r.levels}
    assert set(adaptive) == {"breadth", "nlp", "ranking"}
    for r in adaptive.values():
        strong, empty = r.levels["strong"], r.levels["empty"]
        assert strong == sorted(strong) and empty == sorted(empty, reverse=True), r.round
    assert adaptive["breadth"].levels["strong"] == [2, 3]  # a strong answer: one level up
    assert adaptive["breadth"].levels["empty"] == [2, 1]  # nothing said: one level down
    table = format_table(eval_result)
    assert "| re-asks |" in table.splitlines()[0] and "2→3 held 3" in table


@pytest.mark.slow
def test_table_has_a_row_per_round(eval_result):
    table = format_table(eval_result)
    assert table.splitlines()[0].startswith("| round |")
    assert len(table.splitlines()) == 2 + len(SPOKEN_ROUNDS)


def test_simulated_candidates_say_what_their_kind_says():
    q = Question(
        id="q",
        round="nlp",
        topic="t",
        prompt="Explain LoRA.",
        reference_answer="LoRA freezes W. It learns BA.",
        rubric={
            "version": "1",
            "criteria": [
                {"id": "a", "description": "A", "key_points": ["Freezes W", "Learns BA"]},
                {"id": "b", "description": "B", "key_points": ["Merges at inference"]},
            ],
        },
    )
    assert answer_for("strong", q) == q.reference_answer
    assert answer_for("partial", q) == "Freezes W. Merges at inference."
    assert answer_for("empty", q) == "" and answer_for("injection", q) == INJECTION
    assert answer_for("strong", q, follow_up=True, target="Learns BA") == "Learns BA."
    assert set(CANDIDATES) == {"strong", "partial", "off-topic", "empty", "injection"}


def test_a_note_probe_is_on_target_only_while_the_fact_is_untold():
    from mockloop.rounds.project import tells

    fact = "Net we went from 52 ms to 41 ms p99 after fusing the embedding lookups"
    assert not tells("We replaced four models with one multi-task model.", fact)
    assert tells("p99 fell to 41 ms once the lookups were fused.", fact)
    reason = "We chose MMoE over PLE because of the latency budget at the time"
    assert not tells("We trained it on three weeks of logs.", reason)
    assert tells("MMoE won over PLE given the latency budget we had at the time.", reason)
