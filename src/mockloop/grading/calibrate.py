"""Calibration: a monotone map from the grader's raw overall to a user's own 0–5 scale.

`fit_calibration(raw, human, groups)` fits isotonic regression (sklearn) and keeps only its
breakpoints, so applying it is a numpy interpolation; the fit's benefit is measured by
cross-validation grouped by question (GroupKFold), so a question never sits on both sides.
Stored as JSON under the data dir (`calibration.json`) and applied to every grade — rounds, app
and batch — while the grader it was fitted on is the one installed (`user_calibration`).

>>> cal = Calibration(x=[0.0, 2.0, 4.0], y=[1.0, 2.0, 5.0])
>>> cal.apply(3.0)
3.5
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mockloop.config import Settings
from mockloop.evaluation import stats

FILENAME = "calibration.json"


@dataclass
class Calibration:
    """Isotonic breakpoints: raw score x[i] maps to y[i]; linear between, clipped outside."""

    x: list[float]
    y: list[float]
    n: int = 0
    fitted_at: str = ""
    source: str = ""
    cv: dict = field(default_factory=dict)
    grader: str = ""  # grader_fingerprint() of the grader whose raw scores it was fitted on

    def apply(self, raw: float) -> float:
        """The calibrated score for a raw overall, within 0–5."""
        if not self.x:
            return float(raw)
        return round(float(np.clip(np.interp(raw, self.x, self.y), 0.0, 5.0)), 3)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.x, self.y]).encode()).hexdigest()[:12]


def _isotonic(raw: np.ndarray, human: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=5.0, out_of_bounds="clip", increasing=True)
    iso.fit(raw, human)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def _agreement(human: np.ndarray, pred: np.ndarray) -> dict:
    return {
        "rmse": round(stats.rmse(human, pred), 4),
        "within_1": round(stats.within_one(human, pred), 4),
        "qwk": round(stats.qwk(human, pred), 4),
        "spearman": round(stats.spearman(human, pred), 4),
    }


def cross_validate(raw, human, groups, folds: int = 5) -> dict:
    """Out-of-fold agreement before and after calibration, folds grouped by question."""
    from sklearn.model_selection import GroupKFold

    raw, human, groups = np.asarray(raw, float), np.asarray(human, float), np.asarray(groups)
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        return {"folds": 0, "note": "cross-validation needs answers to at least 2 questions"}
    k = min(folds, n_groups)
    pred = np.empty_like(raw)
    for train, test in GroupKFold(n_splits=k).split(raw, human, groups):
        x, y = _isotonic(raw[train], human[train])
        pred[test] = np.clip(np.interp(raw[test], x, y), 0, 5)
    return {"folds": k, "raw": _agreement(human, raw), "calibrated": _agreement(human, pred)}


def fit_calibration(raw, human, groups=None, *, source: str = "") -> Calibration:
    """Fit on all rows, and report grouped-CV agreement before and after."""
    raw, human = np.asarray(raw, float), np.asarray(human, float)
    if len(raw) < 2:
        raise ValueError("calibration needs at least 2 labelled answers")
    if np.any((human < 0) | (human > 5)):
        raise ValueError("human scores must be on the 0–5 scale")
    groups = np.arange(len(raw)) if groups is None else np.asarray(groups)
    x, y = _isotonic(raw, human)
    return Calibration(
        x=x,
        y=y,
        n=len(raw),
        fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source=source,
        cv=cross_validate(raw, human, groups),
    )


def calibration_path(settings: Settings) -> Path:
    return settings.home / FILENAME


def save_calibration(cal: Calibration, settings: Settings) -> Path:
    """Write the calibration under the data dir (replacing any earlier one)."""
    path = calibration_path(settings)
    settings.ensure_home()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(cal), indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def load_calibration(settings: Settings) -> Calibration | None:
    """The user's stored calibration, or None if none was fitted."""
    path = calibration_path(settings)
    if not path.exists():
        return None
    return Calibration(**json.loads(path.read_text(encoding="utf-8")))


_loaded: dict[Path, tuple[float, Calibration | None]] = {}


def user_calibration(settings: Settings) -> Calibration | None:
    """The stored calibration if it was fitted on the installed grader (re-read when it changes)."""
    from mockloop.grading.version import grader_fingerprint

    path = calibration_path(settings)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    if _loaded.get(path, (None,))[0] != mtime:
        try:
            _loaded[path] = (mtime, load_calibration(settings))
        except (ValueError, TypeError):
            _loaded[path] = (mtime, None)  # a damaged file grades uncalibrated rather than fail
    cal = _loaded[path][1]
    return cal if cal is not None and cal.grader == grader_fingerprint() else None
