"""Calibration: isotonic map to the user's scale, grouped CV, stored and applied on request."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mockloop.config import Settings
from mockloop.grading import calibrate


def _harsh_grader(n=60, seed=3):
    """A grader that ranks well but scores everyone ~1.5 points too low, 6 questions."""
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 6, n).astype(float)
    raw = np.clip(human - 1.5 + rng.normal(0, 0.4, n), 0, 5)
    groups = [f"q{i % 6}" for i in range(n)]
    return raw, human, groups


def test_fit_improves_agreement_under_grouped_cross_validation():
    raw, human, groups = _harsh_grader()
    cal = calibrate.fit_calibration(raw, human, groups)
    assert cal.cv["folds"] == 5
    assert cal.cv["calibrated"]["rmse"] < cal.cv["raw"]["rmse"] - 0.5
    assert cal.cv["calibrated"]["within_1"] > cal.cv["raw"]["within_1"]
    # monotone and on the 0–5 scale
    grid = [cal.apply(x) for x in np.linspace(-1, 6, 50)]
    assert grid == sorted(grid) and min(grid) >= 0 and max(grid) <= 5


def test_worked_example_interpolates_between_breakpoints():
    cal = calibrate.Calibration(x=[0.0, 2.0, 4.0], y=[1.0, 2.0, 5.0])
    assert [cal.apply(v) for v in (-3, 0, 1, 3, 4, 9)] == [1.0, 1.0, 1.5, 3.5, 5.0, 5.0]


def test_one_question_means_no_cross_validation_but_still_a_fit():
    cal = calibrate.fit_calibration([0.5, 1.0, 2.0], [1, 3, 4], ["q", "q", "q"])
    assert cal.cv["folds"] == 0 and "at least 2 questions" in cal.cv["note"]
    assert cal.apply(1.0) == 3.0


@pytest.mark.parametrize(
    ("raw", "human", "match"), [([1.0], [2.0], "at least 2"), ([1, 2], [1, 7], "0–5")]
)
def test_bad_inputs_are_refused(raw, human, match):
    with pytest.raises(ValueError, match=match):
        calibrate.fit_calibration(raw, human)


def test_saved_under_the_data_dir_and_loaded_back(tmp_path):
    settings = Settings(home=tmp_path / "home")
    assert calibrate.load_calibration(settings) is None
    cal = calibrate.fit_calibration(*_harsh_grader())
    path = calibrate.save_calibration(cal, settings)
    assert path == settings.home / "calibration.json"
    again = calibrate.load_calibration(settings)
    assert again.x == cal.x and again.y == cal.y and again.fingerprint == cal.fingerprint
    assert json.loads(path.read_text())["n"] == 60
