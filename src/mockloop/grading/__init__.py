"""Grading: the offline grader, reference-answer mode, calibration and citations.

`grade_answer(question, answer, retriever=None, calibration=None, settings=None) -> Grade` is
the one entry point the rounds, the batch pipeline and the UI call. The LLM judge lives in
judge.py; the arithmetic in scoring.py.
"""

from mockloop.grading.offline import GRADER_VERSION, grade_answer

__all__ = ["GRADER_VERSION", "grade_answer"]
