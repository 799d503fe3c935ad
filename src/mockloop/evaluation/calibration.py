"""Fitting a user's calibration from their own labelled answers (`mockloop calibrate`).

Grades every labelled row raw, fits the isotonic map (grading/calibrate.py) and stores it under
the data dir, where every later grade picks it up. Lives here, not in grading/, because it reads
tables (batch) and runs the grader: the grader never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mockloop.config import Settings
from mockloop.grading.calibrate import Calibration, fit_calibration, save_calibration


@dataclass
class CalibrationRun:
    calibration: Calibration | None
    path: Path | None
    used: int
    problems: list  # batch.Problem


def calibrate_file(
    source: Path, settings: Settings | None = None, *, progress: bool = False
) -> CalibrationRun:
    """Grade every labelled row of a CSV/JSONL (raw), fit, store; bad rows are reported."""
    from mockloop.batch import BadRow, Problem, normalise, question_for_row, read_table
    from mockloop.grading import grade_answer

    settings = settings or Settings.from_env()
    rows, problems = read_table(Path(source))
    raw, human, groups = [], [], []
    for n, rec in rows:
        row = normalise(rec)
        try:
            if "answer" not in row:
                raise BadRow("missing the answer column")
            try:
                score = float(row.get("score"))
            except (TypeError, ValueError) as exc:
                raise BadRow(f"score {row.get('score')!r} is not a number") from exc
            if not 0 <= score <= 5:
                raise BadRow(f"score {score} is outside the 0–5 scale")
            question = question_for_row(row)
        except BadRow as exc:
            problems.append(Problem(n, str(exc)))
            continue
        answer = str(row.get("answer") or "")
        raw.append(grade_answer(question, answer, settings=settings, calibration=False).overall)
        human.append(score)
        groups.append(question.id)
    if len(raw) < 2:
        problems.append(Problem(0, f"only {len(raw)} usable labelled rows; need at least 2"))
        return CalibrationRun(None, None, len(raw), problems)
    from mockloop.grading.version import grader_fingerprint

    cal = fit_calibration(raw, human, groups, source=str(source))
    cal.grader = grader_fingerprint()
    return CalibrationRun(cal, save_calibration(cal, settings), len(raw), problems)
