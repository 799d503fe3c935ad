"""`mockloop bank list` and `bank show`, driven through typer's CliRunner: exact counts from the
packaged bank, JSON a script can parse, and clear errors for a wrong round or id."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mockloop.bank import load_bank
from mockloop.cli import app
from mockloop.models import SPOKEN_ROUNDS

runner = CliRunner()
FLOORS = {"nlp": 35, "ranking": 30, "mlsd": 20, "deep-dive": 12}


def _invoke(*args: str):
    result = runner.invoke(app, ["bank", *args])
    return result


@pytest.mark.parametrize("round_name", SPOKEN_ROUNDS)
def test_list_prints_one_line_per_question_of_the_round(round_name):
    expected = load_bank().for_round(round_name)
    result = _invoke("list", "--round", round_name)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(expected)
    for line, q in zip(lines, expected, strict=True):
        assert line.split() == [q.id, q.topic, {1: "easy", 2: "medium", 3: "hard"}[q.difficulty]]


@pytest.mark.parametrize("round_name", SPOKEN_ROUNDS)
def test_list_json_parses_and_matches_the_bank(round_name):
    bank = load_bank()
    result = _invoke("list", "--round", round_name, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [q.id for q in bank.for_round(round_name)]
    for r in rows:
        q = bank.get(r["id"])
        assert r == {
            "id": q.id,
            "round": round_name,
            "topic": q.topic,
            "difficulty": q.difficulty,
            "tags": q.tags,
            "prompt": q.prompt,
        }
    assert len(rows) >= FLOORS.get(round_name, 1)


def test_list_json_without_a_round_covers_every_round():
    rows = json.loads(_invoke("list", "--json").output)
    bank = load_bank()
    counts = {name: sum(r["round"] == name for r in rows) for name in SPOKEN_ROUNDS}
    assert counts == {name: len(bank.for_round(name)) for name in SPOKEN_ROUNDS}
    assert len(rows) >= len(bank)  # plus coding problems once that package exists
    for name, floor in FLOORS.items():
        assert counts[name] >= floor, f"{name}: {counts[name]} < {floor}"


def test_list_shows_the_coding_problems_as_round_coding():
    from mockloop.coding.bank import load_problems

    problems = load_problems()
    result = _invoke("list", "--round", "coding", "--json")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == [p.id for p in problems]
    assert {"coding.stable-softmax", "coding.roc-auc", "coding.merge-intervals"} <= {
        p.id for p in problems
    }


def test_an_unknown_round_is_refused_with_the_rounds_on_offer():
    result = _invoke("list", "--round", "sysdesign")
    assert result.exit_code == 2
    assert "no round 'sysdesign'" in result.output
    assert "mlsd" in result.output


def test_show_prints_prompt_reference_and_rubric():
    q = load_bank().get("nlp.dpo")
    result = _invoke("show", "nlp.dpo")
    assert result.exit_code == 0, result.output
    out = result.output
    assert q.prompt.strip() in out
    assert q.reference_answer.strip() in out
    for c in q.rubric.criteria:
        assert f"[{c.id}] {c.description}" in out
        assert all(f"+ {p}" in out for p in c.key_points)
        assert all(f"! {f}" in out for f in c.red_flags)


def test_show_lists_a_design_scenarios_own_stage_prompts():
    q = load_bank().get("mlsd.fraud-detection")
    out = _invoke("show", q.id).output
    assert q.stages, "every design scenario carries its own stage prompts"
    for stage, text in q.stages.items():
        assert f"{stage}: {text}" in out


def test_show_an_unknown_id_fails_and_says_where_to_look():
    result = _invoke("show", "nlp.no-such-question")
    assert result.exit_code == 1
    assert "no question with id 'nlp.no-such-question'" in result.output
    assert "bank list" in result.output
