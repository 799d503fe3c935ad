"""What a criterion checks is named in the rubric, and a user's calibration applies everywhere."""

from __future__ import annotations

from mockloop.bank import load_bank
from mockloop.config import Settings
from mockloop.grading import grade_answer
from mockloop.grading.calibrate import Calibration, save_calibration, user_calibration
from mockloop.grading.offline import grader_fingerprint
from mockloop.models import Criterion, Question, Rubric

STORY = (
    "Last year I owned our churn model. I rebuilt the features and retrained it weekly, and "
    "retention rose 4% against the old baseline."
)
NO_NUMBER_STORY = (
    "Last year I owned our churn model. I rebuilt the features and retrained it weekly, and "
    "everyone agreed it went really well in the end."
)


def _question(**criterion) -> Question:
    return Question(
        id="t.meaning",
        round="behavioral",
        topic="impact",
        prompt="Tell me about a time you improved a model.",
        rubric=Rubric(version="1", criteria=[Criterion(id="c", weight=1, **criterion)]),
    )


def test_a_red_flag_detector_is_named_in_yaml_not_read_from_wording():
    named = _question(
        description="Anything at all",
        key_points=["States the outcome"],
        red_flags=[{"flag": "Says nothing measurable", "detector": "no-number"}],
    )
    assert grade_answer(named, NO_NUMBER_STORY).red_flags == ["Says nothing measurable"]
    assert grade_answer(named, STORY).red_flags == []
    # the old wording-based rule ("with no number" in the flag) triggers nothing by itself now
    worded = _question(
        description="Backs the result with a number",
        key_points=["States the outcome"],
        red_flags=["Claims success with no number, metric or observable outcome"],
    )
    assert worded.rubric.criteria[0].red_flag_detectors == {}


def test_a_signal_named_in_yaml_moves_the_criterion():
    with_signal = _question(
        description="x", key_points=["Rebuilt the features"], signal="quantities", signal_weight=0.5
    )
    without = _question(description="x", key_points=["Rebuilt the features"])
    a = grade_answer(with_signal, STORY).criteria[0].score
    b = grade_answer(with_signal, NO_NUMBER_STORY).criteria[0].score
    assert a > b  # the number in STORY is what moved it
    c = grade_answer(without, STORY).criteria[0].score
    d = grade_answer(without, NO_NUMBER_STORY).criteria[0].score
    assert abs(c - d) < abs(a - b)


def test_the_shipped_star_template_names_its_signals_and_detectors():
    q = next(q for q in load_bank().questions if q.round == "behavioral")
    crits = {c.id: c for c in q.rubric.criteria}
    assert crits["quantified_result"].signal == "quantities"
    assert "no-number" in crits["quantified_result"].red_flag_detectors.values()
    assert crits["action"].signal == "star.action"


def test_a_users_calibration_applies_to_every_grade_while_the_grader_is_the_same(tmp_path):
    settings = Settings(home=tmp_path)
    q = load_bank().get("breadth.threshold-selection")
    answer = "Pick it on a validation set by expected cost."
    raw = grade_answer(q, answer, settings=settings)
    assert raw.raw_score is None  # nothing stored yet: the grader's own scale
    save_calibration(Calibration(x=[0.0, 5.0], y=[2.0, 3.0], grader=grader_fingerprint()), settings)
    calibrated = grade_answer(q, answer, settings=settings)  # no argument: found on its own
    assert calibrated.raw_score == raw.overall
    assert calibrated.overall == round(2.0 + raw.overall / 5.0, 3)
    # a calibration fitted on another grader's raw scores is not applied to this one
    save_calibration(Calibration(x=[0.0, 5.0], y=[2.0, 3.0], grader="an-old-grader"), settings)
    assert user_calibration(settings) is None
    assert grade_answer(q, answer, settings=settings).overall == raw.overall
